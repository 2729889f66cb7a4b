#version 450
#extension GL_GOOGLE_include_directive : require
// Griffin-Lim analysis and momentum step for one frame per workgroup:
//   c      = rfft(window * y[frame t])    (y rebuilt from the segments)
//   mode 0 (an iteration): t_ = c - beta * prev; prev = c;
//          spec = mag * t_ / |t_|  (|t_| = 0: spec = mag), and for the
//          held frames t < n_head spec = head instead (prev still updates),
//          as momentum_project and step() in src/audio/griffinlim.c;
//   mode 1 (the final waveform): c_out = c, for its convergence and the
//          next chunk's border.
// y outside the signal is zero (centre padding), as analyse_frame on the CPU.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint LOG2N = 11;
layout(std430, binding = 0) readonly buffer Seg { float seg[]; };       // [frames][N]
layout(std430, binding = 1) readonly buffer WsumInv { float wsum_inv[]; }; // [padded samples]
layout(std430, binding = 2) readonly buffer Win { float window_[]; };   // [N]
layout(std430, binding = 3) readonly buffer Tw { vec2 tw[]; };
layout(std430, binding = 4) readonly buffer Mag { float mag[]; };       // [frames][bins]
layout(std430, binding = 5) buffer Prev { vec2 prev[]; };               // [frames][bins]
layout(std430, binding = 6) writeonly buffer Spec { vec2 spec[]; };     // [frames][bins]
layout(std430, binding = 7) readonly buffer Head { vec2 head[]; };      // [n_head][bins]
layout(std430, binding = 8) writeonly buffer COut { vec2 c_out[]; };    // [frames][bins]
layout(push_constant) uniform Push {
    uint frames, n, pad, hop, n_head, mode;
    float beta;
} pc;

shared vec2 fft_buf[1u << LOG2N];
#include "gl_fft.glsl"
#include "gl_ola.glsl"

void main() {
    // Frames past the grid's first dimension wrap into y (long whole-signal runs).
    uint t = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (t >= pc.frames) return;
    for (uint i = gl_LocalInvocationID.x; i < FFT_N; i += WG) {
        uint j = t * pc.hop + i;  // padded sample index
        float y = (j >= pc.pad && j - pc.pad < pc.n) ? ola_sample(j, pc.hop, pc.frames) : 0.0;
        fft_buf[fft_bitrev(i)] = vec2(y * window_[i], 0.0);
    }
    barrier();
    fft_run(-1.0);
    uint bins = FFT_N / 2u + 1u;
    for (uint k = gl_LocalInvocationID.x; k < bins; k += WG) {
        uint idx = t * bins + k;
        vec2 c = fft_buf[k];
        if (pc.mode == 1u) {
            c_out[idx] = c;
            continue;
        }
        vec2 tt = c - pc.beta * prev[idx];
        prev[idx] = c;
        float norm = length(tt);
        vec2 s = norm == 0.0 ? vec2(mag[idx], 0.0) : tt * (mag[idx] / (norm + 1e-16));
        spec[idx] = t < pc.n_head ? head[idx] : s;
    }
}
