"""The Python reader on shards written by the C builder (`melodiff dataset`).
Skipped when no built melodiff is found (set MELODIFF_EXE to point at one)."""
import glob
import json
import os
import subprocess

import pytest
import torch

import export
from data import CropSampler, read_contract, read_index
from safetensors import safe_open

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def find_exe():
    env = os.environ.get("MELODIFF_EXE")
    if env:
        return env
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "melodiff")), key=os.path.getmtime)
    return found[-1] if found else None


def test_reads_c_shards(tmp_path):
    exe = find_exe()
    if not exe or not os.access(exe, os.X_OK):
        pytest.skip("no built melodiff")
    demo = os.path.join(ROOT, "samples", "demo.mid")
    out = tmp_path / "ds"
    r = subprocess.run([exe, "dataset", "-q", "-o", str(out), "--max-seconds", "4", "--no-mix", demo],
                       capture_output=True, text=True)
    if r.returncode == 2 and "unknown command" in r.stderr:
        pytest.skip(f"{exe} has no dataset command")
    assert r.returncode == 0, r.stderr
    rows = read_index(str(out))
    assert rows and all(r["split"] in ("train", "val") for r in rows)
    # The shards carry the C library's contract JSON, byte for byte what
    # export.py writes for the default contract.
    assert read_contract(str(out), rows) == export.default_mel_contract_json()
    with safe_open(str(out / rows[0]["shard"]), framework="pt") as f:
        meta = f.metadata()
        assert meta["format"] == "melodiff-dataset" and meta["format_version"] == "1"
        for row in rows:
            t = row["frames"]
            assert f.get_slice(f"{row['key']}.logmel").get_shape() == [128, t]
            assert f.get_slice(f"{row['key']}.roll").get_shape() == [128, t]
            assert int(f.get_tensor(f"{row['key']}.instrument")[0]) == row["instrument"]
    # Every split the index has can be sampled.
    for split in {r["split"] for r in rows}:
        x0, cond = CropSampler(str(out), split, frames=32, seed=0).batch(3)
        assert x0.shape == (3, 1, 128, 32) and torch.isfinite(x0).all()
        assert float(cond["roll"].max()) <= 1.0
