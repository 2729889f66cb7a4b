#!/usr/bin/env python3
"""Sample log-mel crops of validation stems and compare them with the truth.

    evaluate.py runs/r1/ckpt.pt --data data/ds [--crops 8] [--frames 128]
                [--steps 20] [--sampler dpmpp2m|ddim] [--guidance 2] [--raw]

For each of --crops validation crops (fixed seed, silence mostly skipped,
as in training) the model samples a log-mel from noise given that crop's
conditioning; the report (JSON on stdout) gives the mean absolute log-mel
error in nats over the frames that sound, next to two baselines measured on
the same crops:
  mean_image  predict, per mel band, the training data's mean log-mel
              of sounding frames (knows nothing about the notes);
  wrong_stem  another validation crop's true log-mel (right statistics,
              wrong notes).
A model that has learnt something beats both.

A refiner (config "cond_image": "notebank", docs/training.md) is sampled as
the renderer runs it: from the crop's drawing noised to --t-start, guidance 1;
its report adds the baseline that matters for it:
  drawing     the note bank's drawing itself (what render --prior 0 gives);
and every candidate also gets lsd_*: the log-spectral distance in dB as
tools/eval defines it (both sides floored 80 dB under the louder one's peak,
per crop; per frame the rms over mel bands of the dB difference; mean over
the frames where either sounds, 20 dB above that floor).
This is a quick check for training runs, not the sound-quality evaluation of
DESIGN.md.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import CropSampler  # noqa: E402
from diffusion import ddim_sample, dpmpp_2m_sample  # noqa: E402
from export import read_model  # noqa: E402
from model import UNet  # noqa: E402


def load(path, raw):
    if path.endswith(".safetensors"):
        cfg, sd = read_model(path)
    else:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        cfg, sd = ck["config"], ck["model" if raw else "ema"]
    m = UNet(cfg)
    m.load_state_dict(sd)
    return m.eval(), cfg


def band_means(sampler, n=64):
    """Per-band mean of sounding frames over n training-style crops."""
    x0, _ = sampler.batch(n)
    return x0.mean(dim=(0, 1, 3))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="ckpt.pt or exported .safetensors")
    ap.add_argument("--data", required=True)
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--sampler", choices=["dpmpp2m", "ddim"], default="dpmpp2m")
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--t-start", type=float, default=0.3, help="a refiner's start time (render --prior T)")
    ap.add_argument("--raw", action="store_true", help="raw weights instead of EMA (checkpoints)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, cfg = load(args.model, args.raw)
    mean, std = cfg["data_mean"], cfg["data_std"]
    refiner = cfg.get("cond_image", "harmonic") == "notebank"
    kw = dict(seed=4321, mean=mean, std=std, min_active=0.5, cond_image=cfg.get("cond_image", "harmonic"))
    val = CropSampler(args.data, "val", args.frames, **kw)
    train = CropSampler(args.data, "train", args.frames, **kw)
    x0, cond = val.batch(args.crops)
    bands = band_means(train)
    sample = dpmpp_2m_sample if args.sampler == "dpmpp2m" else ddim_sample
    t0 = time.time()
    start = dict(init_x0=cond["harm"][:, None], t_start=args.t_start) if refiner else {}
    guidance = 1.0 if refiner else args.guidance
    with torch.no_grad():
        x = sample(model, cond, x0.shape, steps=args.steps, guidance=guidance,
                   generator=torch.Generator().manual_seed(0), **start)
    secs = time.time() - t0
    sounding = (cond["roll"].amax(dim=1) > 0)[:, None, None, :].expand_as(x0)

    def mae(pred):  # nats of log-mel, sounding frames only
        return float(((pred - x0).abs() * std)[sounding].mean())

    def lsd(pred):  # dB, as tools/eval/metrics.lsd_db, per crop
        to_db = std * (20.0 / 2.302585092994046)
        out = []
        for a, b in zip((x0 * std + mean)[:, 0] * (to_db / std), (pred * std + mean)[:, 0] * (to_db / std)):
            fl = max(float(a.max()), float(b.max())) - 80.0
            a, b = a.clamp(min=fl), b.clamp(min=fl)
            keep = (a.amax(0) > fl + 20) | (b.amax(0) > fl + 20)
            out.append((a - b).pow(2).mean(0).sqrt()[keep])
        return float(torch.cat(out).mean())

    cands = {"model": x, "mean_image": bands[None, None, :, None].expand_as(x0), "wrong_stem": torch.roll(x0, 1, dims=0)}
    if refiner:
        cands["drawing"] = cond["harm"][:, None]
    report = {"model": args.model, "crops": args.crops, "frames": args.frames, "sampler": args.sampler,
              "steps": args.steps, "guidance": guidance, "seconds": round(secs, 1)}
    if refiner:
        report["t_start"] = args.t_start
    for name, pred in cands.items():
        report[f"mae_{name}"] = round(mae(pred), 3)
    for name, pred in cands.items():
        report[f"lsd_{name}"] = round(lsd(pred), 3)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
