#version 450
// Runtime test shader: 16-bit storage only (no fp16 arithmetic): widen
// float16 values to float32 and narrow them back, y[i] = float(x[i]) * 2.
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float16_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer Z { float16_t z[]; };
layout(push_constant) uniform Push { uint n; } pc;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
    float v = float(x[i]);
    y[i] = v * 2.0;
    z[i] = float16_t(v * 2.0);
}
