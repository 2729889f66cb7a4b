/* melodiff nn — the op API.
 *
 * One md_nn handle is a backend: the CPU reference (src/nn/ref, every op runs
 * immediately) or Vulkan through src/gpu (ops are recorded into a command
 * list and run at md_nn_sync, or handed to the caller for replay). The same
 * calls build a model graph on either, so a graph is tested on the CPU and
 * run on the GPU without changes.
 *
 * Conventions for every op:
 *  - tensors are float32 NCHW (nn/tensor.h) allocated on this backend;
 *  - the caller allocates outputs with the exact expected shape; a mismatch
 *    is refused with MD_ERR_USAGE and a one-line message naming the op, the
 *    operand and both shapes;
 *  - outputs must not share storage with inputs, except the pointwise ops
 *    (act, film, add) which may run in place;
 *  - optional operands (bias, film, residual, gamma, beta) are NULL when absent.
 * Weight layouts are PyTorch's (see nn/params.h). */
#ifndef MD_NN_OPS_H
#define MD_NN_OPS_H

#include "gpu/gpu.h"
#include "melodiff/context.h"
#include "nn/params.h"
#include "nn/tensor.h"

typedef struct md_nn md_nn;

/* Which GPU convolution kernel to use; see docs/ops.md for measurements. */
typedef enum md_nn_conv_style {
    MD_NN_CONV_AUTO = 0,  /* tiled when the device prefers shared memory, else reg */
    MD_NN_CONV_REG = 1,   /* register-blocked, no shared memory (CPU drivers) */
    MD_NN_CONV_TILED = 2  /* shared-memory tiled implicit GEMM (real GPUs) */
} md_nn_conv_style;

/* How weights are stored; see docs/ops.md "Precision and kernel variants". */
typedef enum md_nn_precision {
    MD_NN_PRECISION_AUTO = 0,         /* fp16 weights on GPUs with 16-bit storage; fp32 on CPU devices */
    MD_NN_PRECISION_FP32 = 1,         /* everything float32 */
    MD_NN_PRECISION_FP16_WEIGHTS = 2  /* conv/linear weights stored as float16 (falls back to fp32
                                         where the device has no 16-bit storage); fp32 accumulation */
} md_nn_precision;

/* The CPU backend starts as the reference (src/nn/ref: direct sums, the
 * golden for every shader); md_nn_set_cpu_fast(nn, 1) sends its
 * convolutions through OpenBLAS and its per-frame group norm through a
 * row-major loop instead (src/nn/fast), equal up to float rounding. No effect on the GPU backend. */
md_status md_nn_create_cpu(md_ctx *ctx, md_nn **out);
void md_nn_set_cpu_fast(md_nn *nn, int on);

/* GPU backend: how many invocations share one column of the per-frame group
 * norm (nn_group_norm_cols.comp). 0 (default): 1 on CPU devices such as
 * lavapipe, where barriers cost more than they save, and
 * MD_NN_GN_SLICES_GPU on GPUs, where one invocation per column leaves most
 * of the chip idle. Tests set it to run both paths on any device. */
#define MD_NN_GN_SLICES_GPU 16
void md_nn_set_group_norm_slices(md_nn *nn, int slices);
/* The GPU backend records on gpu; gpu must outlive the handle. */
md_status md_nn_create_gpu(md_gpu *gpu, md_nn **out);
/* Runs nothing: pending unsynced GPU work is dropped. NULL is a no-op. */
void md_nn_destroy(md_nn *nn);

int md_nn_on_gpu(const md_nn *nn);
md_ctx *md_nn_ctx(const md_nn *nn);
md_gpu *md_nn_gpu(const md_nn *nn); /* NULL on the CPU backend */

void md_nn_set_conv_style(md_nn *nn, md_nn_conv_style style);
/* The style GPU convolutions actually use (AUTO resolved); REG on the CPU. */
md_nn_conv_style md_nn_conv_style_resolved(const md_nn *nn);
const char *md_nn_conv_style_name(md_nn_conv_style style);

/* Applies to weights allocated afterwards with md_nn_weight_alloc (so set it
 * before loading a model). */
void md_nn_set_precision(md_nn *nn, md_nn_precision precision);
/* FP32 or FP16_WEIGHTS: what md_nn_weight_alloc will use on this handle
 * (always FP32 on the CPU backend). */
