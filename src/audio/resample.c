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

struct md_resampler {
    md_ctx *ctx;
    soxr_t sx; /* NULL for equal rates */
    md_resample_sink sink;
    void *user;
    float buf[8192];
    double ratio;
};

md_status md_resampler_create(md_ctx *ctx, int in_rate, int out_rate, md_resample_sink sink, void *user,
                              md_resampler **out)
{
    *out = NULL;
    if (in_rate <= 0 || out_rate <= 0)
        return md_fail(ctx, MD_ERR_USAGE, "resample: invalid rates %d -> %d", in_rate, out_rate);
    md_resampler *r = calloc(1, sizeof *r);
    if (!r) return md_fail(ctx, MD_ERR_NOMEM, "resample: out of memory");
    r->ctx = ctx, r->sink = sink, r->user = user, r->ratio = (double)out_rate / in_rate;
    if (in_rate != out_rate) {
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        soxr_error_t e = NULL;
        r->sx = soxr_create(in_rate, out_rate, 1, &e, &io, &q, NULL);
        if (!r->sx || e) {
            free(r);
            return md_fail(ctx, MD_ERR_INTERNAL, "resample %d -> %d Hz: %s", in_rate, out_rate, e ? e : "soxr_create");
        }
    }
    *out = r;
    return MD_OK;
}

/* Feeds x (NULL: end of input) and drains whatever soxr has ready. */
static md_status feed(md_resampler *r, const float *x, size_t n)
{
    size_t used = 0;
    for (;;) {
        size_t in_done = 0, out_done = 0;
        soxr_error_t e = soxr_process(r->sx, x ? x + used : NULL, x ? n - used : 0, &in_done, r->buf,
                                      sizeof r->buf / sizeof r->buf[0], &out_done);
        if (e) return md_fail(r->ctx, MD_ERR_INTERNAL, "resample: %s", e);
        used += in_done;
        if (out_done) {
            md_status s = r->sink(r->user, r->buf, out_done);
            if (s) return s;
        }
        if (out_done == 0 && (!x || used >= n)) return MD_OK;
    }
}

md_status md_resampler_push(md_resampler *r, const float *x, size_t n)
{
    if (!n) return MD_OK;
    return r->sx ? feed(r, x, n) : r->sink(r->user, x, n);
}

md_status md_resampler_finish(md_resampler *r)
{
    return r->sx ? feed(r, NULL, 0) : MD_OK;
}

void md_resampler_destroy(md_resampler *r)
{
    if (!r) return;
    if (r->sx) soxr_delete(r->sx);
    free(r);
}
