#!/usr/bin/env python3
"""Quality peer for `melodiff invert`: librosa.feature.inverse.mel_to_audio on
the same mel file (NNLS mel inversion + librosa's Griffin-Lim, 32 iterations,
momentum 0.99, random initial phase), written as a 44.1 kHz float WAV so
`melodiff analyze OUT --against REF` can score both the same way.

usage: invert_quality_librosa.py MEL.mel.safetensors OUT.wav
"""
import json
import sys
import time

import librosa
import numpy as np
import soundfile as sf
from safetensors import safe_open


def main():
    mel_path, out = sys.argv[1], sys.argv[2]
    with safe_open(mel_path, "np") as f:
        logmel = f.get_tensor("logmel")
        c = json.loads(f.metadata()["mel_contract"])
    M = np.exp(logmel.astype(np.float64))
    t0 = time.perf_counter()
    y = librosa.feature.inverse.mel_to_audio(
        M, sr=c["sample_rate"], n_fft=c["n_fft"], hop_length=c["hop"], win_length=c["win_length"],
        window="hann", center=True, pad_mode="constant", power=c["power"], n_iter=32,
        fmin=c["fmin"], fmax=c["fmax"], htk=c["mel_scale"] == "htk",
        norm="slaney" if c["mel_norm"] == "slaney" else None,
        length=(logmel.shape[1] - 1) * c["hop"])
    dt = time.perf_counter() - t0
    sf.write(out, y.astype(np.float32), c["sample_rate"], subtype="FLOAT")
    print(f"librosa {librosa.__version__} mel_to_audio: {dt:.2f} s for {logmel.shape[1]} frames")


if __name__ == "__main__":
    main()
