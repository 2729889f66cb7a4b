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

/* The 3 taps of a 3x3 kernel row (or column) that each phase's 2 taps sum:
 * an upsampled index 2i+a-1+r reads x[i+a-1+k] with k = (a+r-1)/2 + ... ;
 * spelled out: phase 0 reads x[i-1], x[i], x[i] through taps 0, 1, 2, so its
 * tap 0 is w0 and tap 1 is w1+w2; phase 1 reads x[i], x[i], x[i+1], so tap 0
 * is w0+w1 and tap 1 is w2. */
static int up2_tap(int phase, int r) { return phase == 0 ? (r == 0 ? 0 : 1) : (r == 2 ? 1 : 0); }

void md_ref_up2_weights(const float *w3, int cout, int cin, float *wp)
{
    size_t per_phase = (size_t)cout * (size_t)cin * 4;
    for (size_t i = 0; i < 4 * per_phase; i++) wp[i] = 0.0f;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int oc = 0; oc < cout; oc++)
                for (int ic = 0; ic < cin; ic++)
                    for (int r = 0; r < 3; r++)
                        for (int s = 0; s < 3; s++) {
                            size_t src = (((size_t)oc * cin + ic) * 3 + r) * 3 + s;
                            size_t dst = (size_t)(2 * a + b) * per_phase +
                                         (((size_t)oc * cin + ic) * 2 + up2_tap(a, r)) * 2 + up2_tap(b, s);
                            wp[dst] += w3[src];
                        }
}

/* Each phase (a, b) is a 2x2 conv of x with that phase's taps and padding
 * (1-a rows on top, 1-b columns on the left; the zero row/column past the
 * other edge is the bounds check), written to every other pixel of y. */
void md_ref_conv2d_up2(const md_tensor *x, const md_tensor *w, const md_tensor *bias, const md_tensor *film,
                       const md_tensor *res, const md_epilogue *ep, float *plane, md_tensor *y)
{
    int cout = y->c;
    for (int ph = 0; ph < 4; ph++) {
        int a = ph >> 1, b = ph & 1;
        md_tensor wv = *w; /* this phase's Cout x Cin x 2 x 2 block */
        wv.n = cout;
        wv.host = w->host + (size_t)ph * (size_t)cout * (size_t)x->c * 4;
        md_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1 - a, .pad_w = 1 - b};
        for (int n = 0; n < y->n; n++)
            for (int oc = 0; oc < cout; oc++) {
                conv2d_plane(x, &wv, &p, n, oc, plane, x->h, x->w);
                for (int i = 0; i < x->h; i++)
                    for (int j = 0; j < x->w; j++) {
                        int oy = 2 * i + a, ox = 2 * j + b;
                        y->host[md_tensor_at(y, n, oc, oy, ox)] =
                            md_ref_epilogue(ep, bias, film, res, y, n, oc, oy, ox, plane[(size_t)i * x->w + j]);
                    }
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
