/* Reference convolutions: direct sums straight from the definitions. */
#include "nn/ref/ref.h"

/* Output columns [*lo, *hi) whose input column ox * stride - pad + k lies
 * inside [0, in): the taps that do not fall in the zero padding. */
static void valid_cols(int out, int in, int stride, int pad, int k, int *lo, int *hi)
{
    int first = pad - k; /* ox * stride >= first */
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = in - 1 + pad - k; /* ox * stride <= last */
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

/* conv2d, one output plane at a time: each weight tap adds its shifted
 * input rows into the plane. Every output still receives its terms in the
 * order (input channel, kernel row, kernel column), the order of the plain
 * six-deep loop, but the innermost loop runs along a row so the compiler
 * can vectorise it. Taps in the zero padding are skipped. */
static void conv2d_plane(const md_tensor *x, const md_tensor *w, const md_conv_params *p, int n, int oc,
                         float *out, int oh, int ow)
{
    for (size_t i = 0; i < (size_t)oh * (size_t)ow; i++) out[i] = 0.0f;
    for (int ic = 0; ic < x->c; ic++)
        for (int ky = 0; ky < w->h; ky++)
            for (int kx = 0; kx < w->w; kx++) {
                float wv = w->host[md_tensor_at(w, oc, ic, ky, kx)];
                int lo, hi;
                valid_cols(ow, x->w, p->stride_w, p->pad_w, kx, &lo, &hi);
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * p->stride_h - p->pad_h + ky;
                    if (iy < 0 || iy >= x->h) continue;
                    const float *row = &x->host[md_tensor_at(x, n, ic, iy, 0)];
                    float *dst = &out[(size_t)oy * ow];
                    for (int ox = lo; ox < hi; ox++) dst[ox] += wv * row[ox * p->stride_w - p->pad_w + kx];
                }
            }
}

void md_ref_conv2d(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                   const md_tensor *film, const md_tensor *res, const md_conv_params *p,
                   md_tensor *y)
{
    for (int n = 0; n < y->n; n++)
        for (int oc = 0; oc < y->c; oc++) {
            float *out = &y->host[md_tensor_at(y, n, oc, 0, 0)];
            conv2d_plane(x, w, p, n, oc, out, y->h, y->w);
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    float *v = &out[(size_t)oy * y->w + ox];
                    *v = md_ref_epilogue(&p->ep, bias, film, res, y, n, oc, oy, ox, *v);
                }
        }
}

/* Transposed convolution as the adjoint of conv2d: every input value is
 * scattered through the kernel into the output. Written as a scatter (unlike
 * the shader's gather) so the two implementations check each other. */
void md_ref_conv_transpose2d(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                             const md_convt_params *p, md_tensor *y)
{
    for (int n = 0; n < y->n; n++)
        for (int oc = 0; oc < y->c; oc++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++)
                    y->host[md_tensor_at(y, n, oc, oy, ox)] = bias ? bias->host[oc] : 0.0f;
    for (int n = 0; n < x->n; n++)
        for (int ic = 0; ic < x->c; ic++)
            for (int iy = 0; iy < x->h; iy++)
                for (int ix = 0; ix < x->w; ix++) {
                    float v = x->host[md_tensor_at(x, n, ic, iy, ix)];
                    for (int oc = 0; oc < y->c; oc++)
                        for (int ky = 0; ky < w->h; ky++) {
                            int oy = iy * p->stride_h - p->pad_h + ky;
                            if (oy < 0 || oy >= y->h) continue;
                            for (int kx = 0; kx < w->w; kx++) {
                                int ox = ix * p->stride_w - p->pad_w + kx;
                                if (ox < 0 || ox >= y->w) continue;
                                y->host[md_tensor_at(y, n, oc, oy, ox)] +=
                                    v * w->host[md_tensor_at(w, ic, oc, ky, kx)];
                            }
                        }
                }
}
