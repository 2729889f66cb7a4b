/* Mel -> linear-frequency magnitude by non-negative least squares.
 *
 * For each frame, find s >= 0 minimising ||W s - m||^2 (W the n_mels x bins
 * filterbank). The system is underdetermined above a few hundred Hz, so the
 * start point picks the solution: the minimum-norm pseudo-inverse
 * s0 = W^T (W W^T + eps I)^-1 m, clamped at 0. From there, accelerated
 * projected gradient (FISTA with step 1/L, L = largest eigenvalue of W W^T,
 * projection = clamp at 0) removes the error the clamp introduced, which
 * is large around strong low partials where neighbouring mel bands overlap. */
#ifndef MD_AUDIO_MEL_INVERSE_H
#define MD_AUDIO_MEL_INVERSE_H

#include <stddef.h>
#include "audio/melbank.h"

#define MD_MEL_INVERSE_DEFAULT_ITERS 60

/* mel: [n_mels, frames] (mel-major, linear, non-negative); mag receives
 * frames * bins (frame-major, md_stft layout). residual (may be NULL)
 * receives ||W s - m||_F / ||m||_F over all frames. */
md_status md_mel_to_linear(md_ctx *ctx, const md_melbank *mb, const float *mel, size_t frames,
                           int iters, float *mag, double *residual);

#endif
