#!/usr/bin/env python3
"""PyTorch peer for the refiner's render time: one U-Net forward of
1 x 5 x 128 x 256 (what one DDIM step of one 256-frame segment costs), timed
on the CPU with the same weights melodiff loads.

    tools/bench/bench_refiner_torch.py [--model models/refiner.safetensors]
                                       [--threads 1] [--forwards 20] [--segments 47]

Prints the time per forward and, for --segments (a render's sampled segment
count, render.json: segments - silent_segments summed over stems), the
sampling time PyTorch would need (BENCHMARKS.md, "The refiner")."""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from evaluate import load  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/refiner.safetensors")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--forwards", type=int, default=20)
    ap.add_argument("--segments", type=int, default=47)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, cfg = load(a.model, False)
    frames, mels = 256, cfg["n_mels"]
    x, harm = torch.randn(1, 1, mels, frames), torch.randn(1, mels, frames)
    roll = torch.zeros(1, cfg["n_pitches"], frames)
    t, inst = torch.full((1,), 0.1), torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        model(x, t, harm, roll, roll, inst)  # warm-up
        start = time.perf_counter()
        for _ in range(a.forwards):
            model(x, t, harm, roll, roll, inst)
        each = (time.perf_counter() - start) / a.forwards
    print(f"pytorch {torch.__version__}, {a.threads} thread(s): {1000 * each:.0f} ms a forward; "
          f"{a.segments} segments: {a.segments * each:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
