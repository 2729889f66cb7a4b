#!/usr/bin/env python3
"""Peer for benchmarks/bench_gpu_runtime.c: PyTorch eager on the CPU running
the same chain of N small adds (x = x + ones, 1024 floats), timed per run.
This is the per-op overhead a framework pays where melodiff replays a
recorded Vulkan command list.

    python3 tools/bench/bench_gpu_runtime_torch.py [--ops 200] [--reps 50] [--elems 1024] [--threads 2]
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--elems", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ones = torch.ones(a.elems)
    out = torch.empty(a.elems)

    def run():
        x = torch.zeros(a.elems)
        for _ in range(a.ops):
            torch.add(x, ones, out=out)
            x, _unused = out, x
        return x

    run()
    t0 = time.perf_counter()
    for _ in range(a.reps):
        run()
    t = (time.perf_counter() - t0) / a.reps
    print(f"torch {torch.__version__} eager CPU ({a.threads} threads): chain of {a.ops} adds ({a.elems} elems) "
          f"{t * 1e3:.3f} ms per run ({t * 1e6 / a.ops:.2f} us per op)")


if __name__ == "__main__":
    main()
