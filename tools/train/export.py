#!/usr/bin/env python3
"""Export a training checkpoint as a melodiff model file (safetensors).

    export.py runs/r1/ckpt.pt models/unet.safetensors [--raw] [--force]

Tensors: the EMA weights (or the raw weights with --raw) under their PyTorch
state-dict names, float32, including the buffers pitch_to_mel and freq_coord.
__metadata__ (all values strings):
    kind            "unet"
    format_version  "1"
    config          the architecture config, JSON
    mel_contract    the dataset's mel contract JSON, byte for byte as the C
                    library wrote it into the shards (md_mel_contract_to_json)
    provenance      JSON: data, steps, train time, hardware, date, weights
The output is written to a temporary name and renamed; an existing file is
replaced only with --force.
"""
import argparse
import json
import os
import platform
import struct
import sys
import time

import torch

FORMAT_VERSION = "1"


def _cjson_number(x):
    """A number as cJSON_PrintUnformatted writes it (x is a C float widened
    to double): integers plainly, else %1.15g when that reads back equal
    within cJSON's tolerance (DBL_EPSILON relative), else %1.17g."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    s = "%1.15g" % x
    close = abs(float(s) - x) <= max(abs(float(s)), abs(x)) * sys.float_info.epsilon
    return s if close else "%1.17g" % x


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def default_mel_contract_json():
    """md_mel_contract_to_json(md_mel_contract_default()) of src/audio/mel_contract.c,
    for files made without a dataset (the golden fixture)."""
    fields = [("sample_rate", "44100"), ("n_fft", "2048"), ("hop", "512"), ("win_length", "2048"),
              ("window", '"hann"'), ("center", "true"), ("n_mels", "128"),
              ("fmin", _cjson_number(_f32(0.0))), ("fmax", _cjson_number(_f32(22050.0))),
              ("mel_scale", '"slaney"'), ("mel_norm", '"slaney"'),
              ("power", _cjson_number(_f32(1.0))), ("log_floor", _cjson_number(_f32(1e-5)))]
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields) + "}"


def model_metadata(cfg, mel_contract, provenance):
    return {"kind": "unet", "format_version": FORMAT_VERSION,
            "config": json.dumps(cfg, separators=(",", ":")),
            "mel_contract": mel_contract,
            "provenance": json.dumps(provenance, separators=(",", ":"))}


def state_tensors(state_dict):
    return {k: v.detach().to(torch.float32).contiguous().cpu() for k, v in state_dict.items()}


_DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64", torch.float16: "F16",
           torch.uint8: "U8"}


def safetensors_bytes(tensors, metadata):
    """A safetensors file as bytes, deterministically: tensors in name order,
    header keys sorted (the Rust writer's metadata order varies run to run,
    and fixtures should not churn in git). The header is padded with spaces
    to a multiple of 8 bytes so every tensor is 8-byte aligned."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        raw = t.numpy().tobytes() if t.dtype != torch.float16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_atomic(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_model(path, tensors, metadata, force=False):
    if os.path.exists(path) and not force:
        raise FileExistsError(f"{path}: exists (use --force to replace it)")
    write_atomic(path, safetensors_bytes(tensors, metadata))


def read_model(path):
    """(config dict, state dict) of a model file this module wrote; the
    inverse of save_model, used by train.py --init and evaluate.py."""
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        return json.loads(f.metadata()["config"]), {k: f.get_tensor(k) for k in f.keys()}


def hardware(device_hint):
    if device_hint and device_hint.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU {platform.machine()} ({os.cpu_count()} cores visible)"


def main(argv=None):
    ap = argparse.ArgumentParser(description="checkpoint -> melodiff unet safetensors")
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--raw", action="store_true", help="export the raw weights instead of the EMA")
    ap.add_argument("--note", default="", help="free text added to the provenance")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    state, targs = ck["state"], ck.get("args", {})
    provenance = {
        "data": targs.get("data"), "steps": state["step"], "batch": targs.get("batch"),
        "frames": targs.get("frames"), "train_seconds": round(state["elapsed"], 1),
        "hardware": hardware(targs.get("device")), "threads": targs.get("threads"),
        "weights": "raw" if args.raw else f"ema {targs.get('ema')}",
        "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__, "note": args.note,
    }
    meta = model_metadata(ck["config"], state["mel_contract"], provenance)
    tensors = state_tensors(ck["model"] if args.raw else ck["ema"])
    try:
        save_model(args.output, tensors, meta, args.force)
    except FileExistsError as e:
        print(f"export.py: {e}", file=sys.stderr)
        return 1
    size = os.path.getsize(args.output)
    print(f"export.py: wrote {args.output}: {len(tensors)} tensors, {size / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
