#version 450
// variants: sg
// Softmax over the last axis: one workgroup per row (looping over rows when
// there are more rows than workgroups); shifted by the row maximum.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { int rows, d; } pc;

void main() {
    int lanes = int(gl_WorkGroupSize.x), lane = int(gl_LocalInvocationID.x);
    for (int r = int(gl_WorkGroupID.x); r < pc.rows; r += int(gl_NumWorkGroups.x)) {
        int base = r * pc.d;
        float m = -3.402823466e38;
        for (int i = lane; i < pc.d; i += lanes) m = max(m, x[base + i]);
        float peak = nn_reduce_max(m);
        float s = 0.0;
        for (int i = lane; i < pc.d; i += lanes) s += exp(x[base + i] - peak);
        float inv = 1.0 / nn_reduce_sum(s);
        for (int i = lane; i < pc.d; i += lanes) y[base + i] = exp(x[base + i] - peak) * inv;
    }
}
