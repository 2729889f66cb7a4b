#!/usr/bin/env python3
"""Split a trainer checkpoint into files that fit a size cap, and join them.

    ckpt_split.py split runs/r/ckpt.pt DIR     -> DIR/ckpt-weights.pt, DIR/ckpt-opt.pt
    ckpt_split.py join DIR runs/r/ckpt.pt

Why: models/ keeps every file under 25 MB, and a GPU machine returns files of
at most 16 MB, while a checkpoint holds the weights, the EMA weights and two
Adam moments per parameter (four copies). The split drops nothing but
precision of the moments: weights, EMA weights, step, config and random
streams stay exact (ckpt-weights.pt), and the Adam moments are stored as
bfloat16 (ckpt-opt.pt), which perturbs the next steps' updates by ~0.4 % of
their size; a joined checkpoint resumes the run, not bit for bit."""
import os
import sys

import torch


def split(src, out_dir):
    ck = torch.load(src, map_location="cpu", weights_only=False)
    os.makedirs(out_dir, exist_ok=True)
    opt = ck.pop("opt")
    for st in opt["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            st[k] = st[k].to(torch.bfloat16)
    torch.save(ck, os.path.join(out_dir, "ckpt-weights.pt"))
    torch.save(opt, os.path.join(out_dir, "ckpt-opt.pt"))
    for name in ("ckpt-weights.pt", "ckpt-opt.pt"):
        print(f"ckpt_split.py: {out_dir}/{name}: {os.path.getsize(os.path.join(out_dir, name)) / 1e6:.1f} MB",
              file=sys.stderr)


def join(src_dir, dst):
    ck = torch.load(os.path.join(src_dir, "ckpt-weights.pt"), map_location="cpu", weights_only=False)
    opt = torch.load(os.path.join(src_dir, "ckpt-opt.pt"), map_location="cpu", weights_only=False)
    for st in opt["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            st[k] = st[k].to(torch.float32)
    ck["opt"] = opt
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(ck, dst + ".tmp")
    os.replace(dst + ".tmp", dst)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3 or argv[0] not in ("split", "join"):
        sys.exit(__doc__.split("\n\n")[1])
    (split if argv[0] == "split" else join)(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
