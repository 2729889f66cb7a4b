/* melodiff nn — parameters shared by the op API and both backends.
 * Weight layouts follow PyTorch so state-dict tensors load without reshuffling. */
#ifndef MD_NN_PARAMS_H
#define MD_NN_PARAMS_H

/* Pointwise activations. GELU is the exact erf form (PyTorch's default),
 * leaky ReLU uses the slope given alongside (PyTorch default 0.01). */
typedef enum md_act {
    MD_ACT_NONE = 0,
    MD_ACT_SILU = 1,
    MD_ACT_GELU = 2,
    MD_ACT_LEAKY = 3,
    MD_ACT_TANH = 4
} md_act;

/* The fused epilogue a convolution, norm or linear applies to each output
 * value v, in this order:
 *     v += bias[c]                                   (when a bias is given)
 *     v  = v * (film_offset + scale[n,c]) + shift[n,c]   (when a FiLM tensor is given)
 *     v  = act(v)
 *     v += residual[n,c,y,x]                          (when a residual is given)
 * The FiLM tensor is N x 2C x 1 x 1: scale in channels [0, C), shift in
 * [C, 2C), i.e. what `scale, shift = emb.chunk(2, dim=1)` splits in PyTorch.
 * film_offset is 1 for the common `x * (1 + scale) + shift` form, 0 for a
 * plain `x * gamma + beta`. */
typedef struct md_epilogue {
    md_act act;
    float slope;        /* leaky ReLU negative slope */
    float film_offset;  /* see above */
} md_epilogue;

/* conv2d: weight Cout x Cin x KH x KW, bias Cout.
 * Output size: OH = (H + 2*pad_h - KH) / stride_h + 1 (floor), same for W.
 * conv1d is conv2d over N x C x 1 x L with KH = 1, pad_h = 0. */
typedef struct md_conv_params {
    int stride_h, stride_w;
    int pad_h, pad_w;
    md_epilogue ep;
} md_conv_params;

/* Transposed conv2d (learned upsampling): weight Cin x Cout x KH x KW
 * (PyTorch ConvTranspose2d layout), bias Cout.
 * Output size: OH = (H - 1) * stride - 2 * pad + KH, same for W. */
typedef struct md_convt_params {
    int stride_h, stride_w;
    int pad_h, pad_w;
} md_convt_params;

/* Group norm over (C / groups) x H x W per sample and group -- or, with
 * per_frame, over (C / groups) x H separately for every column x (the
 * U-Net's "frame" norm: statistics per time frame, so the network is fully
 * convolutional in time) -- then per-channel affine gamma/beta (both C
 * long), then the epilogue's FiLM and activation. */
typedef struct md_norm_params {
    int groups;    /* group norm only */
    float eps;     /* PyTorch default 1e-5 */
    int per_frame; /* group norm only: 0 = over H x W, 1 = per column */
    md_epilogue ep;
} md_norm_params;

/* Which positions of an N x C x H x W tensor attend to each other. */
typedef enum md_attn_axis {
    MD_ATTN_ALL = 0,     /* the H*W positions of a sample form one sequence */
    MD_ATTN_COLUMNS = 1  /* each column x is a sequence of its H positions
                            (the U-Net's attention over mel bins per frame) */
} md_attn_axis;

/* Output size of a convolution along one axis; <= 0 when the kernel does not
 * fit. */
static inline int md_conv_out_size(int in, int k, int stride, int pad)
{
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

static inline int md_convt_out_size(int in, int k, int stride, int pad)
{
    return (in - 1) * stride - 2 * pad + k;
}

#endif
