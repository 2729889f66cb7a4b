/* melodiff nn — the CPU reference backend.
 *
 * Plain loops written to be read and trusted, not to be fast: the shaders are
 * tested against these, and these are tested against hand-computed cases.
 * Every function assumes the caller (ops.c) has already checked shapes; all
 * tensors are host tensors (md_tensor.host set). Output tensors never alias
 * inputs unless stated. */
#ifndef MD_NN_REF_H
#define MD_NN_REF_H

#include "nn/params.h"
#include "nn/tensor.h"

/* One activation applied to one value. */
float md_ref_act_value(md_act act, float slope, float v);

/* The fused epilogue of params.h for output (n, c, y, x): v is the raw sum. */
float md_ref_epilogue(const md_epilogue *ep, const md_tensor *bias, const md_tensor *film,
                      const md_tensor *res, const md_tensor *out, int n, int c, int y, int x,
                      float v);

void md_ref_conv2d(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                   const md_tensor *film, const md_tensor *res, const md_conv_params *p,
                   md_tensor *y);
/* Nearest-2x upsampling folded into the following 3x3 conv (pad 1, stride
 * 1): w3 (Cout x Cin x 3 x 3) becomes wp (4Cout x Cin x 2 x 2, phase
 * p = 2a+b major), each phase's 2x2 taps the sums of the 3x3 taps that read
 * the same low-res pixel. */
void md_ref_up2_weights(const float *w3, int cout, int cin, float *wp);
/* y (N x Cout x 2H x 2W) = epilogue(conv3x3(upsample2x(x))) computed from x
 * (N x Cin x H x W) and wp; plane is H*W floats of scratch. */
void md_ref_conv2d_up2(const md_tensor *x, const md_tensor *w, const md_tensor *bias, const md_tensor *film,
                       const md_tensor *res, const md_epilogue *ep, float *plane, md_tensor *y);
void md_ref_conv_transpose2d(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                             const md_convt_params *p, md_tensor *y);

void md_ref_upsample_nearest2x(const md_tensor *x, md_tensor *y);
/* 2x2 window, stride 2, floor (an odd last row/column is dropped, as PyTorch). */
void md_ref_avgpool2x2(const md_tensor *x, md_tensor *y);

void md_ref_group_norm(const md_tensor *x, const md_tensor *gamma, const md_tensor *beta,
                       const md_tensor *film, const md_norm_params *p, md_tensor *y);
/* Normalises each row over the last axis (W); gamma/beta are W long. */
void md_ref_layer_norm(const md_tensor *x, const md_tensor *gamma, const md_tensor *beta,
                       float eps, md_tensor *y);

/* y may alias x for the pointwise ops below. */
void md_ref_act(const md_tensor *x, md_act act, float slope, md_tensor *y);
void md_ref_film(const md_tensor *x, const md_tensor *film, float film_offset, md_tensor *y);
void md_ref_add(const md_tensor *a, const md_tensor *b, md_tensor *y);
/* y = [a ; b] along channels. */
void md_ref_concat(const md_tensor *a, const md_tensor *b, md_tensor *y);
/* Softmax over the last axis (W) of every row. */
void md_ref_softmax(const md_tensor *x, md_tensor *y);

/* y[r, o] = act(sum_k x[r, k] * w[o, k] + bias[o]); x is rows x K (K = x->w,
 * rows = n*c*h), w is O x K x 1 x 1 (PyTorch Linear layout), y rows x O. */
void md_ref_linear(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                   md_act act, float slope, md_tensor *y);

/* Multi-head self-attention core. qkv is N x 3C x H x W as produced by a 1x1
 * convolution: channels [0,C) are q, [C,2C) k, [2C,3C) v, and head h owns
 * channels [h*D, (h+1)*D) of each (D = C / heads). Tokens are the H*W
 * positions (MD_ATTN_ALL) or the H positions of each column (MD_ATTN_COLUMNS).
 * y (N x C x H x W) = softmax(q^T k / sqrt(D)) v per head and sequence.
 * scratch holds H*W floats (the caller allocates it so failure is reported). */
void md_ref_attention(const md_tensor *qkv, int heads, md_attn_axis axis, float *scratch, md_tensor *y);

#endif
