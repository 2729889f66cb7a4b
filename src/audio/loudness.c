/* EBU R128 measurement and peak-limited normalisation gain. */
#include "audio/loudness.h"

#include <ebur128.h>
#include <math.h>

/* md_loudness_stream is never defined: a handle is libebur128's state itself. */

md_status md_loudness_stream_create(md_ctx *ctx, int rate, md_loudness_stream **out)
{
    *out = NULL;
    ebur128_state *st = ebur128_init(1, (unsigned long)rate,
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_SAMPLE_PEAK);
    if (!st) return md_fail(ctx, MD_ERR_NOMEM, "loudness: cannot initialise libebur128 at %d Hz", rate);
    *out = (md_loudness_stream *)st; /* the state is the stream; no wrapper allocation */
    return MD_OK;
}

md_status md_loudness_stream_add(md_ctx *ctx, md_loudness_stream *ls, const float *x, size_t n)
{
    ebur128_state *st = (ebur128_state *)ls;
    int err = EBUR128_SUCCESS;
    /* Feed in blocks: libebur128 takes a size_t count but keeps it modest
     * internally anyway. */
    for (size_t i = 0; i < n && err == EBUR128_SUCCESS; i += 65536)
        err = ebur128_add_frames_float(st, x + i, n - i < 65536 ? n - i : 65536);
    if (err != EBUR128_SUCCESS) return md_fail(ctx, MD_ERR_INTERNAL, "loudness: libebur128 error %d", err);
    return MD_OK;
}

md_status md_loudness_stream_finish(md_ctx *ctx, md_loudness_stream *ls, md_loudness *out)
{
    ebur128_state *st = (ebur128_state *)ls;
    double lufs = -HUGE_VAL, tp = 0, sp = 0;
    int err = ebur128_loudness_global(st, &lufs);
    if (err == EBUR128_SUCCESS) err = ebur128_true_peak(st, 0, &tp);
    if (err == EBUR128_SUCCESS) err = ebur128_sample_peak(st, 0, &sp);
    if (err != EBUR128_SUCCESS) return md_fail(ctx, MD_ERR_INTERNAL, "loudness: libebur128 error %d", err);
    out->integrated_lufs = lufs;
    out->true_peak = tp > sp ? tp : sp;
    out->sample_peak = sp;
    return MD_OK;
}

void md_loudness_stream_destroy(md_loudness_stream *ls)
{
    ebur128_state *st = (ebur128_state *)ls;
    if (st) ebur128_destroy(&st);
}

md_status md_loudness_measure(md_ctx *ctx, const float *x, size_t n, int rate, md_loudness *out)
{
    md_loudness_stream *ls = NULL;
    md_status s = md_loudness_stream_create(ctx, rate, &ls);
    if (s == MD_OK) s = md_loudness_stream_add(ctx, ls, x, n);
    if (s == MD_OK) s = md_loudness_stream_finish(ctx, ls, out);
    md_loudness_stream_destroy(ls);
    return s;
}

double md_loudness_gain_for(md_ctx *ctx, const md_loudness *l, double target_lufs)
{
    double g = 1.0;
    if (!isnan(target_lufs) && isfinite(l->integrated_lufs))
        g = pow(10.0, (target_lufs - l->integrated_lufs) / 20.0);
    double ceiling = pow(10.0, MD_LOUDNESS_PEAK_CEILING_DB / 20.0);
    if (l->true_peak * g > ceiling) {
        g = ceiling / l->true_peak;
        if (!isnan(target_lufs))
            md_log(ctx, MD_LOG_INFO, "loudness: gain limited by the -1 dBTP ceiling (reaches %.1f LUFS, "
                   "not %.1f)", l->integrated_lufs + 20.0 * log10(g), target_lufs);
    }
    return g;
}

md_status md_loudness_gain(md_ctx *ctx, const float *x, size_t n, int rate, double target_lufs,
                           double *gain, md_loudness *before)
{
    md_loudness l;
    md_status s = md_loudness_measure(ctx, x, n, rate, &l);
    if (s != MD_OK) return s;
    *gain = md_loudness_gain_for(ctx, &l, target_lufs);
    if (before) *before = l;
    return MD_OK;
}
