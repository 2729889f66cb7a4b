/* Short-time Fourier transform on FFTW (single precision, r2c/c2r).
 *
 * An md_stft handle makes its FFTW plans once and reuses them for every frame
 * and every call, so Griffin-Lim's hundreds of transforms cost no planning.
 * Layout: a spectrogram is frame-major, spec[t * bins + k] with bins =
 * n_fft/2 + 1, each value a complex float pair (re, im).
 * Window: periodic Hann of win_length, zero-padded (centred) to n_fft.
 * Centre mode pads the signal with n_fft/2 zeros on each side (librosa's
 * center=True, pad_mode="constant"); frame t is centred on sample t*hop.
 * A handle is not thread-safe; use one per thread (creating handles from
 * several threads at once is safe). */
#ifndef MD_AUDIO_STFT_H
#define MD_AUDIO_STFT_H

#include <stddef.h>
#include "melodiff/context.h"

typedef struct md_stft md_stft;

md_status md_stft_create(md_ctx *ctx, int n_fft, int hop, int win_length, int center,
                         md_stft **out);
void md_stft_destroy(md_stft *s);

int md_stft_bins(const md_stft *s);
int md_stft_n_fft(const md_stft *s);
int md_stft_hop(const md_stft *s);
int md_stft_win_length(const md_stft *s);
int md_stft_center(const md_stft *s);
/* The analysis window, n_fft values (zero outside the centred win_length). */
const float *md_stft_window(const md_stft *s);

/* Frames for n samples: centre mode 1 + n/hop; otherwise 1 + (n - n_fft)/hop
 * (0 when n < n_fft). */
size_t md_stft_frames(const md_stft *s, size_t n_samples);

/* spec receives frames * bins complex values (2 floats each). */
md_status md_stft_forward(md_stft *s, const float *x, size_t n, float *spec);

/* Magnitude only: mag receives frames * bins floats. */
md_status md_stft_magnitude(md_stft *s, const float *x, size_t n, float *mag);

/* Inverse with window-sum normalisation (overlap-add of window * ifft divided
 * by the sum of squared windows wherever that sum is not negligible).
 * Writes exactly n samples (the length of the original signal). */
md_status md_istft(md_stft *s, const float *spec, size_t frames, float *y, size_t n);

/* The same transforms in parts, so frames can be split across threads (one
 * md_stft per thread; all must have the same parameters).
 * md_stft_forward_range: frames [t0, t1) of md_stft_forward (spec indexed
 *   by absolute frame).
 * md_istft_prepare: sizes this handle's scratch for (frames, n).
 * md_istft_accumulate: overlap-adds frames [t0, t1) into this handle's own
 *   buffer (zeroing only the samples they cover).
 * md_istft_finish: y[i] for i in [i0, i1) = sum of the parts' buffers
 *   (those that cover the sample) * the window-sum reciprocal.
 * md_istft is prepare + accumulate(all) + finish(all) on one handle. */
md_status md_stft_forward_range(md_stft *s, const float *x, size_t n, float *spec, size_t t0,
                                size_t t1);
/* The inverse's layout, for other engines that must divide exactly alike
 * (src/audio/griffinlim_gpu.c): the synthesis window (window / n_fft, c2r
 * being unnormalised), the padded span the overlap-add covers for (frames,
 * n), and over it the reciprocal of the window-square sum (0 where that sum
 * is negligible). */
const float *md_stft_synthesis_window(const md_stft *s);
size_t md_stft_padded_span(const md_stft *s, size_t frames, size_t n);
void md_stft_window_sum_inv(const md_stft *s, size_t frames, size_t total, float *out);
md_status md_istft_prepare(md_stft *s, size_t frames, size_t n);
void md_istft_accumulate(md_stft *s, const float *spec, size_t t0, size_t t1);
void md_istft_finish(md_stft *const *parts, int n_parts, float *y, size_t i0, size_t i1);

#endif
