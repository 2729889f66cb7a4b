#version 450
// FiLM: y[n,c,:] = x[n,c,:] * (offset + scale[n,c]) + shift[n,c], with the
// N x 2C film tensor holding scale then shift (see src/nn/params.h).
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer F { float film[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, c, plane; float offset; } pc;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint nc = i / pc.plane, n = nc / pc.c, c = nc % pc.c;
        y[i] = x[i] * (pc.offset + film[n * 2u * pc.c + c]) + film[n * 2u * pc.c + pc.c + c];
    }
}
