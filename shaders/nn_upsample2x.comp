#version 450
// Nearest-neighbour x2 upsampling: y[.., oy, ox] = x[.., oy/2, ox/2].
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, h, w; } pc; // input H, W
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint ow = 2u * pc.w, oh = 2u * pc.h;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint ox = i % ow, oy = (i / ow) % oh, nc = i / (ow * oh);
        y[i] = x[(nc * pc.h + oy / 2u) * pc.w + ox / 2u];
    }
}
