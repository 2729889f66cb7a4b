/* im2col + sgemm convolutions for the CPU backend's fast mode (fast.h). */
#include "nn/fast/fast.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref/ref.h"

/* Columns are built for a band of output rows at a time, about this many
 * floats, so the column matrix stays in cache while sgemm reads it. */
#define BAND_FLOATS (1u << 20)

/* A conv's geometry: output rows [oy0, oy0 + rows) of a kh x kw kernel. */
typedef struct geom {
    int kh, kw, sh, sw, ph, pw, oh, ow;
} geom;

/* One input plane's kh * kw rows of the column matrix for output rows
 * [oy0, oy0 + rows): row (ky, kx) holds the input pixel each output reads
 * through tap (ky, kx), 0 in the padding. */
static void im2col_plane(const float *plane, int h, int w, const geom *g, int oy0, int rows, float *col)
{
    size_t n = (size_t)rows * (size_t)g->ow;
    for (int ky = 0; ky < g->kh; ky++)
        for (int kx = 0; kx < g->kw; kx++, col += n)
            for (int r = 0; r < rows; r++) {
                float *dst = col + (size_t)r * g->ow;
                int iy = (oy0 + r) * g->sh - g->ph + ky;
                if (iy < 0 || iy >= h) {
                    memset(dst, 0, (size_t)g->ow * sizeof *dst);
                    continue;
                }
                const float *src = plane + (size_t)iy * w;
                if (g->sw == 1) { /* the common case: one shifted copy between zero edges */
                    int lo = g->pw - kx > 0 ? g->pw - kx : 0, hi = w + g->pw - kx;
                    hi = hi < g->ow ? hi : g->ow;
                    hi = hi > lo ? hi : lo;
                    memset(dst, 0, (size_t)lo * sizeof *dst);
                    memcpy(dst + lo, src + lo - g->pw + kx, (size_t)(hi - lo) * sizeof *dst);
                    memset(dst + hi, 0, (size_t)(g->ow - hi) * sizeof *dst);
                    continue;
                }
                for (int ox = 0; ox < g->ow; ox++) {
                    int ix = ox * g->sw - g->pw + kx;
                    dst[ox] = ix >= 0 && ix < w ? src[ix] : 0.0f;
                }
            }
}

/* The column matrix of batch item n of [a ; b] for a band of output rows. */
static void im2col(const md_tensor *a, const md_tensor *b, int n, const geom *g, int oy0, int rows, float *col)
{
    size_t per_channel = (size_t)g->kh * g->kw * rows * g->ow;
    for (int c = 0; c < a->c; c++, col += per_channel)
        im2col_plane(a->host + md_tensor_at(a, n, c, 0, 0), a->h, a->w, g, oy0, rows, col);
    for (int c = 0; b && c < b->c; c++, col += per_channel)
        im2col_plane(b->host + md_tensor_at(b, n, c, 0, 0), b->h, b->w, g, oy0, rows, col);
}

/* out[oc][i] = W[oc][:] . col[:][i] for a band: M = cout, K, N = band columns,
 * written with row stride ldo. */
static void gemm(const float *wt, int cout, int k, const float *col, int ncols, float *out, int ldo)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, ncols, k, 1.0f, wt, k, col, ncols, 0.0f, out, ldo);
}

/* The rows per band for a column matrix of k rows and ow columns. */
static int band_rows(int k, int ow, int oh)
{
    size_t per_row = (size_t)k * (size_t)ow;
    int rows = per_row >= BAND_FLOATS ? 1 : (int)(BAND_FLOATS / per_row);
    return rows < oh ? rows : oh;
}

/* The whole epilogue over one contiguous output plane. */
static void epilogue_plane(const md_epilogue *ep, const md_tensor *bias, const md_tensor *film,
                           const md_tensor *res, const md_tensor *y, int n, int c, float *plane, size_t count)
{
    md_fast_affine_act(ep, bias, film, n, c, y->c, plane, count);
    if (!res) return;
    const float *r = res->host + md_tensor_at(y, n, c, 0, 0);
    for (size_t i = 0; i < count; i++) plane[i] += r[i];
}

