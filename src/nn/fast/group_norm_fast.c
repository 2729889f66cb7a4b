/* Per-frame group norm for the CPU backend's fast mode (fast.h). The
 * reference walks each column down the channels and rows, a stride of W
 * floats per step; here every pass runs along rows, keeping one running sum
 * per column, so the loops are contiguous and vectorise. Statistics stay in
 * double, in two passes, as in the reference. */
#include <math.h>
#include <stdlib.h>

#include "nn/fast/fast.h"

/* Channel c of batch item n of [a ; b]. */
static const float *channel(const md_tensor *a, const md_tensor *b, int n, int c)
{
    return c < a->c ? a->host + md_tensor_at(a, n, c, 0, 0) : b->host + md_tensor_at(b, n, c - a->c, 0, 0);
}

/* mean[col] and inv[col] = 1 / sqrt(var + eps) over channels [c0, c0 + k) and all rows. */
static void column_stats(const md_tensor *a, const md_tensor *b, int n, int c0, int k, int h, int w, float eps,
                         double *mean, double *acc, float *inv)
{
    double count = (double)k * h;
    for (int col = 0; col < w; col++) acc[col] = 0.0;
    for (int c = c0; c < c0 + k; c++) {
        const float *x = channel(a, b, n, c);
        for (size_t i = 0; i < (size_t)h * w; i += (size_t)w)
            for (int col = 0; col < w; col++) acc[col] += x[i + col];
    }
    for (int col = 0; col < w; col++) mean[col] = acc[col] / count, acc[col] = 0.0;
    for (int c = c0; c < c0 + k; c++) {
        const float *x = channel(a, b, n, c);
        for (size_t i = 0; i < (size_t)h * w; i += (size_t)w)
            for (int col = 0; col < w; col++) {
                double e = x[i + col] - mean[col];
                acc[col] += e * e;
            }
    }
    for (int col = 0; col < w; col++) inv[col] = (float)(1.0 / sqrt(acc[col] / count + eps));
}

md_status md_fast_group_norm(md_ctx *ctx, const md_tensor *a, const md_tensor *b, const md_tensor *gamma,
                             const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                             md_tensor *y)
{
    if (!p->per_frame) return md_fail(ctx, MD_ERR_USAGE, "group_norm: the fast path is per-frame only");
    int h = y->h, w = y->w, k = y->c / p->groups;
    double *mean = malloc((size_t)w * sizeof *mean), *acc = malloc((size_t)w * sizeof *acc);
    float *inv = malloc((size_t)w * sizeof *inv);
    if (!mean || !acc || !inv) {
        free(mean), free(acc), free(inv);
        return md_fail(ctx, MD_ERR_NOMEM, "group_norm: out of memory for %d columns", w);
    }
    for (int n = 0; n < y->n; n++)
        for (int g = 0; g < p->groups; g++) {
            column_stats(a, b, n, g * k, k, h, w, p->eps, mean, acc, inv);
            for (int c = g * k; c < (g + 1) * k; c++) {
                float gm = gamma ? gamma->host[c] : 1.0f, bt = beta ? beta->host[c] : 0.0f;
                float *dst = y->host + md_tensor_at(y, n, c, 0, 0);
                const float *src = channel(a, b, n, c);
                for (int row = 0; row < h; row++)
                    for (int col = 0; col < w; col++) {
                        size_t i = (size_t)row * w + col;
                        dst[i] = ((float)(src[i] - mean[col])) * inv[col] * gm + bt;
                    }
                md_fast_affine_act(&p->ep, NULL, film, n, c, y->c, dst, (size_t)h * w);
            }
        }
    free(mean), free(acc), free(inv);
    return MD_OK;
}
