#version 450
// Channel concat y = [a ; b] per sample (grid-stride over y).
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, ca, cb, plane; } pc;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint cy = pc.ca + pc.cb;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint p = i % pc.plane, nc = i / pc.plane, n = nc / cy, c = nc % cy;
        y[i] = c < pc.ca ? a[(n * pc.ca + c) * pc.plane + p]
                         : b[(n * pc.cb + (c - pc.ca)) * pc.plane + p];
    }
}
