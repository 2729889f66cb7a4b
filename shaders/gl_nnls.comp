#version 450
// NNLS mel inversion's FISTA iterations, one workgroup per frame, as
// solve_frame in src/audio/mel_inverse.c (which computes the start s0, the
// clamped pseudo-inverse, on the host):
//   z = s + mom_it (s - prev); prev = s
//   r = W z - m                     (W: the sparse mel filterbank, by rows)
//   s = max(z - step W^T r, 0)      (W^T by columns: each bin gathers the
//                                    bands that cover it, in band order, so
//                                    the sums round as the CPU's scatter)
// mom_it comes from a table the host computes in double, as the CPU does.
// `precise` forbids fusing a*b+c into one rounding, so every device rounds
// as the CPU loop does (which has no FMA at the x86-64 baseline).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint B = 1025;  // bins
layout(constant_id = 2) const uint M = 128;   // mel bands
layout(std430, binding = 0) readonly buffer Rows { uint rows[]; };     // per band: start, len, offset
layout(std430, binding = 1) readonly buffer RowW { float row_w[]; };   // the weights, band after band
layout(std430, binding = 2) readonly buffer ColPtr { uint col_ptr[]; }; // B + 1: each bin's entries
layout(std430, binding = 3) readonly buffer ColBand { uint col_band[]; };
layout(std430, binding = 4) readonly buffer ColW { float col_w[]; };
layout(std430, binding = 5) readonly buffer Mom { float mom[]; };      // per iteration
layout(std430, binding = 6) readonly buffer Mel { float mel[]; };      // [frames][M], clamped
layout(std430, binding = 7) buffer S { float s_out[]; };               // [frames][B]: s0 in, s out
layout(push_constant) uniform Push { uint frames, iters; float step; } pc;

shared float s[B], prev[B], z[B], r[M];

void main() {
    uint t = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (t >= pc.frames) return;
    uint lane = gl_LocalInvocationID.x;
    for (uint k = lane; k < B; k += WG) {
        s[k] = s_out[t * B + k];
        prev[k] = s[k];
    }
    barrier();
    for (uint it = 0u; it < pc.iters; it++) {
        float mo = mom[it];
        for (uint k = lane; k < B; k += WG) {
            precise float zk = s[k] + mo * (s[k] - prev[k]);
            z[k] = zk;
            prev[k] = s[k];
        }
        barrier();
        for (uint i = lane; i < M; i += WG) {
            uint st = rows[3u * i], len = rows[3u * i + 1u], off = rows[3u * i + 2u];
            precise float acc = 0.0;
            for (uint j = 0u; j < len; j++) acc += row_w[off + j] * z[st + j];
            precise float ri = acc - mel[t * M + i];
            r[i] = ri;
        }
        barrier();
        for (uint k = lane; k < B; k += WG) {
            precise float g = 0.0;
            for (uint e = col_ptr[k]; e < col_ptr[k + 1u]; e++) g += col_w[e] * r[col_band[e]];
            precise float v = z[k] - pc.step * g;
            s[k] = max(v, 0.0);
        }
        barrier();
    }
    for (uint k = lane; k < B; k += WG) s_out[t * B + k] = s[k];
}
