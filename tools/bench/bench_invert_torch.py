#!/usr/bin/env python3
"""Peer for benchmarks/bench_invert.c: torchaudio's Griffin-Lim on the same
magnitude, same settings (n_fft 2048, hop 512, periodic Hann, power 1,
32 iterations, momentum 0.99, random initial phase).

Reads the dump bench_invert writes (tensor "mag" [1025, frames] and our two
outputs), times torchaudio.transforms.GriffinLim (median of --runs after one
warm-up) and prints wall time and final spectral convergence
||S - |STFT(x)|||_F / ||S||_F, where STFT uses zero (constant) centre padding
as the magnitude itself was made. Our outputs are re-measured the same way, so
both programs' convergence numbers come from one implementation.
"""
import argparse
import statistics
import time

import torch
from safetensors.torch import load_file

# The installed torchaudio wheel was built against another CUDA minor version
# than torch and refuses to import; the check is irrelevant on a CPU, so it is
# skipped by hiding torch's CUDA version during the import only.
_cuda = torch.version.cuda
torch.version.cuda = None
import torchaudio  # noqa: E402

torch.version.cuda = _cuda

N_FFT, HOP = 2048, 512


def spectral_convergence(S, x):
    X = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), center=True,
                   pad_mode="constant", return_complex=True).abs()
    frames = min(S.shape[1], X.shape[1])
    S, X = S[:, :frames], X[:, :frames]
    return (torch.linalg.norm(S - X) / torch.linalg.norm(S)).item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=5, help="seeds for the SC mean/range")
    args = ap.parse_args()
    d = load_file(args.dump)
    S = d["mag"]
    iters = 32
    length = (S.shape[1] - 1) * HOP
    gl = torchaudio.transforms.GriffinLim(n_fft=N_FFT, n_iter=iters, win_length=N_FFT, hop_length=HOP,
                                          window_fn=torch.hann_window, power=1.0, momentum=0.99,
                                          length=length, rand_init=True)
    torch.manual_seed(0)
    with torch.inference_mode():
        gl(S)  # warm-up
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            y = gl(S)
            times.append(time.perf_counter() - t0)
        sc = spectral_convergence(S, y)
        print(f"torchaudio {torchaudio.__version__} (torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads) GriffinLim init=random iters={iters}  "
              f"wall median {statistics.median(times):.3f} s (min {min(times):.3f}, {args.runs} runs)  "
              f"final SC {sc:.4f}")
        if args.seeds > 1:
            scs = [sc]
            for k in range(2, args.seeds + 1):
                torch.manual_seed(k)
                scs.append(spectral_convergence(S, gl(S)))
            print(f"torchaudio init=random over {args.seeds} seeds: final SC mean "
                  f"{statistics.mean(scs):.4f} (range {min(scs):.4f}..{max(scs):.4f})")
        for name in ("melodiff_random", "melodiff_pghi"):
            print(f"cross-check: {name} output re-measured with torch.stft: SC "
                  f"{spectral_convergence(S, d[name]):.4f}")


if __name__ == "__main__":
    main()
