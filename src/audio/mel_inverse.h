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

/* Runs the FISTA iterations for every frame at once (e.g. on a GPU:
 * md_gl_gpu_nnls): m is [frames][n_mels] (frame-major, clamped), s holds
 * each frame's start on entry and its solution on return, mom[it] is
 * iteration it's momentum and step the gradient step 1/L; a failure's
 * message goes to ctx. */
typedef md_status (*md_mel_iterate_fn)(void *user, md_ctx *ctx, const md_melbank *mb, const float *m, size_t frames,
                                       int iters, const float *mom, float step, float *s);

/* md_mel_to_linear with the iterations handed to `iterate` (NULL: here,
 * frame by frame, exactly md_mel_to_linear). The starts and the residual
 * are computed here either way. */
md_status md_mel_to_linear_with(md_ctx *ctx, const md_melbank *mb, const float *mel, size_t frames, int iters,
                                md_mel_iterate_fn iterate, void *user, float *mag, double *residual);

#endif
