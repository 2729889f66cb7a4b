/* The Griffin-Lim vocoder: log-mel (under a mel contract) to waveform.
 * exp -> non-negative least-squares mel inversion -> fast Griffin-Lim with a
 * PGHI start. The one path `melodiff invert` and `melodiff render` share. */
#ifndef MD_VOCODER_GL_H
#define MD_VOCODER_GL_H

#include <stddef.h>

#include "audio/griffinlim.h"
#include "melodiff/mel.h"

/* logmel is [n_mels][T] row-major. Writes (T - 1) * hop samples at the
 * contract's sample rate into a malloc'd *y. final_sc may be NULL. */
md_status md_vocode_gl(md_ctx *ctx, const md_mel_contract *c, const float *logmel, size_t T,
                       const md_gl_params *gl, float **y, size_t *n, double *final_sc);

#endif
