#version 450
#extension GL_GOOGLE_include_directive : require
// Griffin-Lim's output waveform: y[i] = overlap-add at padded sample
// i + pad (gl_ola.glsl), one lane per sample.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint LOG2N = 11;
layout(std430, binding = 0) readonly buffer Seg { float seg[]; };
layout(std430, binding = 1) readonly buffer WsumInv { float wsum_inv[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint frames, n, pad, hop; } pc;
const uint FFT_N = 1u << LOG2N;
#include "gl_ola.glsl"
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) y[i] = ola_sample(i + pc.pad, pc.hop, pc.frames);
}
