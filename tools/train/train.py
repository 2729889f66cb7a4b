#!/usr/bin/env python3
"""Train the melodiff U-Net on a `melodiff dataset` directory.

    train.py --data data/ds --out runs/r1 [--steps 100000] [--batch 8]
             [--frames 128] [--threads 1] [--device cpu|cuda]
             [--config '{"base_channels": 32}'] [--ckpt-minutes 10] [--resume]

Writes to --out: ckpt.pt (latest checkpoint: weights, EMA weights, optimiser,
step, config, RNG states; replaced atomically), loss.jsonl (one line per
logged step, validation loss when measured) and config.json. --resume
continues from ckpt.pt with the same RNG streams, so a resumed run draws the
same batches as an uninterrupted one would have.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import CropSampler, DeviceCropSampler, logmel_stats, read_contract, read_index  # noqa: E402
from diffusion import audible_x0_error, v_loss  # noqa: E402
from export import read_model  # noqa: E402
from model import UNet, count_params, make_config  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Train the melodiff U-Net.")
    ap.add_argument("--data", required=True, help="dataset directory (index.jsonl + shards)")
    ap.add_argument("--out", required=True, help="run directory (checkpoints, logs)")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=128, help="crop length in mel frames")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--decay-from", type=int, default=0,
                    help="step at which the learning rate starts to fall linearly to --lr-min "
                         "at --steps (0: constant after warm-up)")
    ap.add_argument("--lr-min", type=float, default=0.0)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--p-drop", type=float, default=0.1, help="classifier-free guidance dropout")
    ap.add_argument("--drum-weight", type=float, default=1.0,
                    help="draw drum stems this many times as often per active frame (data.stem_weights)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--config", default="{}", help="JSON overrides of the model config")
    ap.add_argument("--ckpt-minutes", type=float, default=10.0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--val-batches", type=int, default=4)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--p-draw", type=float, default=0.0,
                    help="a refiner: share of items noised from the drawing, as shallow diffusion does "
                         "(diffusion.v_loss); 0: all from the truth")
    ap.add_argument("--draw-t-min", type=float, default=0.1, help="lowest t of the items noised from the drawing")
    ap.add_argument("--audible-db", type=float, default=0.0,
                    help="with --p-draw: score those items only down to this many dB under their peak "
                         "(diffusion.audible_x0_error; tools/eval floors its LSD at 80); 0: everything")
    ap.add_argument("--init", default=None,
                    help="start a new run from a melodiff model file's weights, config and normalisation "
                         "(--config still overrides keys that do not change tensor shapes, e.g. cond_image)")
    ap.add_argument("--sampler", choices=("shards", "device"), default="shards",
                    help="shards: crops sliced from the memory-mapped shards (little memory); "
                         "device: the whole split held on --device and cropped there (fast, for GPUs)")
    ap.add_argument("--amp", choices=("off", "bf16"), default="off",
                    help="bf16: forward and backward under bfloat16 autocast (CUDA); weights, "
                         "optimiser, EMA and loss stay float32")
    return ap.parse_args(argv)


def lr_at(step, args):
    """Learning rate for the step about to be taken: linear warm-up, a plateau,
    then (with --decay-from) a linear fall to --lr-min at --steps. The fall is
    what lets a run that has to end at a fixed step settle into a minimum
    instead of stopping mid-stride at the plateau's noise level."""
    lr = args.lr * min(1.0, (step + 1) / max(1, args.warmup))
    if args.decay_from and step >= args.decay_from and args.steps > args.decay_from:
        frac = min(1.0, (step - args.decay_from) / (args.steps - args.decay_from))
        lr = args.lr + (args.lr_min - args.lr) * frac
    return lr


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def ema_update(ema, model, decay):
    with torch.no_grad():
        pe, pm = list(ema.parameters()), [p.detach() for p in model.parameters()]
        torch._foreach_mul_(pe, decay)  # one fused pass, not a Python loop of kernels
        torch._foreach_add_(pe, pm, alpha=1 - decay)


def fixed_val_batches(args, cfg):
    """The same validation crops every time, so the curve is comparable."""
    if not read_index(args.data, "val"):
        return []
    s = CropSampler(args.data, "val", args.frames, seed=1234, mean=cfg["data_mean"], std=cfg["data_std"],
                    cond_image=cfg.get("cond_image", "harmonic"))
    return [s.batch(args.batch) for _ in range(args.val_batches)]


def audible_units(args, cfg):
    """--audible-db in normalised log-mel units (None when 0): dB of
    magnitude -> nats -> / data_std."""
    return args.audible_db / 20.0 * math.log(10.0) / cfg["data_std"] if args.audible_db > 0 else None


def val_loss(model, batches, device, t_max=1.0, p_draw=0.0, draw_t_min=0.1, audible=None):
    if not batches:
        return None
    g = torch.Generator().manual_seed(99)
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x0, cond in batches:
            cond = {k: v.to(device) for k, v in cond.items()}
            total += float(v_loss(model, x0.to(device), cond, p_drop=0.0, generator=g, t_max=t_max,
                                  p_draw=p_draw, draw_t_min=draw_t_min, audible=audible))
    model.train()
    return total / len(batches)


def file_sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def drawing_error(batches, audible=None):
    """Mean squared error of the drawing itself (cond["harm"] of a refiner's
    batches) against the truth, in the units of val_draw_ema."""
    def err(x0, draw):
        return audible_x0_error(draw, x0, draw, audible) if audible is not None else (draw - x0) ** 2
    return sum(float(err(x0, c["harm"][:, None]).mean()) for x0, c in batches) / max(1, len(batches))


