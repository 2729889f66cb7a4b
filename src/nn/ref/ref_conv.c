/* Reference convolutions: direct sums straight from the definitions. */
#include "nn/ref/ref.h"

/* One output value of conv2d before the epilogue. Taps that fall in the zero
 * padding are skipped. */
static float conv2d_sum(const md_tensor *x, const md_tensor *w, const md_conv_params *p,
                        int n, int oc, int oy, int ox)
{
    float sum = 0.0f;
    for (int ic = 0; ic < x->c; ic++)
        for (int ky = 0; ky < w->h; ky++) {
            int iy = oy * p->stride_h - p->pad_h + ky;
            if (iy < 0 || iy >= x->h) continue;
            for (int kx = 0; kx < w->w; kx++) {
                int ix = ox * p->stride_w - p->pad_w + kx;
                if (ix < 0 || ix >= x->w) continue;
                sum += x->host[md_tensor_at(x, n, ic, iy, ix)] * w->host[md_tensor_at(w, oc, ic, ky, kx)];
            }
        }
    return sum;
}

void md_ref_conv2d(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                   const md_tensor *film, const md_tensor *res, const md_conv_params *p,
                   md_tensor *y)
{
    for (int n = 0; n < y->n; n++)
        for (int oc = 0; oc < y->c; oc++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    float v = conv2d_sum(x, w, p, n, oc, oy, ox);
                    y->host[md_tensor_at(y, n, oc, oy, ox)] =
                        md_ref_epilogue(&p->ep, bias, film, res, y, n, oc, oy, ox, v);
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
