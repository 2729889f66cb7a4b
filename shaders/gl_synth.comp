#version 450
#extension GL_GOOGLE_include_directive : require
// Griffin-Lim synthesis: each frame's windowed inverse transform,
//   seg[t][i] = irfft(spec[t])[i] * synth[i]      (synth = window / N),
// one workgroup per frame. The overlap-add is left to the readers
// (gl_analyse.comp, gl_ola.comp), which sum the few segments covering a
// sample, so no atomics are needed and the sum's order is fixed.
// irfft as FFTW's c2r: the spectrum is extended Hermitian, and the imaginary
// parts of bins 0 and N/2 are ignored.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint LOG2N = 11;
layout(std430, binding = 0) readonly buffer Spec { vec2 spec[]; };  // [frames][bins]
layout(std430, binding = 1) readonly buffer Synth { float synth[]; }; // [N]
layout(std430, binding = 2) readonly buffer Tw { vec2 tw[]; };
layout(std430, binding = 3) writeonly buffer Seg { float seg[]; };  // [frames][N]
layout(push_constant) uniform Push { uint frames; } pc;

shared vec2 fft_buf[1u << LOG2N];
#include "gl_fft.glsl"

void main() {
    // Frames past the grid's first dimension wrap into y (long whole-signal runs).
    uint t = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (t >= pc.frames) return;
    uint bins = FFT_N / 2u + 1u;
    uint base = t * bins;
    for (uint k = gl_LocalInvocationID.x; k < FFT_N; k += WG) {
        vec2 v = k < bins ? spec[base + k] : spec[base + FFT_N - k] * vec2(1.0, -1.0);
        if (k == 0u || k == FFT_N / 2u) v.y = 0.0;
        fft_buf[fft_bitrev(k)] = v;
    }
    barrier();
    fft_run(1.0);
    for (uint i = gl_LocalInvocationID.x; i < FFT_N; i += WG) seg[t * FFT_N + i] = fft_buf[i].x * synth[i];
}
