#!/usr/bin/env python3
"""Reference harmonic-image columns for tests/test_cond_build.c.

An independent implementation of the harmonic image of include/melodiff/cond.h
(numpy + librosa.mel_frequencies), written from the header's text: one
sounding key at a velocity, its harmonics k = 1..16 with k*f0 < fmax, weight
(velocity/127)/k split linearly by mel distance between the two neighbouring
mel bin centres, clipped to 1. Usage:
  tools/midi/make_cond_fixture.py > tests/fixtures/midi/cond_harmonic_ref.json
"""
import json
import sys

import librosa
import numpy as np

SR, N_MELS, FMIN, FMAX = 44100, 128, 0.0, 22050.0
KEYS = [21, 33, 40, 60, 69, 84, 100, 108, 127]
VELOCITY = 100


def column(key, velocity):
    centres = librosa.mel_frequencies(N_MELS + 2, fmin=FMIN, fmax=FMAX, htk=False)[1:-1]
    cm = librosa.hz_to_mel(centres, htk=False)
    col = np.zeros(N_MELS)
    f0 = 440.0 * 2.0 ** ((key - 69) / 12.0)
    for k in range(1, 17):
        if k * f0 >= FMAX:
            break
        m = librosa.hz_to_mel(k * f0, htk=False)
        amp = velocity / 127.0 / k
        if m <= cm[0]:
            col[0] += amp
        elif m >= cm[-1]:
            col[-1] += amp
        else:
            i = int(np.searchsorted(cm, m, side="right") - 1)
            frac = (m - cm[i]) / (cm[i + 1] - cm[i])
            col[i] += amp * (1 - frac)
            col[i + 1] += amp * frac
    return np.minimum(col, 1.0)


def main():
    out = {
        "generator": "tools/midi/make_cond_fixture.py",
        "n_mels": N_MELS, "fmin": FMIN, "fmax": FMAX, "velocity": VELOCITY,
        "columns": [{"key": k, "harmonic": [round(float(v), 7) for v in column(k, VELOCITY)]} for k in KEYS],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
