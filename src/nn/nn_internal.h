/* melodiff nn — internals shared by ops.c, backend.c and the GPU backend. */
#ifndef MD_NN_INTERNAL_H
#define MD_NN_INTERNAL_H

#include "nn/ops.h"

struct md_nn {
    md_ctx *ctx;
    md_gpu *gpu;               /* NULL: CPU backend (reference, or fast with cpu_fast) */
    md_gpu_cmd *cmd;           /* GPU: list being recorded, NULL when none */
    md_gpu_buffer *dummy;      /* GPU: bound where an optional operand is absent */
    md_nn_conv_style style;    /* as set; AUTO resolved at dispatch */
    md_nn_precision precision; /* as set; AUTO resolved at weight allocation */
    int cpu_fast;              /* CPU: fast ops (src/nn/fast: OpenBLAS convs), not the reference */
    int gn_slices;             /* GPU: per-frame group norm lanes per column, 0 = by device type */
    const char *last_kernel;   /* GPU: shader of the last recorded dispatch (a literal) */
    char label[64];            /* md_nn_set_label: prefix of the dispatch labels, "" = none */
};

/* GPU backend (gpu_ops.c). Shapes were checked by ops.c. */
/* conv2d and group norm take an optional second input x2 (NULL: none):
 * the input is then the channel concatenation [x ; x2] (ops *_cat). */
md_status md_nn_gpu_conv2d(md_nn *nn, const md_tensor *x, const md_tensor *x2, const md_tensor *w,
                           const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                           const md_conv_params *p, md_tensor *y);
md_status md_nn_gpu_conv2d_up2(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                               const md_tensor *film, const md_tensor *res, const md_epilogue *ep,
                               md_tensor *y);
md_status md_nn_gpu_conv_transpose2d(md_nn *nn, const md_tensor *x, const md_tensor *w,
                                     const md_tensor *bias, const md_convt_params *p, md_tensor *y);
md_status md_nn_gpu_upsample_nearest2x(md_nn *nn, const md_tensor *x, md_tensor *y);
md_status md_nn_gpu_avgpool2x2(md_nn *nn, const md_tensor *x, md_tensor *y);
md_status md_nn_gpu_group_norm(md_nn *nn, const md_tensor *x, const md_tensor *x2, const md_tensor *gamma,
                               const md_tensor *beta, const md_tensor *film,
                               const md_norm_params *p, md_tensor *y);
md_status md_nn_gpu_layer_norm(md_nn *nn, const md_tensor *x, const md_tensor *gamma,
                               const md_tensor *beta, float eps, md_tensor *y);
md_status md_nn_gpu_act(md_nn *nn, const md_tensor *x, md_act act, float slope, md_tensor *y);
md_status md_nn_gpu_film(md_nn *nn, const md_tensor *x, const md_tensor *film, float film_offset,
                         md_tensor *y);
md_status md_nn_gpu_add(md_nn *nn, const md_tensor *a, const md_tensor *b, md_tensor *y);
md_status md_nn_gpu_concat(md_nn *nn, const md_tensor *a, const md_tensor *b, md_tensor *y);
md_status md_nn_gpu_softmax(md_nn *nn, const md_tensor *x, md_tensor *y);
md_status md_nn_gpu_linear(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                           md_act act, float slope, md_tensor *y);
md_status md_nn_gpu_attention_core(md_nn *nn, const md_tensor *qkv, int heads, md_attn_axis axis,
                                   md_tensor *y);


#endif