def build(args):
    """New run or resumed run: (cfg, model, ema, opt, state)."""
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.resume:
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cfg = ck["config"]
    else:
        if os.path.exists(ckpt_path):
            sys.exit(f"train.py: {ckpt_path} exists; use --resume or another --out")
        ck = None
        if args.init:
            init_cfg, init_state = read_model(args.init)
            cfg = make_config(**{k: v for k, v in init_cfg.items() if k != "frame_multiple"})
            cfg.update(json.loads(args.config))
        else:
            mean, std = logmel_stats(args.data, "train")
            cfg = make_config(**json.loads(args.config))
            cfg["data_mean"], cfg["data_std"] = round(mean, 4), round(std, 4)
        cfg["cfg_dropout"] = args.p_drop
    torch.manual_seed(args.seed)
    model = UNet(cfg).to(args.device)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    state = {"step": 0, "elapsed": 0.0, "mel_contract": read_contract(args.data, read_index(args.data))}
    if args.init and ck is None:
        model.load_state_dict(init_state)
        ema.load_state_dict(init_state)
        state["init"] = {"path": args.init, "sha256": file_sha256(args.init)}
    if ck is not None:
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
    return cfg, model, ema, opt, state, ck


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if torch.device(args.device).type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels once
    os.makedirs(args.out, exist_ok=True)
    cfg, model, ema, opt, state, ck = build(args)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)

    make_sampler = DeviceCropSampler if args.sampler == "device" else CropSampler
    extra = {"device": args.device} if args.sampler == "device" else {}
    sampler = make_sampler(args.data, "train", args.frames, seed=args.seed,
                           mean=cfg["data_mean"], std=cfg["data_std"], drum_weight=args.drum_weight,
                           cond_image=cfg.get("cond_image", "harmonic"), **extra)
    # the noise generator lives where the batches do, so no noise crosses the bus
    gen = torch.Generator(device=args.device if args.sampler == "device" else "cpu").manual_seed(args.seed + 1)
    if ck is not None:
        try:
            sampler.setstate(ck["sampler_rng"])
            gen.set_state(ck["gen_state"])
        except (TypeError, ValueError, RuntimeError):
            # the checkpoint was written with the other sampler or device: the
            # weights and optimiser resume, the random streams start afresh
            print("train.py: random streams not resumable across --sampler/--device; reseeded "
                  f"with seed {args.seed + state['step']}", file=sys.stderr)
            sampler.reseed(args.seed + state["step"])
            gen.manual_seed(args.seed + state["step"] + 1)
    val_batches = fixed_val_batches(args, cfg)
    print(f"train.py: {count_params(model)} parameters, step {state['step']}, "
          f"{len(sampler.index)} train stems, drum weight {args.drum_weight}, device {args.device}", file=sys.stderr)

    def checkpoint():
        save_atomic({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                     "config": cfg, "state": state, "sampler_rng": sampler.getstate(),
                     "gen_state": gen.get_state(), "args": vars(args)},
                    os.path.join(args.out, "ckpt.pt"))

    log = open(os.path.join(args.out, "loss.jsonl"), "a", encoding="utf-8")
    t_start, t_ckpt = time.time(), time.time()
    elapsed0 = state["elapsed"]
    running, n_run = 0.0, 0
    while state["step"] < args.steps:
        x0, cond = sampler.batch(args.batch)
        cond = {k: v.to(args.device) for k, v in cond.items()}
        lr = lr_at(state["step"], args)
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type=torch.device(args.device).type, dtype=torch.bfloat16,
                            enabled=args.amp == "bf16"):
            loss = v_loss(model, x0.to(args.device), cond, p_drop=args.p_drop, generator=gen,
                          t_max=cfg.get("t_max", 1.0), p_draw=args.p_draw, draw_t_min=args.draw_t_min,
                          audible=audible_units(args, cfg))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema_update(ema, model, args.ema if state["step"] >= args.warmup else 0.0)
        state["step"] += 1
        state["elapsed"] = elapsed0 + time.time() - t_start
        running, n_run = running + float(loss.detach()), n_run + 1
        rec = None
        if state["step"] % args.log_every == 0:
            rec = {"step": state["step"], "loss": running / n_run, "lr": lr, "time_s": round(state["elapsed"], 1)}
            running, n_run = 0.0, 0
        if val_batches and state["step"] % args.val_every == 0:
            rec = rec or {"step": state["step"], "time_s": round(state["elapsed"], 1)}
            rec["val_loss_ema"] = val_loss(ema, val_batches, args.device, cfg.get("t_max", 1.0))
            if args.p_draw > 0:  # x0 error from the noised drawing, beside the drawing's own
                rec["val_draw_ema"] = val_loss(ema, val_batches, args.device, cfg.get("t_max", 1.0), 1.0,
                                               args.draw_t_min, audible_units(args, cfg))
                rec["val_draw_baseline"] = drawing_error(val_batches, audible_units(args, cfg))
        if rec:
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(f"train.py: {json.dumps(rec)}", file=sys.stderr)
        if time.time() - t_ckpt >= args.ckpt_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
        if args.max_minutes and time.time() - t_start >= args.max_minutes * 60:
            break
    checkpoint()
    log.close()
    print(f"train.py: stopped at step {state['step']} after {state['elapsed']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
