#version 450
// variants: sg
// Layer norm over the last axis: one workgroup per row (looping over rows
// when there are more rows than workgroups), two-pass mean and variance.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool HAS_GAMMA = false;
layout(constant_id = 2) const bool HAS_BETA = false;

#include "nn_reduce.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push { int rows, d; float eps; } pc;

void main() {
    int lanes = int(gl_WorkGroupSize.x), lane = int(gl_LocalInvocationID.x);
    for (int r = int(gl_WorkGroupID.x); r < pc.rows; r += int(gl_NumWorkGroups.x)) {
        int base = r * pc.d;
        float s = 0.0;
        for (int i = lane; i < pc.d; i += lanes) s += x[base + i];
        float mean = nn_reduce_sum(s) / float(pc.d);
        float q = 0.0;
        for (int i = lane; i < pc.d; i += lanes) {
            float e = x[base + i] - mean;
            q += e * e;
        }
        float inv = inversesqrt(nn_reduce_sum(q) / float(pc.d) + pc.eps);
        for (int i = lane; i < pc.d; i += lanes) {
            float v = (x[base + i] - mean) * inv;
            if (HAS_GAMMA) v *= gamma[i];
            if (HAS_BETA) v += beta[i];
            y[base + i] = v;
        }
    }
}
