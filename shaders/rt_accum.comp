#version 450
// Runtime test shader: x[i] += 1 in place (read and write the same binding),
// so replaying a list k times must leave exactly k in every element.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Push { uint n; } pc;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) x[i] += 1.0;
}
