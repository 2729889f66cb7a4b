/* Distances between two log-mel spectrograms of the same contract (used by
 * `melodiff analyze --against` and evaluation).
 *
 * lsd_db: log-spectral distance on the mel power spectrogram, as DESIGN.md
 *   defines it: per frame sqrt(mean over bands of (dB_a - dB_b)^2), each dB
 *   value floored at 80 dB below the louder file's peak, averaged over the
 *   frames both files have.
 * mean_abs_db: mean |dB_a - dB_b| over the same cells (a gentler summary). */
#ifndef MD_AUDIO_MELDIST_H
#define MD_AUDIO_MELDIST_H

#include <stddef.h>

typedef struct md_meldist {
    double lsd_db;
    double mean_abs_db;
    size_t frames; /* frames compared: min of both */
} md_meldist;

/* a: [n_mels, frames_a], b: [n_mels, frames_b], natural-log mel magnitudes. */
void md_meldist_compute(const float *a, size_t frames_a, const float *b, size_t frames_b,
                        int n_mels, md_meldist *out);

#endif
