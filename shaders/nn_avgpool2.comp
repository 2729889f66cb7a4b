#version 450
// 2x2 average pooling, stride 2, floor (odd last row/column dropped).
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, h, w; } pc; // input H, W
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint ow = pc.w / 2u, oh = pc.h / 2u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint ox = i % ow, oy = (i / ow) % oh, nc = i / (ow * oh);
        uint r0 = (nc * pc.h + 2u * oy) * pc.w + 2u * ox;
        y[i] = 0.25 * (x[r0] + x[r0 + 1u] + x[r0 + pc.w] + x[r0 + pc.w + 1u]);
    }
}
