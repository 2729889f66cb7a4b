#version 450
// Group norm: one workgroup per (sample, group), looping if there are more
// of those than workgroups. Mean first, then the mean squared deviation (two
// passes, as the reference, so large offsets do not cancel), then the
// normalised output with gamma/beta, FiLM and activation fused.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(constant_id = 3) const bool HAS_BETA = false;
layout(constant_id = 4) const bool HAS_FILM = false;
layout(constant_id = 5) const float SLOPE = 0.01;
layout(constant_id = 6) const float FILM_OFFSET = 1.0;

#include "nn_reduce.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) readonly buffer F { float film[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    int n, c, groups, plane; // plane = H * W
    float eps;
} pc;

void main() {
    int lanes = int(gl_WorkGroupSize.x), lane = int(gl_LocalInvocationID.x);
    int per_group = pc.c / pc.groups;
    int count = per_group * pc.plane;
    for (int job = int(gl_WorkGroupID.x); job < pc.n * pc.groups; job += int(gl_NumWorkGroups.x)) {
        int n = job / pc.groups, g = job % pc.groups;
        int base = (n * pc.c + g * per_group) * pc.plane; // the group is one contiguous run
        float s = 0.0;
        for (int i = lane; i < count; i += lanes) s += x[base + i];
        float mean = nn_reduce_sum(s) / float(count);
        float d = 0.0;
        for (int i = lane; i < count; i += lanes) {
            float e = x[base + i] - mean;
            d += e * e;
        }
        float inv = inversesqrt(nn_reduce_sum(d) / float(count) + pc.eps);
        for (int i = lane; i < count; i += lanes) {
            int ch = g * per_group + i / pc.plane;
            float v = (x[base + i] - mean) * inv;
            if (HAS_GAMMA) v *= gamma[ch];
            if (HAS_BETA) v += beta[ch];
            if (HAS_FILM) v = v * (FILM_OFFSET + film[n * 2 * pc.c + ch]) + film[n * 2 * pc.c + pc.c + ch];
            y[base + i] = nn_act(ACT, SLOPE, v);
        }
    }
}
