/* Loudness (EBU R128 through libebur128) and a peak-safe gain.
 *
 * md_loudness_gain: with a target, the gain that brings the integrated
 * loudness to target LUFS; without one (isnan(target)), 1. Either way the
 * gain is then reduced so the true peak (libebur128's 4x oversampled
 * estimate) stays at or below -1 dBTP, so normalising never clips. */
#ifndef MD_AUDIO_LOUDNESS_H
#define MD_AUDIO_LOUDNESS_H

#include <stddef.h>
#include "melodiff/context.h"

#define MD_LOUDNESS_PEAK_CEILING_DB (-1.0)

typedef struct md_loudness {
    double integrated_lufs; /* -HUGE_VAL for silence */
    double true_peak;       /* linear, >= sample peak */
    double sample_peak;     /* linear */
} md_loudness;

md_status md_loudness_measure(md_ctx *ctx, const float *x, size_t n, int rate, md_loudness *out);

/* Streaming measurement, for audio that is never whole in memory: create,
 * add blocks in order, finish. The result equals md_loudness_measure on the
 * concatenated blocks. */
typedef struct md_loudness_stream md_loudness_stream;
md_status md_loudness_stream_create(md_ctx *ctx, int rate, md_loudness_stream **out);
md_status md_loudness_stream_add(md_ctx *ctx, md_loudness_stream *ls, const float *x, size_t n);
md_status md_loudness_stream_finish(md_ctx *ctx, md_loudness_stream *ls, md_loudness *out);
void md_loudness_stream_destroy(md_loudness_stream *ls);

/* The gain md_loudness_gain picks for audio measured as l. */
double md_loudness_gain_for(md_ctx *ctx, const md_loudness *l, double target_lufs);

/* target_lufs: NAN for "no loudness change, only keep the peak safe". */
md_status md_loudness_gain(md_ctx *ctx, const float *x, size_t n, int rate, double target_lufs,
                           double *gain, md_loudness *before);

#endif
