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
// SLICES > 1 (GPUs): SLICES invocations share each column, each taking every
// SLICES-th of its (C / groups) x H values, and combine their partial sums
// through shared memory (two barriers per statistic). One invocation per
// column leaves a GPU nearly idle -- the U-Net's largest norm has 2048
// columns x groups, ~1% of an H100's threads, and took 40% of a forward
// (BENCHMARKS.md) -- while on a CPU device (lavapipe) the barriers cost more
// than they save, so SLICES stays 1 there. The workgroup is
// (size / SLICES) columns x SLICES slices, 1-D: lane = slice * cols + column.
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
layout(constant_id = 8) const int SLICES = 1;

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

// The value at flat index k of group g's (C / groups) x H block of column col.
float load_k(int n, int c0, int col, int k) {
    int ci = k / pc.h, r = k - ci * pc.h;
    bool sec;
    int at = chan_base(n, c0 + ci, col, sec);
    return load(sec, at + r * pc.w);
}

// Epilogue of one normalised value of channel ch: affine, FiLM, activation.
float finish(int n, int ch, float v) {
    if (HAS_GAMMA) v *= gamma[ch];
    if (HAS_BETA) v += beta[ch];
    if (HAS_FILM) v = v * (FILM_OFFSET + film[n * 2 * pc.c + ch]) + film[n * 2 * pc.c + pc.c + ch];
    return nn_act(ACT, SLOPE, v);
}

shared float part[gl_WorkGroupSize.x];

// Sum of v over the SLICES lanes of this lane's column; every lane gets it.
// Workgroup-uniform control flow only (barriers).
float column_sum(float v, int column, int slice, int cols) {
    part[slice * cols + column] = v;
    memoryBarrierShared();
    barrier();
    float t = 0.0;
    for (int i = 0; i < SLICES; i++) t += part[i * cols + column]; // fixed order: deterministic
    barrier(); // every lane has read its slots before they are reused
    return t;
}

void sliced() {
    int cols = int(gl_WorkGroupSize.x) / SLICES;
    int column = int(gl_LocalInvocationID.x) % cols, slice = int(gl_LocalInvocationID.x) / cols;
    int per_group = pc.c / pc.groups;
    int plane = pc.h * pc.w;
    int count = per_group * pc.h;
    int jobs = pc.n * pc.groups * pc.w;
    int stride = int(gl_NumWorkGroups.x) * cols;
    // The loop bound depends on the workgroup only, so every lane meets
    // every barrier; lanes past the last job compute a copy of it and write
    // nothing.
    for (int base = int(gl_WorkGroupID.x) * cols; base < jobs; base += stride) {
        int job = min(base + column, jobs - 1);
        bool live = base + column < jobs;
        int col = job % pc.w, ng = job / pc.w;
        int n = ng / pc.groups, c0 = (ng % pc.groups) * per_group;
        float s = 0.0;
        for (int k = slice; k < count; k += SLICES) s += load_k(n, c0, col, k);
        float mean = column_sum(s, column, slice, cols) / float(count);
        float d = 0.0;
        for (int k = slice; k < count; k += SLICES) {
            float e = load_k(n, c0, col, k) - mean;
            d += e * e;
        }
        float inv = inversesqrt(column_sum(d, column, slice, cols) / float(count) + pc.eps);
        for (int k = slice; live && k < count; k += SLICES) {
            int ci = k / pc.h, r = k - ci * pc.h;
            y[(n * pc.c + c0 + ci) * plane + r * pc.w + col] = finish(n, c0 + ci, (load_k(n, c0, col, k) - mean) * inv);
        }
    }
}

void main() {
    if (SLICES > 1) {
        sliced();
        return;
    }
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
            for (int r = 0; r < pc.h; r++) y[ybase + r * pc.w] = finish(n, ch, (load(sec, at + r * pc.w) - mean) * inv);
        }
    }
}