md_status md_fast_conv2d(md_ctx *ctx, const md_tensor *a, const md_tensor *b, const md_tensor *w,
                         const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                         const md_conv_params *p, md_tensor *y)
{
    geom g = {w->h, w->w, p->stride_h, p->stride_w, p->pad_h, p->pad_w, y->h, y->w};
    int k = w->c * w->h * w->w;
    int rows = band_rows(k, y->w, y->h);
    float *col = malloc((size_t)k * (size_t)rows * (size_t)y->w * sizeof *col);
    if (!col) return md_fail(ctx, MD_ERR_NOMEM, "conv2d: out of memory for a %d x %d column band", k, rows * y->w);
    size_t plane = (size_t)y->h * (size_t)y->w;
    for (int n = 0; n < y->n; n++) {
        float *out = y->host + md_tensor_at(y, n, 0, 0, 0);
        for (int oy0 = 0; oy0 < y->h; oy0 += rows) {
            int r = y->h - oy0 < rows ? y->h - oy0 : rows;
            im2col(a, b, n, &g, oy0, r, col);
            gemm(w->host, y->c, k, col, r * y->w, out + (size_t)oy0 * y->w, (int)plane);
        }
        for (int c = 0; c < y->c; c++) epilogue_plane(&p->ep, bias, film, res, y, n, c, out + c * plane, plane);
    }
    free(col);
    return MD_OK;
}

/* Each phase (pa, pb) of the upsampled output is a 2x2 conv of x padded by
 * (1 - pa) rows on top and (1 - pb) columns on the left (md_ref_conv2d_up2),
 * computed into a scratch plane set and scattered to every other pixel. */
md_status md_fast_conv2d_up2(md_ctx *ctx, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                             const md_tensor *film, const md_tensor *res, const md_epilogue *ep,
                             md_tensor *y)
{
    int cout = y->c, k = x->c * 4, rows = band_rows(k, x->w, x->h);
    size_t plane = (size_t)x->h * (size_t)x->w;
    float *col = malloc((size_t)k * (size_t)rows * (size_t)x->w * sizeof *col);
    float *tmp = malloc((size_t)cout * plane * sizeof *tmp);
    if (!col || !tmp) {
        free(col), free(tmp);
        return md_fail(ctx, MD_ERR_NOMEM, "conv2d_up2: out of memory for %d x %d planes", cout, x->h * x->w);
    }
    for (int ph = 0; ph < 4; ph++) {
        int pa = ph >> 1, pb = ph & 1;
        geom g = {2, 2, 1, 1, 1 - pa, 1 - pb, x->h, x->w};
        const float *wt = w->host + (size_t)ph * (size_t)cout * (size_t)k;
        for (int n = 0; n < y->n; n++) {
            for (int oy0 = 0; oy0 < x->h; oy0 += rows) {
                int r = x->h - oy0 < rows ? x->h - oy0 : rows;
                im2col(x, NULL, n, &g, oy0, r, col);
                gemm(wt, cout, k, col, r * x->w, tmp + (size_t)oy0 * x->w, (int)plane);
            }
            for (int c = 0; c < cout; c++) {
                float *t = tmp + c * plane;
                md_fast_affine_act(ep, bias, film, n, c, cout, t, plane);
                for (int i = 0; i < x->h; i++) {
                    size_t row = md_tensor_at(y, n, c, 2 * i + pa, pb);
                    float *dst = y->host + row;
                    const float *r = res ? res->host + row : NULL;
                    for (int j = 0; j < x->w; j++) dst[2 * j] = t[(size_t)i * x->w + j] + (r ? r[2 * j] : 0.0f);
                }
            }
        }
    }
    free(col), free(tmp);
    return MD_OK;
}
