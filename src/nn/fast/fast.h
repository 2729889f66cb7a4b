/* The CPU backend's fast mode (md_nn_set_cpu_fast): the ops a render spends
 * its time in, written for speed rather than for reading.
 *
 * The CPU reference (src/nn/ref) sums each output straight from the
 * definition, which keeps it readable and makes it the golden every shader
 * is tested against, but it runs at ~5 GFLOP/s. A render on a machine
 * without a GPU spends ~90% of its time in 3x3 convolutions, so the CPU
 * backend, when asked for speed, lowers each conv to a matrix product and
 * hands it to OpenBLAS, the library made for that job (conv_blas.c), and
 * runs the per-frame group norm row by row instead of column by column
 * (group_norm_fast.c). Results equal the reference up to float rounding
 * (tests/test_nn_fast.c). Inputs are host tensors already checked by ops.c. */
#ifndef MD_NN_FAST_FAST_H
#define MD_NN_FAST_FAST_H

#include "nn/ops.h"

/* y = epilogue(conv2d([a ; b], w)); b may be NULL (then the input is a). */
md_status md_fast_conv2d(md_ctx *ctx, const md_tensor *a, const md_tensor *b, const md_tensor *w,
                         const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                         const md_conv_params *p, md_tensor *y);

/* y = epilogue(conv3x3(upsample2x(x))) from the phase weights of
 * md_nn_up2_weights (4Cout x Cin x 2 x 2), as md_ref_conv2d_up2. */
md_status md_fast_conv2d_up2(md_ctx *ctx, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                             const md_tensor *film, const md_tensor *res, const md_epilogue *ep,
                             md_tensor *y);

/* y = epilogue(group_norm([a ; b])) for per-frame statistics (p->per_frame);
 * b may be NULL. Returns MD_ERR_USAGE for whole-plane statistics, which the
 * caller then leaves to the reference. */
md_status md_fast_group_norm(md_ctx *ctx, const md_tensor *a, const md_tensor *b, const md_tensor *gamma,
                             const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                             md_tensor *y);

/* Shared by the fast ops: count values of channel c of batch item n (of a
 * cout-channel output) through bias (NULL: none), FiLM (NULL: none) and the
 * activation, in md_ref_epilogue's order, without the residual. */
void md_fast_affine_act(const md_epilogue *ep, const md_tensor *bias, const md_tensor *film, int n, int c,
                        int cout, float *v, size_t count);

#endif
