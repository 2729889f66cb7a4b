#version 450
// variants: sg
// Group norm: one workgroup per job, looping if there are more jobs than
// workgroups. A job is (sample, group) -- statistics over the group's
// channels x H x W -- or, with PER_FRAME, (sample, group, column) --
// statistics over the group's channels x H of one column (the U-Net's
// per-time-frame norm). Mean first, then the mean squared deviation (two
// passes, as the reference, so large offsets do not cancel), then the
// normalised output with gamma/beta, FiLM and activation fused.
// TWO (md_nn_group_norm_cat): the input is the channel concatenation of X
// (channels [0, c1)) and X2 (channels [c1, c)), read in place; a group may
// straddle the two.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(constant_id = 3) const bool HAS_BETA = false;
layout(constant_id = 4) const bool HAS_FILM = false;
layout(constant_id = 5) const float SLOPE = 0.01;
layout(constant_id = 6) const float FILM_OFFSET = 1.0;
layout(constant_id = 7) const bool PER_FRAME = false;
layout(constant_id = 8) const bool TWO = false;

#include "nn_reduce.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) readonly buffer F { float film[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };
layout(std430, binding = 5) readonly buffer X2 { float x2[]; };

layout(push_constant) uniform Push {
    int n, c, groups, h, w;
    float eps;
    int c1; // TWO: channels of X
} pc;

// Element i of a job: its flat index and channel. Whole-plane jobs are one
// contiguous run (a group's channels are adjacent in NCHW); per-frame jobs
// step down one column.
int elem_index(int base, int col, int i) {
    if (PER_FRAME) return base + i * pc.w + col; // i = channel-in-group * H + row
    return base + i;
}

// The input value of output element `at` (sample n): in place unless TWO.
float load(int n, int at) {
    if (!TWO) return x[at];
    int plane = pc.h * pc.w;
    int ch = at / plane - n * pc.c, off = at % plane;
    if (ch >= pc.c1) return x2[(n * (pc.c - pc.c1) + ch - pc.c1) * plane + off];
    return x[(n * pc.c1 + ch) * plane + off];
}

void main() {
    int lanes = int(gl_WorkGroupSize.x), lane = int(gl_LocalInvocationID.x);
    int per_group = pc.c / pc.groups;
    int plane = pc.h * pc.w;
    int cols = PER_FRAME ? pc.w : 1;
    int count = PER_FRAME ? per_group * pc.h : per_group * plane;
    int rows_per_ch = PER_FRAME ? pc.h : plane; // elements per channel within a job
    int jobs = pc.n * pc.groups * cols;
    for (int job = int(gl_WorkGroupID.x); job < jobs; job += int(gl_NumWorkGroups.x)) {
        int col = job % cols, ng = job / cols;
        int n = ng / pc.groups, g = ng % pc.groups;
        int base = (n * pc.c + g * per_group) * plane;
        float s = 0.0;
        for (int i = lane; i < count; i += lanes) s += load(n, elem_index(base, col, i));
        float mean = nn_reduce_sum(s) / float(count);
        float d = 0.0;
        for (int i = lane; i < count; i += lanes) {
            float e = load(n, elem_index(base, col, i)) - mean;
            d += e * e;
        }
        float inv = inversesqrt(nn_reduce_sum(d) / float(count) + pc.eps);
        for (int i = lane; i < count; i += lanes) {
            int at = elem_index(base, col, i);
            int ch = g * per_group + i / rows_per_ch;
            float v = (load(n, at) - mean) * inv;
            if (HAS_GAMMA) v *= gamma[ch];
            if (HAS_BETA) v += beta[ch];
            if (HAS_FILM) v = v * (FILM_OFFSET + film[n * 2 * pc.c + ch]) + film[n * 2 * pc.c + pc.c + ch];
            y[at] = nn_act(ACT, SLOPE, v);
        }
    }
}
