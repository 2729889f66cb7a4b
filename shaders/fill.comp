#version 450
// Writes value into every element of a buffer: the smallest shader that
// proves the GLSL -> SPIR-V -> embedded -> Vulkan path works end to end.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float data[]; };
layout(push_constant) uniform Push { uint n; float value; } pc;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) data[i] = pc.value;
}