md_nn_precision md_nn_precision_resolved(const md_nn *nn);
const char *md_nn_precision_name(md_nn_precision precision); /* "auto", "fp32", "fp16" */
/* "auto" | "fp32" | "fp16"; anything else is MD_ERR_USAGE. */
md_status md_nn_precision_parse(md_ctx *ctx, const char *text, md_nn_precision *out);

/* GPU: the shader (SPIR-V variant name, e.g. "nn_softmax_sg") of the last
 * recorded dispatch, NULL before the first or on the CPU. For tests and
 * benchmarks that must know which variant ran. */
const char *md_nn_last_kernel(const md_nn *nn);

/* GPU profiling: the dispatches recorded from now on are labelled
 * "<label> <kernel>" (e.g. "up.4.norm1 group_norm_cols") instead of the
 * kernel alone, so md_gpu_profile_report gives a row per layer. NULL or ""
 * goes back to kernel labels. Copied (up to 48 characters); no effect on
 * the CPU backend. */
void md_nn_set_label(md_nn *nn, const char *label);

/* ---- tensors ---------------------------------------------------------------- */

/* Allocates an n x c x h x w tensor (contents undefined). A tensor larger
 * than the device's largest storage binding (or 2^31 elements) is refused
 * with MD_ERR_LIMIT; nothing is ever truncated. */
md_status md_nn_tensor_alloc(md_nn *nn, md_tensor *t, int n, int c, int h, int w);
/* A weight tensor for conv2d/conv1d/linear/attention: float16 storage when
 * md_nn_precision_resolved() is FP16_WEIGHTS, else like md_nn_tensor_alloc.
 * Upload/download still take floats (converted, round-to-nearest-even). */
md_status md_nn_weight_alloc(md_nn *nn, md_tensor *t, int n, int c, int h, int w);
/* Frees storage and zeroes *t. On the GPU, pending recorded work is run
 * first (a list taken with md_nn_take_commands must be destroyed before the
 * tensors it uses). */
void md_nn_tensor_free(md_nn *nn, md_tensor *t);
/* Copy numel floats in or out. Both run pending GPU work first, so they see
 * and are seen by every op issued before them. */
md_status md_nn_upload(md_nn *nn, md_tensor *t, const float *src);
md_status md_nn_download(md_nn *nn, const md_tensor *t, float *dst);

/* Runs every op recorded since the last sync and waits (no-op on the CPU). */
md_status md_nn_sync(md_nn *nn);
/* Drops the ops recorded since the last sync without running them (after a
 * failure part-way through a graph). No-op on the CPU. */
void md_nn_discard(md_nn *nn);
/* GPU only: ends the ops recorded since the last sync as one command list
 * and hands it over (md_gpu_cmd_run it any number of times, then
 * md_gpu_cmd_destroy it). *out is NULL when nothing was recorded. */
md_status md_nn_take_commands(md_nn *nn, md_gpu_cmd **out);

/* ---- ops ---------------------------------------------------------------------- */

/* y = epilogue(conv2d(x, w)); x N x Cin x H x W, w Cout x Cin x KH x KW,
 * y N x Cout x OH x OW; bias Cout, film N x 2Cout, res shaped like y. */
md_status md_nn_conv2d(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                       const md_tensor *film, const md_tensor *res, const md_conv_params *p,
                       md_tensor *y);
/* y = epilogue(conv2d(upsample_nearest2x(x), w3)) for a 3x3 conv with
 * padding 1, stride 1, without the 4x upsampled intermediate: in sub-pixel
 * form each output phase (row parity a, column parity b) is a 2x2 conv of x
 * with pre-summed taps (2.25x fewer multiply-adds). w is the phase weight
 * md_nn_up2_weights makes from w3: 4Cout x Cin x 2 x 2. x N x Cin x H x W,
 * y N x Cout x 2H x 2W; bias, film, res as for conv2d. Equal to the
 * two-op form up to float rounding (the taps are summed first). */
md_status md_nn_conv2d_up2(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                           const md_tensor *film, const md_tensor *res, const md_epilogue *ep,
                           md_tensor *y);
/* Host floats: w3 Cout x Cin x 3 x 3 -> wp 4Cout x Cin x 2 x 2 (see ref.h). */
void md_nn_up2_weights(const float *w3, int cout, int cin, float *wp);
/* conv2d of the channel concatenation [a ; b] (a N x Ca x H x W, b
 * N x Cb x H x W, w Cout x (Ca+Cb) x KH x KW) without writing it: the GPU
 * kernels read channels [0, Ca) from a and the rest from b. */
