/* Phase-gradient heap integration (Prusa, Balazs, Sondergaard, "A
 * Noniterative Method for Reconstruction of Phase from STFT Magnitude",
 * IEEE/ACM TASLP 25(5), 2017).
 *
 * The phase derivatives of a Gaussian-window STFT follow from the gradient
 * of its log-magnitude; a Hann window is close enough to a Gaussian with
 * gamma = 0.25645 * win_length^2. Starting from the loudest coefficient, the
 * phase is integrated (trapezoidal rule) towards ever quieter neighbours,
 * taken from a max-heap; coefficients more than `tol` below the maximum get
 * phase 0 and are not integrated through.
 *
 * Layout matches md_stft: mag[t * bins + k], phase[t * bins + k], and the
 * phase refers to each frame's first sample (as our FFT of the frame does),
 * not to its centre. */
#ifndef MD_AUDIO_PGHI_H
#define MD_AUDIO_PGHI_H

#include <stddef.h>
#include "melodiff/context.h"

#define MD_PGHI_HANN_GAMMA 0.25645

/* phase receives frames * (n_fft/2 + 1) values in radians. tol_db is the
 * integration floor below the peak magnitude (e.g. 100 dB). */
md_status md_pghi(md_ctx *ctx, const float *mag, size_t frames, int n_fft, int hop,
                  int win_length, double tol_db, float *phase);

/* PGHI continuing known phases: frames [0, n_seed) take seed's phases
 * (same layout and convention as phase) and the integration starts from
 * them, so the other frames follow on from those instead of being
 * anchored at phase 0 at their loudest point (chunked vocoding uses this to
 * carry a chunk's phase into the next). */
md_status md_pghi_seeded(md_ctx *ctx, const float *mag, size_t frames, int n_fft, int hop,
                         int win_length, double tol_db, const float *seed, size_t n_seed, float *phase);

#endif
