/* Sample-rate conversion through libsoxr (high quality, linear phase). */
#ifndef MD_AUDIO_RESAMPLE_H
#define MD_AUDIO_RESAMPLE_H

#include <stddef.h>
#include "melodiff/context.h"

/* Resamples mono float audio from in_rate to out_rate into a malloc'd
 * buffer of round(n * out_rate / in_rate) samples. Equal rates copy. */
md_status md_resample(md_ctx *ctx, const float *in, size_t n, int in_rate, int out_rate,
                      float **out, size_t *out_n);

#endif