md_status md_nn_conv2d_cat(md_nn *nn, const md_tensor *a, const md_tensor *b, const md_tensor *w,
                           const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                           const md_conv_params *p, md_tensor *y);
/* conv1d over N x Cin x 1 x L with weight Cout x Cin x 1 x K. */
md_status md_nn_conv1d(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                       int stride, int pad, md_act act, md_tensor *y);
/* x N x Cin x H x W, w Cin x Cout x KH x KW, y N x Cout x OH x OW. */
md_status md_nn_conv_transpose2d(md_nn *nn, const md_tensor *x, const md_tensor *w,
                                 const md_tensor *bias, const md_convt_params *p, md_tensor *y);
/* y is N x C x 2H x 2W. */
md_status md_nn_upsample_nearest2x(md_nn *nn, const md_tensor *x, md_tensor *y);
/* y is N x C x H/2 x W/2 (floor); H and W must be >= 2. */
md_status md_nn_avgpool2x2(md_nn *nn, const md_tensor *x, md_tensor *y);
/* gamma/beta C long; film N x 2C; epilogue bias/residual are not used. */
md_status md_nn_group_norm(md_nn *nn, const md_tensor *x, const md_tensor *gamma,
                           const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                           md_tensor *y);
/* group_norm of the channel concatenation [a ; b] without writing it
 * (shapes as md_nn_conv2d_cat; a group may straddle a and b). */
md_status md_nn_group_norm_cat(md_nn *nn, const md_tensor *a, const md_tensor *b, const md_tensor *gamma,
                               const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                               md_tensor *y);
/* Over the last axis W; gamma/beta W long. */
md_status md_nn_layer_norm(md_nn *nn, const md_tensor *x, const md_tensor *gamma,
                           const md_tensor *beta, float eps, md_tensor *y);
md_status md_nn_act(md_nn *nn, const md_tensor *x, md_act act, float slope, md_tensor *y);
md_status md_nn_film(md_nn *nn, const md_tensor *x, const md_tensor *film, float film_offset,
                     md_tensor *y);
md_status md_nn_add(md_nn *nn, const md_tensor *a, const md_tensor *b, md_tensor *y);
/* Along channels: a N x Ca x H x W, b N x Cb x H x W, y N x (Ca+Cb) x H x W. */
md_status md_nn_concat(md_nn *nn, const md_tensor *a, const md_tensor *b, md_tensor *y);
/* Over the last axis W. */
md_status md_nn_softmax(md_nn *nn, const md_tensor *x, md_tensor *y);
/* x rows x K (K = x->w), w O x K x 1 x 1, y has x's leading axes and W = O. */
md_status md_nn_linear(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                       md_act act, float slope, md_tensor *y);
/* Largest head dimension md_nn_attention_core accepts (the shader keeps a
 * head's accumulator in registers). */
#define MD_NN_MAX_HEAD_DIM 128

/* The attention core (ref.h: md_ref_attention): qkv N x 3C x H x W ->
 * y N x C x H x W; C must divide by heads; axis picks the sequences. */
md_status md_nn_attention_core(md_nn *nn, const md_tensor *qkv, int heads, md_attn_axis axis,
                               md_tensor *y);

/* A self-attention block over the positions of x (axis as in the core):
 *     qkv = conv1x1(x; wqkv 3C x C x 1 x 1, bqkv 3C)
 *     a   = attention_core(qkv, heads, axis)
 *     y   = conv1x1(a; wo C x C x 1 x 1, bo C) + res        (res may be NULL)
 * qkv_tmp (N x 3C x H x W) and a_tmp (N x C x H x W) are caller-owned scratch,
 * so a recorded GPU list never refers to freed memory. Normalisation before
 * the block is the caller's (usually a group norm). A 1x1 convolution over
 * NCHW is exactly PyTorch's Linear over the channel vector of each position,
 * so Linear(C, 3C) weights load as 3C x C x 1 x 1. */
md_status md_nn_attention(md_nn *nn, const md_tensor *x, const md_tensor *wqkv,
                          const md_tensor *bqkv, const md_tensor *wo, const md_tensor *bo,
                          int heads, md_attn_axis axis, const md_tensor *res, md_tensor *qkv_tmp,
                          md_tensor *a_tmp, md_tensor *y);

#endif
