#version 450
// Pointwise activation y = act(x) over a flat buffer (grid-stride loop).
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const float SLOPE = 0.01;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count; } pc;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) y[i] = nn_act(ACT, SLOPE, x[i]);
}
