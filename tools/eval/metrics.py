"""Sound-quality figures of a render against a reference, as DESIGN.md defines
them. Every figure is computed over the time both files cover (the shorter
length), at 44.1 kHz mono, after scaling the file under test to the
reference's RMS (level_match).

- lsd_db: log-spectral distance on a 128-band mel power spectrogram (n_fft
  2048, hop 512). Each file's dB is floored at 80 dB below the louder file's
  peak; per frame, the RMS dB difference over bands; averaged over frames in
  which at least one file sounds (frame peak above the floor + 20 dB), so
  digital silence at both ends does not flatter the score. Lower is better.
- mrstft: multi-resolution STFT distance: mean |ln|X| - ln|Y|| at n_fft 512,
  1024, 2048 (hop n_fft/4), averaged over the three; magnitudes are floored
  at 80 dB below the louder file's peak (as for LSD), so inaudible noise in
  silent bins does not dominate the figure.
- chroma: mean per-frame cosine similarity of 12-bin chroma over frames where
  the reference sounds. 1 is perfect.
- note_f1: onset-only note F1 (onset within 50 ms, same pitch) of a
  basic-pitch transcription of the audio against the MIDI notes.
"""
import numpy as np

SR = 44100
FLOOR_DB = 80.0


def load(path, sr=SR):
    import librosa
    y, _ = librosa.load(path, sr=sr, mono=True)
    return y.astype(np.float32)


def level_match(ref, test):
    """Scales test to the reference's RMS over their common length. Renders are
    loudness-normalised (melodiff render --lufs) and references are not, so
    every system, baselines included, is compared at the reference's level:
    the figures measure the synthesis, not the output gain."""
    r, t = _common(ref, test)
    rt = float(np.sqrt(np.mean(t.astype(np.float64) ** 2)))
    rr = float(np.sqrt(np.mean(r.astype(np.float64) ** 2)))
    return test * (rr / rt) if rt > 0 else test


def _common(a, b):
    n = min(len(a), len(b))
    return a[:n], b[:n]


def _mel_db(y):
    import librosa
    m = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=128, power=2.0)
    return 10.0 * np.log10(np.maximum(m, 1e-20))


def lsd_db(ref, test):
    ref, test = _common(ref, test)
    a, b = _mel_db(ref), _mel_db(test)
    peak = max(a.max(), b.max())
    floor = peak - FLOOR_DB
    a, b = np.maximum(a, floor), np.maximum(b, floor)
    sounding = (a.max(axis=0) > floor + 20) | (b.max(axis=0) > floor + 20)
    if not sounding.any():
        return 0.0
    per_frame = np.sqrt(np.mean((a - b) ** 2, axis=0))
    return float(per_frame[sounding].mean())


def mrstft(ref, test):
    import librosa
    ref, test = _common(ref, test)
    out = []
    for n_fft in (512, 1024, 2048):
        x = np.abs(librosa.stft(ref, n_fft=n_fft, hop_length=n_fft // 4))
        y = np.abs(librosa.stft(test, n_fft=n_fft, hop_length=n_fft // 4))
        floor = max(x.max(), y.max(), 1e-12) * 10 ** (-FLOOR_DB / 20)
        out.append(np.mean(np.abs(np.log(np.maximum(x, floor)) - np.log(np.maximum(y, floor)))))
    return float(np.mean(out))


def chroma(ref, test):
    import librosa
    ref, test = _common(ref, test)
    a = librosa.feature.chroma_stft(y=ref, sr=SR, n_fft=4096, hop_length=512)
    b = librosa.feature.chroma_stft(y=test, sr=SR, n_fft=4096, hop_length=512)
    rms = librosa.feature.rms(y=ref, frame_length=4096, hop_length=512)[0]
    n = min(a.shape[1], b.shape[1], len(rms))
    a, b, rms = a[:, :n], b[:, :n], rms[:n]
    sounding = rms > rms.max() * 10 ** (-40 / 20)
    num = (a * b).sum(axis=0)
    den = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0) + 1e-12
    return float((num / den)[sounding].mean()) if sounding.any() else 0.0


def transcribe(path):
    """basic-pitch note events as (onset_s, pitch) pairs, or None when
    basic-pitch is not installed."""
    try:
        from basic_pitch.inference import predict
    except Exception:
        return None
    _, _, events = predict(path)
    return [(float(e[0]), int(e[2])) for e in events]


def note_f1(est, ref, tol=0.05):
    """Onset-only F1 with greedy one-to-one matching by pitch and onset."""
    if not ref and not est:
        return 1.0
    used = [False] * len(est)
    hits = 0
    for r_on, r_p in sorted(ref):
        best, best_d = -1, tol
        for i, (e_on, e_p) in enumerate(est):
            if used[i] or e_p != r_p:
                continue
            d = abs(e_on - r_on)
            if d <= best_d:
                best, best_d = i, d
        if best >= 0:
            used[best] = True
            hits += 1
    p = hits / len(est) if est else 0.0
    r = hits / len(ref) if ref else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0
