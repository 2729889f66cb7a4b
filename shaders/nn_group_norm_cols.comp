#version 450
// Per-frame group norm (statistics over a group's channels x H of one
// column): one invocation per (sample, group, column), grid-stride. Lanes
// take neighbouring columns, so every load is contiguous across lanes and no
// shared memory or barrier is needed; each invocation makes the same three
// passes as the reference (mean, squared deviations, output) over its
// (C / groups) x H values. Used instead of nn_group_norm's workgroup
// reduction, which spends most of its time in barriers for these small
// groups (a few hundred values).
//
// TWO (md_nn_group_norm_cat): the input is the channel concatenation of X
// (channels [0, c1)) and X2 (channels [c1, c)), read in place, so the
// concatenated tensor is never written; a group may straddle the two.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const bool HAS_GAMMA = false;
layout(constant_id = 3) const bool HAS_BETA = false;
layout(constant_id = 4) const bool HAS_FILM = false;
layout(constant_id = 5) const float SLOPE = 0.01;
layout(constant_id = 6) const float FILM_OFFSET = 1.0;
layout(constant_id = 7) const bool TWO = false;

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

// Where channel ch of sample n starts (column col, row 0), and in which
// input: the element of row r is then at that + r * W.
int chan_base(int n, int ch, int col, out bool second) {
    int plane = pc.h * pc.w;
    second = TWO && ch >= pc.c1;
    if (second) return (n * (pc.c - pc.c1) + ch - pc.c1) * plane + col;
    return (n * (TWO ? pc.c1 : pc.c) + ch) * plane + col;
}

float load(bool second, int at) { return (TWO && second) ? x2[at] : x[at]; }

void main() {
    int per_group = pc.c / pc.groups;
    int plane = pc.h * pc.w;
    int count = per_group * pc.h;
    int jobs = pc.n * pc.groups * pc.w;
    int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
    for (int job = int(gl_GlobalInvocationID.x); job < jobs; job += stride) {
        int col = job % pc.w, ng = job / pc.w;
        int n = ng / pc.groups, g = ng % pc.groups;
        int c0 = g * per_group;
        // Channel by channel (each from X or X2), rows down the column.
        float s = 0.0;
        for (int ci = 0; ci < per_group; ci++) {
            bool sec;
            int at = chan_base(n, c0 + ci, col, sec);
            for (int r = 0; r < pc.h; r++) s += load(sec, at + r * pc.w);
        }
        float mean = s / float(count);
        float d = 0.0;
        for (int ci = 0; ci < per_group; ci++) {
            bool sec;
            int at = chan_base(n, c0 + ci, col, sec);
            for (int r = 0; r < pc.h; r++) {
                float e = load(sec, at + r * pc.w) - mean;
                d += e * e;
            }
        }
        float inv = inversesqrt(d / float(count) + pc.eps);
        for (int ci = 0; ci < per_group; ci++) {
            int ch = c0 + ci;
            bool sec;
            int at = chan_base(n, ch, col, sec);
            int ybase = (n * pc.c + ch) * plane + col;
            for (int r = 0; r < pc.h; r++) {
                float v = (load(sec, at + r * pc.w) - mean) * inv;
                if (HAS_GAMMA) v *= gamma[ch];
                if (HAS_BETA) v += beta[ch];
                if (HAS_FILM) v = v * (FILM_OFFSET + film[n * 2 * pc.c + ch]) + film[n * 2 * pc.c + pc.c + ch];
                y[ybase + r * pc.w] = nn_act(ACT, SLOPE, v);
            }
        }
    }
}
