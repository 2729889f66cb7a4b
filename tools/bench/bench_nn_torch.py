#!/usr/bin/env python3
"""PyTorch peer of benchmarks/bench_nn_conv.c: the same conv2d shapes (3x3,
padding 1, bias, SiLU fused in the C/GPU kernel, a separate op here), fp32,
N = 1, on the CPU.

    python3 tools/bench/bench_nn_torch.py [--reps N] [--threads T] [--case single|unet|all]
    python3 tools/bench/bench_nn_torch.py --write-unet M.safetensors   # default-config random weights
    python3 tools/bench/bench_nn_torch.py --unet M.safetensors [--frames 256]

The last form times one forward pass of tools/train/model.py's U-Net with the
weights of M, the peer of benchmarks/bench_nn_unet.c.

--threads defaults to what lavapipe uses in the same run: $LP_NUM_THREADS if
set, else one thread per core (os.cpu_count()). Prints best and mean wall
time, GFLOP/s of the best, and GFLOP per CPU-second (process CPU time, all
threads), the steadier figure on a shared machine.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

SINGLE = [(64, 64, 128, 256)]
# Must match `unet` in benchmarks/bench_nn_conv.c: (cin, cout, h, w).
UNET = [
    (8, 64, 128, 256), (64, 64, 128, 256), (64, 64, 128, 256),
    (64, 128, 64, 128), (128, 128, 64, 128),
    (128, 256, 32, 64), (256, 256, 32, 64),
    (256, 256, 16, 32), (256, 256, 16, 32),
    (512, 256, 32, 64), (256, 128, 32, 64),
    (256, 128, 64, 128), (128, 64, 64, 128),
    (128, 64, 128, 256), (64, 64, 128, 256),
]


def flops(layers):
    return sum(2.0 * ci * co * 9 * h * w for ci, co, h, w in layers)


def run_case(layers, reps):
    gen = torch.Generator().manual_seed(0)
    tensors = []
    for ci, co, h, w in layers:
        x = (torch.rand(1, ci, h, w, generator=gen) - 0.5) * 0.2
        wt = (torch.rand(co, ci, 3, 3, generator=gen) - 0.5) * 0.2
        b = (torch.rand(co, generator=gen) - 0.5) * 0.2
        tensors.append((x, wt, b))

    def one_pass():
        for x, wt, b in tensors:
            F.silu(F.conv2d(x, wt, b, padding=1))

    with torch.inference_mode():
        one_pass()  # warm-up (allocator, oneDNN primitive creation)
        best, total = float("inf"), 0.0
        c0 = time.process_time()
        for _ in range(reps):
            t0 = time.perf_counter()
            one_pass()
            dt = time.perf_counter() - t0
            best = min(best, dt)
            total += dt
        cpu = (time.process_time() - c0) / reps
    return best, total / reps, cpu


def _train_modules():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
    import export
    import model
    return export, model


def write_unet(path):
    """A default-config U-Net with PyTorch's default random init, saved the
    way export.py saves a trained one."""
    export, model = _train_modules()
    torch.manual_seed(0)
    m = model.UNet(model.make_config())
    meta = export.model_metadata(m.cfg, export.default_mel_contract_json(),
                                 {"note": "random weights for benchmarks (bench_nn_torch.py --write-unet)"})
    export.save_model(path, export.state_tensors(m.state_dict()), meta, force=True)
    print(f"wrote {path}: {model.count_params(m)} parameters")


def bench_unet(path, frames, reps):
    from safetensors.torch import load_file
    from safetensors import safe_open
    _, model = _train_modules()
    with safe_open(path, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
    m = model.UNet(cfg)
    m.load_state_dict(load_file(path))
    m.eval()
    n_mels = cfg["n_mels"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, n_mels, frames, generator=g)
    zeros = torch.zeros(1, 128, frames)
    harm = torch.zeros(1, n_mels, frames)
    t = torch.tensor([0.5])
    inst = torch.tensor([0])
    with torch.inference_mode():
        t0 = time.perf_counter()
        m(x, t, harm, zeros, zeros, inst)
        first = time.perf_counter() - t0
        best, total, c0 = float("inf"), 0.0, time.process_time()
        for _ in range(reps):
            t0 = time.perf_counter()
            m(x, t, harm, zeros, zeros, inst)
            dt = time.perf_counter() - t0
            best, total = min(best, dt), total + dt
        cpu = (time.process_time() - c0) / reps
    print(f"{'torch':26} frames {frames:4d}  first {first * 1e3:8.1f} ms  best {best * 1e3:8.1f} ms  "
          f"mean {total / reps * 1e3:8.1f} ms  cpu {cpu * 1e3:8.1f} ms/pass")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    default_threads = int(os.environ.get("LP_NUM_THREADS", 0)) or os.cpu_count()
    ap.add_argument("--threads", type=int, default=default_threads)
    ap.add_argument("--case", default="all", choices=["single", "unet", "all"])
    ap.add_argument("--write-unet", metavar="M", help="write a default-config random-weight U-Net model and exit")
    ap.add_argument("--unet", metavar="M", help="time one U-Net forward pass with the weights of M")
    ap.add_argument("--frames", type=int, default=256)
    args = ap.parse_args()
    if args.write_unet:
        write_unet(args.write_unet)
        return
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, reps {args.reps}")
    if args.unet:
        bench_unet(args.unet, args.frames, max(1, args.reps))
        return
    print(f"{'peer':7} {'case':34} {'GFLOP':>10} {'best ms':>10} {'mean ms':>10} {'GFLOP/s':>9} {'GFLOP/cpu-s':>11}")
    cases = [("single", "conv3x3 64->64 @128x256", SINGLE),
             ("unet", "U-Net 3x3 stack (15 convs)", UNET)]
    for key, name, layers in cases:
        if args.case not in ("all", key):
            continue
        best, mean, cpu = run_case(layers, max(1, args.reps))
        gf = flops(layers) / 1e9
        print(f"{'torch':7} {name:34} {gf:10.3f} {best * 1e3:10.1f} {mean * 1e3:10.1f} {gf / best:9.2f} {gf / cpu:11.2f}")


if __name__ == "__main__":
    main()
