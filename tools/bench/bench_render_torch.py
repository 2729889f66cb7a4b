#!/usr/bin/env python3
"""PyTorch peer of benchmarks/bench_render.c: the sampling stage of a render.

    python3 tools/bench/bench_render_torch.py DUMP.safetensors --model M.safetensors [--threads T]

DUMP is written by `bench_render --torch`: the conditioning planes of every
segment melodiff sampled (harm [S][n_mels][F], roll and onset [S][128][F],
instrument [S]), the sampler settings (metadata steps, guidance, sampler),
melodiff's own numbers (metadata "melodiff", its JSON line) and, with
--check, one captured sampler input (check_x, check_t) with melodiff's v on
both backends (v_{vulkan,cpu}_{cond,uncond}).

This script loads the SAME weights into tools/train/model.py's UNet (config
from the file's metadata) and runs the SAME sampler (tools/train/diffusion.py
dpmpp_2m_sample or ddim_sample) with the same steps and guidance on every
segment, one segment of F frames at a time (batch 1, as melodiff), so both
make the same number of U-Net forwards of the same shape. Differences, all
outside the U-Net: the initial noise is torch.randn (melodiff: its
counter-based generator), and segments after the first do not hold their
overlap to the previous segment (melodiff's stitching adds a few elementwise
operations per step). Conditioning is melodiff's, so its cost is not in
these numbers; compare with melodiff's "conditioning + sampling" stage
(conditioning there is < 0.1% of the stage).

Threads: --threads defaults to what lavapipe uses in the same run,
$LP_NUM_THREADS if set, else one per core (os.cpu_count()). --also-threads
1 repeats the sampling single-threaded: on a machine that other jobs keep
busy, two OpenMP threads that wait for each other can be several times
slower than one (bench_render passes it; see BENCHMARKS.md, render section).
Prints a table and a line `JSON {...}`.
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import diffusion  # noqa: E402
import model as model_mod  # noqa: E402


class TimedModel:
    """Calls the U-Net and records the wall time of every forward."""

    def __init__(self, net, device):
        self.net, self.device = net, device
        self.times, self.cpu = [], 0.0

    def __call__(self, *args):
        t0, c0 = time.perf_counter(), time.process_time()
        out = self.net(*args)
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # kernels are asynchronous: time the finished forward
        self.times.append(time.perf_counter() - t0)
        self.cpu += time.process_time() - c0
        return out


def load_unet(path):
    with safe_open(path, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
    net = model_mod.UNet(cfg)
    net.load_state_dict(load_file(path))
    return net.eval(), cfg


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def sample_all(timed, d, meta, n_mels):
    """Every segment through the sampler; returns (wall s, process CPU s)."""
    steps, guidance = int(meta["steps"]), float(meta["guidance"])
    gi = meta.get("guidance_interval", "all")  # "lo,hi" or "all", as the render used
    interval = None if gi == "all" else tuple(float(v) for v in gi.split(","))
    sampler = diffusion.ddim_sample if meta["sampler"] == "ddim" else diffusion.dpmpp_2m_sample
    n_seg, frames = d["harm"].shape[0], d["harm"].shape[2]
    gen = torch.Generator().manual_seed(0)
    dev = timed.device
    w0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for i in range(n_seg):
            cond = {"harm": d["harm"][i:i + 1], "roll": d["roll"][i:i + 1], "onset": d["onset"][i:i + 1],
                    "instrument": d["instrument"][i:i + 1].long()}
            cond = {k: v.to(dev) for k, v in cond.items()}  # on a GPU the sampler runs there too
            x_T = torch.randn((1, 1, n_mels, frames), generator=gen).to(dev)
            sampler(timed, cond, x_T.shape, steps=steps, guidance=guidance, x_T=x_T, guide_interval=interval)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - w0, time.process_time() - c0


def check(net, d):
    """torch's v on melodiff's captured input, against both melodiff backends."""
    dev = next(net.parameters()).device
    x = d["check_x"][None, None].to(dev)
    t = d["check_t"].to(dev)
    cond = {"harm": d["harm"][0:1], "roll": d["roll"][0:1], "onset": d["onset"][0:1],
            "instrument": d["instrument"][0:1].long()}
    cond = {k: v.to(dev) for k, v in cond.items()}
    out = {}
    with torch.inference_mode():
        for name, c in (("cond", cond), ("uncond", diffusion.null_conditioning(cond))):
            v = net(x, t, c["harm"], c["roll"], c["onset"], c["instrument"])[0, 0].cpu()
            for backend in ("vulkan", "cpu"):
                key = f"v_{backend}_{name}"
                if key in d:
                    out[f"maxdiff_torch_{backend}_{name}"] = float((v - d[key]).abs().max())
            out[f"maxabs_v_{name}"] = float(v.abs().max())
    return out


def timed_run(net, d, meta, n_mels, threads, mel):
    """The whole sampling stage with `threads` threads; prints and returns its numbers."""
    timed = TimedModel(net, next(net.parameters()).device)
    l0 = loadavg()
    wall, cpu = sample_all(timed, d, meta, n_mels)
    ts = timed.times
    mean, cpu_fw = sum(ts) / len(ts), timed.cpu / len(ts)
    print(f"  torch.set_num_threads({threads}): sampling (all segments) wall {wall:8.3f} s, process CPU {cpu:8.1f} s, "
          f"load average {l0:.2f} before, {loadavg():.2f} after")
    print(f"    U-Net forwards {len(ts)}: mean {mean * 1e3:.1f} ms, min {min(ts) * 1e3:.1f} ms, "
          f"first {ts[0] * 1e3:.1f} ms; process CPU {cpu_fw * 1e3:.1f} ms per forward")
    if mel.get("t_sample"):
        print(f"    melodiff {mel['backend']} in the same run: conditioning + sampling {mel['t_sample']:.3f} s, "
              f"{mel['forwards']} forwards, mean {mel['unet_ms_mean']:.1f} ms "
              f"-> melodiff / torch = {mel['t_sample'] / wall:.2f}x (sampling wall), "
              f"{mel['unet_ms_mean'] / (mean * 1e3):.2f}x (mean forward), "
              f"{mel['unet_cpu_ms_mean'] / (cpu_fw * 1e3):.2f}x (CPU per forward)")
    return {"forwards": len(ts), "t_sample": wall, "cpu_seconds": cpu, "unet_ms_mean": mean * 1e3,
            "unet_ms_min": min(ts) * 1e3, "unet_ms_first": ts[0] * 1e3, "unet_cpu_ms_mean": cpu_fw * 1e3}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump")
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default=os.environ.get("MELODIFF_TORCH_DEVICE", "cpu"),
                    help="cpu or cuda (default $MELODIFF_TORCH_DEVICE, else cpu): the peer of a "
                         "GPU render is PyTorch on the same GPU")
    ap.add_argument("--also-threads", type=int, nargs="*", default=[],
                    help="repeat the sampling with these thread counts (reported apart)")
    args = ap.parse_args(argv)
    lp = os.environ.get("LP_NUM_THREADS")
    threads = args.threads or (int(lp) if lp else os.cpu_count())
    torch.set_num_threads(threads)

    d = load_file(args.dump)
    with safe_open(args.dump, "pt") as f:
        meta = f.metadata()
    mel = json.loads(meta.get("melodiff", "{}"))
    net, cfg = load_unet(args.model)
    dev = torch.device(args.device)
    net = net.to(dev)
    if dev.type == "cuda":  # warm-up: cuDNN picks its kernels on the first calls
        with torch.inference_mode():
            x = torch.randn(1, 1, cfg["n_mels"], d["harm"].shape[2], device=dev)
            z = torch.zeros(1, d["harm"].shape[1], d["harm"].shape[2], device=dev)
            r = torch.zeros(1, 128, d["harm"].shape[2], device=dev)
            for _ in range(3):
                net(x, torch.tensor([0.5], device=dev), z, r, r, torch.zeros(1, dtype=torch.long, device=dev))
        torch.cuda.synchronize()
    n_seg, frames = d["harm"].shape[0], d["harm"].shape[2]
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"\nPyTorch {torch.__version__} peer ({where}, torch.set_num_threads({threads}); "
          f"LP_NUM_THREADS={lp or 'unset'}): {n_seg} segments x {frames} frames, "
          f"{meta['sampler']} {meta['steps']} steps, guidance {meta['guidance']}")

    res = check(net, d) if "check_x" in d else {}
    for k, v in res.items():
        if k.startswith("maxdiff"):
            backend, branch = k.split("_")[2:]
            print(f"  check: v on melodiff's captured input ({branch}itional): "
                  f"max |torch - melodiff {backend}| = {v:.3g} (max |v| {res['maxabs_v_' + branch]:.3g})")

    res.update({"bench": "render_torch", "threads": threads, "segments": n_seg, "frames": frames})
    for k, th in enumerate([threads] + [t for t in args.also_threads if t != threads]):
        torch.set_num_threads(th)
        r = timed_run(net, d, meta, cfg["n_mels"], th, mel)
        res.update(r if k == 0 else {f"threads_{th}": r})
    print("JSON " + json.dumps(res, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
