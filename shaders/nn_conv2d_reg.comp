#version 450
// variants: f16w
// Direct convolution, register-blocked, no shared memory ("reg" style).
//
// Each invocation computes OCB output channels x PXB consecutive output
// pixels of one output row, accumulating in fp32 registers; the input is
// read straight from the NCHW tensor (implicit GEMM: no im2col buffer). The
// PXB pixels' receptive fields overlap, so each input row span is loaded
// once into registers and reused for every kernel tap; weight loads are
// uniform across the workgroup (same channel block). This suits CPU Vulkan
// drivers (lavapipe vectorises across lanes), where shared-memory tiling
// only adds barriers; see docs/ops.md for the measurements.
//
// Invocation i of a (channel block, sample) handles pixels [ox0, ox0 + PXB)
// of row i / segs, with segs = ceil(OW / PXB) segments per row; a workgroup
// may span several short rows, so narrow low-resolution levels keep every
// lane busy. Grid: x = ceil(OH * segs / LX), y = channel blocks
// (ceil(Cout / OCB)), z = batch. Epilogue: bias, FiLM, activation, residual.
//
// UP2 (md_nn_conv2d_up2): a 3x3 conv of the nearest-2x upsampled input in
// sub-pixel form. Output pixel (2i+a, 2j+b) is a 2x2 conv of the low-res
// input at rows i+a-1.. and columns j+b-1.. with that phase's pre-summed
// taps (weights 4Cout x Cin x 2 x 2, phase p = 2a+b major). Grid z runs over
// batch x 4 phases; oh/ow are the low-res (per-phase) sizes, the written
// tensor is 2oh x 2ow, and the padding comes from the phase (pad_* unused).
//
// TWO (md_nn_conv2d_cat): the input is the channel concatenation of X
// (channels [0, c1)) and X2 (channels [c1, cin)), read in place.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OCB = 8;
layout(constant_id = 2) const int PXB = 4;
layout(constant_id = 3) const int KH = 3;
layout(constant_id = 4) const int KW = 3;
layout(constant_id = 5) const int SH = 1;
layout(constant_id = 6) const int SW = 1;
layout(constant_id = 7) const int ACT = 0;
layout(constant_id = 8) const bool HAS_BIAS = false;
layout(constant_id = 9) const bool HAS_FILM = false;
layout(constant_id = 10) const bool HAS_RES = false;
layout(constant_id = 11) const float SLOPE = 0.01;
layout(constant_id = 12) const float FILM_OFFSET = 1.0;
layout(constant_id = 13) const bool UP2 = false;
layout(constant_id = 14) const bool TWO = false;
const int SPAN = (PXB - 1) * SW + KW; // input columns one invocation reads per row

layout(std430, binding = 0) readonly buffer X { float x[]; };
#include "nn_weights.glsl"
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) readonly buffer F { float film[]; };
layout(std430, binding = 4) readonly buffer R { float res[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
layout(std430, binding = 6) readonly buffer X2 { float x2[]; };

layout(push_constant) uniform Push {
    int cin, h, w, cout, oh, ow, pad_h, pad_w, segs; // segs = PXB-pixel segments per output row
    int c1; // TWO: channels of X
} pc;

// Output channels [oc0, oc0 + OCB) x pixels [ox0, ox0 + PXB) of row oy.
// UP2: phase p of the sub-pixel form (0 otherwise).
void conv_segment(int n, int p4, int oc0, int oy, int ox0) {
    float acc[OCB * PXB];
    for (int i = 0; i < OCB * PXB; i++) acc[i] = 0.0;

    int pa = p4 >> 1, pb = p4 & 1;
    int pad_h = UP2 ? 1 - pa : pc.pad_h;
    int pad_w = UP2 ? 1 - pb : pc.pad_w;
    int plane = pc.h * pc.w;
    int xbase = n * (TWO ? pc.c1 : pc.cin) * plane;
    int x2base = TWO ? (n * (pc.cin - pc.c1) - pc.c1) * plane : 0; // + ic * plane for ic >= c1
    int ksz = KH * KW;
    int wbase = UP2 ? p4 * pc.cout * pc.cin * ksz : 0;
    int ix0 = ox0 * SW - pad_w;
    for (int ic = 0; ic < pc.cin; ic++) {
        for (int ky = 0; ky < KH; ky++) {
            int iy = oy * SH - pad_h + ky;
            if (iy < 0 || iy >= pc.h) continue;
            bool second = TWO && ic >= pc.c1;
            int row = (second ? x2base : xbase) + ic * plane + iy * pc.w;
            // The PXB outputs' receptive fields overlap along the row: load
            // the span once and reuse it for every tap.
            float xr[SPAN];
            for (int j = 0; j < SPAN; j++) {
                int ix = ix0 + j;
                xr[j] = (ix >= 0 && ix < pc.w) ? (second ? x2[row + ix] : x[row + ix]) : 0.0;
            }
            for (int kx = 0; kx < KW; kx++) {
                int widx = ic * ksz + ky * KW + kx;
                for (int o = 0; o < OCB; o++) {
                    int oc = min(oc0 + o, pc.cout - 1);
                    float wv = nn_w(wbase + oc * pc.cin * ksz + widx);
                    for (int p = 0; p < PXB; p++) acc[o * PXB + p] += wv * xr[p * SW + kx];
                }
            }
        }
    }

    for (int o = 0; o < OCB; o++) {
        int oc = oc0 + o;
        if (oc >= pc.cout) break;
        float scale = 0.0, shift = 0.0;
        if (HAS_FILM) {
            scale = film[n * 2 * pc.cout + oc];
            shift = film[n * 2 * pc.cout + pc.cout + oc];
        }
        // UP2 writes every other pixel of every other row of 2oh x 2ow.
        int obase = UP2 ? ((n * pc.cout + oc) * 2 * pc.oh + 2 * oy + pa) * 2 * pc.ow + pb
                        : ((n * pc.cout + oc) * pc.oh + oy) * pc.ow;
        int ostep = UP2 ? 2 : 1;
        for (int p = 0; p < PXB; p++) {
            int ox = ox0 + p;
            if (ox >= pc.ow) continue;
            int oi = obase + ox * ostep;
            float v = acc[o * PXB + p];
            if (HAS_BIAS) v += bias[oc];
            if (HAS_FILM) v = v * (FILM_OFFSET + scale) + shift;
            v = nn_act(ACT, SLOPE, v);
            if (HAS_RES) v += res[oi];
            y[oi] = v;
        }
    }
}

void main() {
    // Grid-stride over the OH * segs segments, so any height fits under
    // the device's workgroup-count limit.
    int total = pc.oh * pc.segs;
    int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
    int z = int(gl_WorkGroupID.z);
    int n = UP2 ? z >> 2 : z, p4 = UP2 ? z & 3 : 0;
    for (int idx = int(gl_GlobalInvocationID.x); idx < total; idx += stride)
        conv_segment(n, p4, int(gl_WorkGroupID.y) * OCB, idx / pc.segs, (idx % pc.segs) * PXB);
}
