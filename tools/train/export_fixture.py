#!/usr/bin/env python3
"""Golden fixture for the C U-Net: a tiny random-weight model, a fixed input
and PyTorch's output.

    export_fixture.py [--out tests/fixtures/unet] [--force]

Writes
  unet_tiny.safetensors     a model file exactly as export.py writes one
                            (same architecture code, tiny config, every
                            weight random, group-norm affines included)
  unet_tiny_refiner.safetensors  the same weights as a refiner: config
                            "cond_image" "notebank", "t_max" 0.5,
                            "cfg_dropout" 0 (for the CLI's refiner checks)
  unet_tiny_io.safetensors  inputs, intermediates and outputs (F32):
      x_t [N,1,128,T]  t [N]  harm [N,128,T]  roll [N,128,T]  onset [N,128,T]
      instrument [N] (I32)
      input [N,5,128,T]  the network's first tensor: concat(x_t, harm,
                         pitch_to_mel @ roll, pitch_to_mel @ onset, freq_coord)
      emb [N,E]          time_mlp(sinusoid(t * time_scale)) + inst_emb[instrument]
      v [N,1,128,T]      the output (conditional)
      v_uncond [N,1,128,T]  the output with the null conditioning (CFG)
      v_cfg [N,1,128,T]     v_uncond + guidance * (v - v_uncond), guidance in metadata
      ddim [N,1,128,T]   DDIM, 3 steps, guidance 1, from x_T = x_t
The reference is computed in float64 from the float32 weights, so it is the
exact answer the C float32 code should approach. Deterministic: the same
bytes on every run.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffusion import ddim_sample, guided_v, null_conditioning  # noqa: E402
from export import (default_mel_contract_json, model_metadata, safetensors_bytes, save_model,  # noqa: E402
                    state_tensors, write_atomic)  # noqa: E402
from model import DRUM_ID, UNet, make_config  # noqa: E402

TINY = dict(base_channels=8, channel_mults=[1, 2], res_blocks=1, groups=4, emb_dim=16,
            attn="freq", attn_heads=2, data_mean=-6.0, data_std=3.0)
N, T = 2, 16
GUIDANCE = 2.5
DDIM_STEPS = 3


def tiny_model(seed=0):
    torch.manual_seed(seed)
    model = UNet(make_config(**TINY))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or ".norm." in name \
                    or name.startswith("norm_out") and name.endswith("weight"):
                # Group-norm scales near 1 so the affine is exercised but sane.
                p.copy_(1.0 + 0.25 * torch.randn(p.shape, generator=g))
            else:
                # Nothing left at zero: biases and norm shifts are random too.
                fan_in = p[0].numel() if p.dim() > 1 else 4
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return model.eval()


def fixed_inputs(seed=2):
    g = torch.Generator().manual_seed(seed)
    x_t = torch.randn(N, 1, 128, T, generator=g)
    t = torch.tensor([0.3, 0.85])
    roll = torch.zeros(N, 128, T)
    onset = torch.zeros(N, 128, T)
    # Example 0: a C major triad then a high note; example 1: drum hits.
    for key, a, b, vel in ((60, 0, 10, 0.8), (64, 0, 10, 0.6), (67, 2, 16, 0.5), (96, 9, 16, 1.0)):
        roll[0, key, a:b] = vel
        onset[0, key, a] = 1.0
    for key, a in ((36, 0), (38, 4), (42, 8), (36, 12)):
        roll[1, key, a:a + 2] = 0.9
        onset[1, key, a] = 1.0
    harm = (torch.rand(N, 128, T, generator=g) < 0.1).float() * torch.rand(N, 128, T, generator=g)
    instrument = torch.tensor([5, DRUM_ID], dtype=torch.long)
    return {"x_t": x_t, "t": t, "harm": harm, "roll": roll, "onset": onset, "instrument": instrument}


def reference(model, inp):
    m = model.double()
    d = {k: (v.double() if v.is_floating_point() else v) for k, v in inp.items()}
    cond = {k: d[k] for k in ("harm", "roll", "onset", "instrument")}
    with torch.no_grad():
        out = {
            "input": torch.cat([d["x_t"], m.cond_input(d["harm"], d["roll"], d["onset"])], dim=1),
            "emb": m.embed(d["t"], d["instrument"]),
            "v": m(d["x_t"], d["t"], d["harm"], d["roll"], d["onset"], d["instrument"]),
        }
        u = null_conditioning(cond)
        out["v_uncond"] = m(d["x_t"], d["t"], u["harm"], u["roll"], u["onset"], u["instrument"])
        out["v_cfg"] = guided_v(m, d["x_t"], d["t"], cond, GUIDANCE)
        out["ddim"] = ddim_sample(m, cond, d["x_t"].shape, steps=DDIM_STEPS, guidance=1.0, x_T=d["x_t"])
    model.float()
    return {k: v.float().contiguous() for k, v in out.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description="write the tiny U-Net golden fixture")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "unet"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    model = tiny_model()
    inp = fixed_inputs()
    ref = reference(model, inp)
    provenance = {"data": "none (random weights)", "steps": 0, "hardware": "n/a",
                  "note": "golden fixture written by tools/train/export_fixture.py; not a trained model"}
    meta = model_metadata(model.cfg, default_mel_contract_json(), provenance)
    model_path = os.path.join(args.out, "unet_tiny.safetensors")
    io_path = os.path.join(args.out, "unet_tiny_io.safetensors")
    save_model(model_path, state_tensors(model.state_dict()), meta, force=args.force)
    refiner_cfg = dict(model.cfg, cond_image="notebank", t_max=0.5, cfg_dropout=0.0)
    save_model(os.path.join(args.out, "unet_tiny_refiner.safetensors"), state_tensors(model.state_dict()),
               model_metadata(refiner_cfg, default_mel_contract_json(), provenance), force=args.force)
    io = {k: v.float().contiguous() for k, v in inp.items() if k != "instrument"}
    io["instrument"] = inp["instrument"].to(torch.int32)
    io.update(ref)
    io_meta = {"guidance": repr(GUIDANCE), "ddim_steps": str(DDIM_STEPS),
               "ddim": "eta 0, t from 1 to 0 uniform, alpha=cos(pi/2 t), sigma=sin(pi/2 t), x_T = x_t",
               "model": "unet_tiny.safetensors", "reference": "float64 forward of the float32 weights"}
    if os.path.exists(io_path) and not args.force:
        print(f"export_fixture.py: {io_path}: exists (use --force)", file=sys.stderr)
        return 1
    write_atomic(io_path, safetensors_bytes(io, io_meta))
    total = os.path.getsize(model_path) + os.path.getsize(io_path)
    print(f"export_fixture.py: wrote {model_path} and {io_path} ({total / 1e3:.0f} kB); "
          f"config {json.dumps(model.cfg)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
