#version 450
// variants: f16w
// Direct convolution as an implicit GEMM tiled through shared memory
// ("tiled" style, for real GPUs).
//
// GEMM view: M = Cout, columns = OH*OW output pixels of one sample,
// K = Cin*KH*KW. A workgroup of (BN/TN) x (BM/TM) invocations computes a
// BM x BN output tile; each step stages a BM x BK slice of the weights and a
// BK x BN slice of the input -- gathered on the fly from the NCHW tensor with
// zero padding, so there is no im2col buffer -- in shared memory, then every
// invocation accumulates TM x TN outputs in fp32 registers.
//
// Grid: x = ceil(OH*OW / BN), y = ceil(Cout / BM), z = batch.
//
// up2 != 0 (md_nn_conv2d_up2): a 3x3 conv of the nearest-2x upsampled input
// in sub-pixel form, as in nn_conv2d_reg.comp: z = batch x 4 phases, each a
// 2x2 conv (KH = KW = 2) of the low-res input with its phase's padding and
// weights, written to every other pixel of the 2oh x 2ow output. A push
// constant, not a spec constant: this kernel already uses 16 spec ids.
//
// c1 < cin (md_nn_conv2d_cat): the input is the channel concatenation of X
// (channels [0, c1)) and X2 (channels [c1, cin)), read in place; c1 = cin
// for a single input.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const int BM = 64;
layout(constant_id = 3) const int BN = 64;
layout(constant_id = 4) const int BK = 16;
layout(constant_id = 5) const int TM = 4;
layout(constant_id = 6) const int TN = 4;
layout(constant_id = 7) const int KH = 3;
layout(constant_id = 8) const int KW = 3;
layout(constant_id = 9) const int SH = 1;
layout(constant_id = 10) const int SW = 1;
layout(constant_id = 11) const int ACT = 0;
layout(constant_id = 12) const bool HAS_BIAS = false;
layout(constant_id = 13) const bool HAS_FILM = false;
layout(constant_id = 14) const bool HAS_RES = false;
layout(constant_id = 15) const float SLOPE = 0.01;
// FiLM offset arrives as a push constant: this kernel already uses 16 spec ids.

layout(std430, binding = 0) readonly buffer X { float x[]; };
#include "nn_weights.glsl"
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) readonly buffer F { float film[]; };
layout(std430, binding = 4) readonly buffer R { float res[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
layout(std430, binding = 6) readonly buffer X2 { float x2[]; };

layout(push_constant) uniform Push {
    int cin, h, w, cout, oh, ow, pad_h, pad_w;
    float film_offset;
    int up2;
    int c1;
} pc;

shared float As[BK * BM];
shared float Bs[BK * BN];

void main() {
    int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    int nx = int(gl_WorkGroupSize.x), ny = int(gl_WorkGroupSize.y);
    int tid = ty * nx + tx, threads = nx * ny;
    int m0 = int(gl_WorkGroupID.y) * BM;
    int col0 = int(gl_WorkGroupID.x) * BN;
    int z = int(gl_WorkGroupID.z);
    bool up2 = pc.up2 != 0;
    int n = up2 ? z >> 2 : z, p4 = up2 ? z & 3 : 0;
    int pa = p4 >> 1, pb = p4 & 1;
    int pad_h = up2 ? 1 - pa : pc.pad_h, pad_w = up2 ? 1 - pb : pc.pad_w;
    int wbase = up2 ? p4 * pc.cout * pc.cin * KH * KW : 0;
    int ksz = KH * KW;
    int kdim = pc.cin * ksz;
    int cols = pc.oh * pc.ow;
    int plane = pc.h * pc.w;
    int xbase = n * pc.c1 * plane;
    int x2base = (n * (pc.cin - pc.c1) - pc.c1) * plane; // + ic * plane for ic >= c1

    float acc[TM * TN];
    for (int i = 0; i < TM * TN; i++) acc[i] = 0.0;

    for (int k0 = 0; k0 < kdim; k0 += BK) {
        for (int i = tid; i < BM * BK; i += threads) {
            int m = i / BK, k = i % BK;
            bool ok = m0 + m < pc.cout && k0 + k < kdim;
            As[k * BM + m] = ok ? nn_w(wbase + (m0 + m) * kdim + k0 + k) : 0.0;
        }
        for (int i = tid; i < BK * BN; i += threads) {
            int k = i / BN, c = i % BN;
            int kk = k0 + k, col = col0 + c;
            float v = 0.0;
            if (kk < kdim && col < cols) {
                int ic = kk / ksz, r = kk % ksz;
                int iy = (col / pc.ow) * SH - pad_h + r / KW;
                int ix = (col % pc.ow) * SW - pad_w + r % KW;
                if (iy >= 0 && iy < pc.h && ix >= 0 && ix < pc.w) {
                    int off = ic * plane + iy * pc.w + ix;
                    v = ic < pc.c1 ? x[xbase + off] : x2[x2base + off];
                }
            }
            Bs[k * BN + c] = v;
        }
        barrier();
        for (int k = 0; k < BK; k++) {
            float a[TM], b[TN];
            for (int i = 0; i < TM; i++) a[i] = As[k * BM + ty + i * ny];
            for (int j = 0; j < TN; j++) b[j] = Bs[k * BN + tx + j * nx];
            for (int i = 0; i < TM; i++)
                for (int j = 0; j < TN; j++) acc[i * TN + j] += a[i] * b[j];
        }
        barrier();
    }

    for (int i = 0; i < TM; i++) {
        int oc = m0 + ty + i * ny;
        if (oc >= pc.cout) break;
        float scale = 0.0, shift = 0.0;
        if (HAS_FILM) {
            scale = film[n * 2 * pc.cout + oc];
            shift = film[n * 2 * pc.cout + pc.cout + oc];
        }
        int obase = (n * pc.cout + oc) * cols * (up2 ? 4 : 1);
        for (int j = 0; j < TN; j++) {
            int col = col0 + tx + j * nx;
            if (col >= cols) continue;
            int oi = up2 ? obase + (2 * (col / pc.ow) + pa) * 2 * pc.ow + 2 * (col % pc.ow) + pb : obase + col;
            float v = acc[i * TN + j];
            if (HAS_BIAS) v += bias[oc];
            if (HAS_FILM) v = v * (pc.film_offset + scale) + shift;
            v = nn_act(ACT, SLOPE, v);
            if (HAS_RES) v += res[oi];
            y[oi] = v;
        }
    }
}
