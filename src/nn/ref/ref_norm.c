/* Reference normalisations. Statistics are accumulated in double and in two
 * passes (mean, then squared deviations) so the reference is accurate well
 * beyond the tolerance the shaders are held to. Variance is the biased one
 * (divide by the count), as PyTorch's GroupNorm and LayerNorm use. */
#include <math.h>

#include "nn/ref/ref.h"

/* Per-frame group norm: statistics over the group's channels and all rows
 * of one column. */
static void group_norm_frames(const md_tensor *x, const md_tensor *gamma, const md_tensor *beta,
                              const md_tensor *film, const md_norm_params *p, md_tensor *y)
{
    int per_group = x->c / p->groups;
    double count = (double)per_group * x->h;
    for (int n = 0; n < x->n; n++)
        for (int g = 0; g < p->groups; g++)
            for (int col = 0; col < x->w; col++) {
                int c0 = g * per_group;
                double mean = 0.0, var = 0.0;
                for (int c = c0; c < c0 + per_group; c++)
                    for (int row = 0; row < x->h; row++) mean += x->host[md_tensor_at(x, n, c, row, col)];
                mean /= count;
                for (int c = c0; c < c0 + per_group; c++)
                    for (int row = 0; row < x->h; row++) {
                        double e = x->host[md_tensor_at(x, n, c, row, col)] - mean;
                        var += e * e;
                    }
                var /= count;
                float inv = (float)(1.0 / sqrt(var + p->eps));
                for (int c = c0; c < c0 + per_group; c++)
                    for (int row = 0; row < x->h; row++) {
                        size_t at = md_tensor_at(x, n, c, row, col);
                        float v = ((float)(x->host[at] - mean)) * inv;
                        if (gamma) v *= gamma->host[c];
                        if (beta) v += beta->host[c];
                        y->host[at] = md_ref_epilogue(&p->ep, NULL, film, NULL, y, n, c, row, col, v);
                    }
            }
}

void md_ref_group_norm(const md_tensor *x, const md_tensor *gamma, const md_tensor *beta,
                       const md_tensor *film, const md_norm_params *p, md_tensor *y)
{
    if (p->per_frame) {
        group_norm_frames(x, gamma, beta, film, p, y);
        return;
    }
    int per_group = x->c / p->groups;
    size_t plane = (size_t)x->h * (size_t)x->w;
    size_t count = (size_t)per_group * plane;
    for (int n = 0; n < x->n; n++)
        for (int g = 0; g < p->groups; g++) {
            /* A group's channels are contiguous in NCHW: one flat run. */
            const float *src = &x->host[md_tensor_at(x, n, g * per_group, 0, 0)];
            double mean = 0.0, var = 0.0;
            for (size_t i = 0; i < count; i++) mean += src[i];
            mean /= (double)count;
            for (size_t i = 0; i < count; i++) var += (src[i] - mean) * (src[i] - mean);
            var /= (double)count;
            float inv = (float)(1.0 / sqrt(var + p->eps));
            for (int cg = 0; cg < per_group; cg++) {
                int c = g * per_group + cg;
                for (size_t i = 0; i < plane; i++) {
                    size_t at = md_tensor_at(x, n, c, 0, 0) + i;
                    float v = ((float)(x->host[at] - mean)) * inv;
                    if (gamma) v *= gamma->host[c];
                    if (beta) v += beta->host[c];
                    y->host[at] = md_ref_epilogue(&p->ep, NULL, film, NULL, y, n, c, 0, 0, v);
                }
            }
        }
}

void md_ref_layer_norm(const md_tensor *x, const md_tensor *gamma, const md_tensor *beta,
                       float eps, md_tensor *y)
{
    size_t rows = (size_t)x->n * (size_t)x->c * (size_t)x->h;
    size_t d = (size_t)x->w;
    for (size_t r = 0; r < rows; r++) {
        const float *src = &x->host[r * d];
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < d; i++) mean += src[i];
        mean /= (double)d;
        for (size_t i = 0; i < d; i++) var += (src[i] - mean) * (src[i] - mean);
        var /= (double)d;
        float inv = (float)(1.0 / sqrt(var + eps));
        for (size_t i = 0; i < d; i++) {
            float v = (float)(src[i] - mean) * inv;
            if (gamma) v *= gamma->host[i];
            if (beta) v += beta->host[i];
            y->host[r * d + i] = v;
        }
    }
}
