/* Internal: the mel axis of the harmonic image (bin centres equally spaced
 * in mel, as librosa.mel_frequencies(n_mels + 2, fmin, fmax)[1:-1]). */
#ifndef MD_COND_MEL_AXIS_H
#define MD_COND_MEL_AXIS_H

#include "melodiff/mel.h"

typedef struct md_mel_axis {
    int n;          /* bins */
    int htk;        /* mel scale */
    double mel0;    /* mel of the first bin centre */
    double step;    /* mel between centres */
    double fmax;
} md_mel_axis;

/* 0 on success, -1 when the contract has no usable mel axis. */
int md_mel_axis_init(md_mel_axis *ax, const md_mel_contract *mc);

/* Centre frequency of bin i in Hz. */
double md_mel_axis_centre_hz(const md_mel_axis *ax, int i);

/* Where `hz` falls: bin i0 gets weight (1 - frac), bin i0 + 1 gets frac
 * (frac is 0 at the ends, where i0 + 1 may be out of range). */
void md_mel_axis_locate(const md_mel_axis *ax, double hz, int *i0, double *frac);

#endif
