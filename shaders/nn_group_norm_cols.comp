#version 450
// Per-frame group norm (statistics over a group's channels x H of one
// column): one invocation per (sample, group, column), grid-stride. Lanes
// take neighbouring columns, so every load is contiguous across lanes and no
// shared memory or barrier is needed; each invocation makes the same three
// passes as the reference (mean, squared deviations, output) over its
// (C / groups) x H values. Used instead of nn_group_norm's workgroup
// reduction, which spends most of its time in barriers for these small
// groups (a few hundred values).
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(constant_id = 3) const bool HAS_BETA = false;
layout(constant_id = 4) const bool HAS_FILM = false;
layout(constant_id = 5) const float SLOPE = 0.01;
layout(constant_id = 6) const float FILM_OFFSET = 1.0;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) readonly buffer F { float film[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    int n, c, groups, h, w;
    float eps;
} pc;

void main() {
    int per_group = pc.c / pc.groups;
    int plane = pc.h * pc.w;
    int count = per_group * pc.h;
    int jobs = pc.n * pc.groups * pc.w;
    int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
    for (int job = int(gl_GlobalInvocationID.x); job < jobs; job += stride) {
        int col = job % pc.w, ng = job / pc.w;
        int n = ng / pc.groups, g = ng % pc.groups;
        int base = (n * pc.c + g * per_group) * plane + col; // element i at base + i * W
        float s = 0.0;
        for (int i = 0; i < count; i++) s += x[base + i * pc.w];
        float mean = s / float(count);
        float d = 0.0;
        for (int i = 0; i < count; i++) {
            float e = x[base + i * pc.w] - mean;
            d += e * e;
        }
        float inv = inversesqrt(d / float(count) + pc.eps);
        for (int i = 0; i < count; i++) {
            int ch = g * per_group + i / pc.h;
            float v = (x[base + i * pc.w] - mean) * inv;
            if (HAS_GAMMA) v *= gamma[ch];
            if (HAS_BETA) v += beta[ch];
            if (HAS_FILM) v = v * (FILM_OFFSET + film[n * 2 * pc.c + ch]) + film[n * 2 * pc.c + pc.c + ch];
            y[base + i * pc.w] = nn_act(ACT, SLOPE, v);
        }
    }
}
