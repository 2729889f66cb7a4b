/* Sample-rate conversion through libsoxr (high quality, linear phase). */
#ifndef MD_AUDIO_RESAMPLE_H
#define MD_AUDIO_RESAMPLE_H

#include <stddef.h>
#include "melodiff/context.h"

/* Resamples mono float audio from in_rate to out_rate into a malloc'd
 * buffer of round(n * out_rate / in_rate) samples. Equal rates copy. */
md_status md_resample(md_ctx *ctx, const float *in, size_t n, int in_rate, int out_rate,
                      float **out, size_t *out_n);

/* Streaming resampler (soxr, same quality as md_resample) for audio that
 * arrives in blocks. Each call hands the output produced so far to sink;
 * finish flushes soxr's delay line. The output length is soxr's (within a
 * sample or two of n * out / in); callers that need an exact length pad or
 * cut. Equal rates pass samples through unchanged. */
typedef md_status (*md_resample_sink)(void *user, const float *y, size_t n);
typedef struct md_resampler md_resampler;
md_status md_resampler_create(md_ctx *ctx, int in_rate, int out_rate, md_resample_sink sink, void *user,
                              md_resampler **out);
md_status md_resampler_push(md_resampler *r, const float *x, size_t n);
md_status md_resampler_finish(md_resampler *r);
void md_resampler_destroy(md_resampler *r);

#endif
