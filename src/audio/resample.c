/* Mono resampling with soxr's one-shot API. */
#include "audio/resample.h"

#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

md_status md_resample(md_ctx *ctx, const float *in, size_t n, int in_rate, int out_rate,
                      float **out, size_t *out_n)
{
    if (in_rate <= 0 || out_rate <= 0)
        return md_fail(ctx, MD_ERR_USAGE, "resample: invalid rates %d -> %d", in_rate, out_rate);
    size_t m = in_rate == out_rate ? n : (size_t)llround((double)n * out_rate / in_rate);
    float *y = malloc(sizeof(float) * (m ? m : 1));
    if (!y) return md_fail(ctx, MD_ERR_NOMEM, "resample: out of memory for %zu samples", m);
    if (in_rate == out_rate || n == 0) {
        if (n) memcpy(y, in, sizeof(float) * n);
        *out = y;
        *out_n = m;
        return MD_OK;
    }
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t done = 0;
    soxr_error_t e = soxr_oneshot(in_rate, out_rate, 1, in, n, NULL, y, m, &done, &io, &q, NULL);
    if (e) {
        free(y);
        return md_fail(ctx, MD_ERR_INTERNAL, "resample %d -> %d Hz failed: %s", in_rate, out_rate, e);
    }
    /* soxr may deliver a sample or two fewer than the exact ratio at the end. */
    for (size_t i = done; i < m; i++) y[i] = 0.0f;
    *out = y;
    *out_n = m;
    return MD_OK;
}
