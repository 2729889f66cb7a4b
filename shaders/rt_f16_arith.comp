#version 450
// Runtime test shader: float16 arithmetic (needs shaderFloat16):
// y[i] = float(h * h + 1) with h = float16_t(x[i]).
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; } pc;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
    float16_t h = float16_t(x[i]);
    y[i] = float(h * h + float16_t(1.0));
}
