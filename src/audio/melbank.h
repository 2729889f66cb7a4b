/* Mel filterbank, identical to librosa.filters.mel (float64 maths, float32
 * weights): triangular filters on the Slaney or HTK mel scale, optionally
 * area-normalised (norm="slaney"). Rows are stored sparsely (each filter is
 * non-zero on one contiguous run of FFT bins). */
#ifndef MD_AUDIO_MELBANK_H
#define MD_AUDIO_MELBANK_H

#include <stddef.h>
#include "melodiff/context.h"

typedef struct md_melbank {
    int n_mels, bins;
    int *start, *len;   /* per mel row: first non-zero bin and run length */
    size_t *offset;     /* per row: index of its first weight in w */
    float *w;           /* the non-zero weights, row after row */
} md_melbank;

md_status md_melbank_create(md_ctx *ctx, int sample_rate, int n_fft, int n_mels, double fmin,
                            double fmax, int htk, int slaney_norm, md_melbank **out);
void md_melbank_destroy(md_melbank *mb);

/* Dense copy, n_mels x bins row-major (for tests and the pseudo-inverse). */
void md_melbank_dense(const md_melbank *mb, float *out);

/* mel[m] = sum_k W[m,k] * spec[k] for one frame of `bins` values. */
void md_melbank_apply(const md_melbank *mb, const float *spec, float *mel);

/* spec[k] = sum_m W[m,k] * mel[m] (the transpose, used by mel inversion). */
void md_melbank_apply_t(const md_melbank *mb, const float *mel, float *spec);

#endif
