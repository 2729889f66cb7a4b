#!/usr/bin/env python3
"""Split a trainer checkpoint into files that fit a size cap, and join them.

    ckpt_split.py split runs/r/ckpt.pt DIR/NAME   -> DIR/NAME.model.pt, DIR/NAME.opt.pt
    ckpt_split.py join DIR/NAME EMA.safetensors runs/r/ckpt.pt

Why: models/ keeps every file under 25 MB, and a GPU machine returns files of
at most 16 MB, while a checkpoint holds four copies of every parameter (the
weights, the EMA weights and two Adam moments). The split stores each copy
once: NAME.model.pt holds the weights, step, config, arguments and random
streams (exact); NAME.opt.pt the Adam moments as bfloat16, which perturbs
the next updates by ~0.4 % of their size, so a joined checkpoint resumes
the run, not bit for bit; the EMA weights are the exported model file
itself (export.py writes them under their state-dict names, float32), so
they are not stored twice."""
import os
import sys

import torch
from safetensors.torch import load_file


def split(src, prefix):
    ck = torch.load(src, map_location="cpu", weights_only=False)
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    opt = ck.pop("opt")
    ck.pop("ema")
    for st in opt["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            st[k] = st[k].to(torch.bfloat16)
    for suffix, obj in ((".model.pt", ck), (".opt.pt", opt)):
        torch.save(obj, prefix + suffix)
        print(f"ckpt_split.py: {prefix}{suffix}: {os.path.getsize(prefix + suffix) / 1e6:.1f} MB", file=sys.stderr)


def join(prefix, ema_path, dst):
    ck = torch.load(prefix + ".model.pt", map_location="cpu", weights_only=False)
    opt = torch.load(prefix + ".opt.pt", map_location="cpu", weights_only=False)
    for st in opt["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            st[k] = st[k].to(torch.float32)
    ema = load_file(ema_path)
    missing = set(ck["model"]) - set(ema)
    if missing:
        sys.exit(f"ckpt_split.py: {ema_path}: not this run's export (missing {sorted(missing)[:3]})")
    ck["ema"] = {k: ema[k] for k in ck["model"]}
    ck["opt"] = opt
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(ck, dst + ".tmp")
    os.replace(dst + ".tmp", dst)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["split"] and len(argv) == 3:
        split(argv[1], argv[2])
    elif argv[:1] == ["join"] and len(argv) == 4:
        join(argv[1], argv[2], argv[3])
    else:
        sys.exit(__doc__.split("\n\n")[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
