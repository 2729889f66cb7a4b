"""pack.py: archives round-trip the conditioning exactly and the log-mel
within half a quantisation step; bad archives are refused."""
import json
import os

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import pack
from conftest import write_fake_dataset


def fake_dataset(root):
    rows = write_fake_dataset(root, n_stems=7, frames=90)
    # the real builder writes velocity/127 in the roll; the fake uses 0.8
    tensors = load_file(os.path.join(root, "shard-00000.safetensors"))
    for k in list(tensors):
        if k.endswith(".roll"):
            tensors[k] = np.where(tensors[k] > 0, np.float32(101 / 127), np.float32(0)).astype(np.float32)
    from safetensors.numpy import save_file
    save_file(tensors, os.path.join(root, "shard-00000.safetensors"),
              metadata={"format": "melodiff-dataset", "format_version": "1",
                        "mel_contract": json.dumps({"n_mels": 128})})
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump({"format": "melodiff-dataset", "mel_contract": {"n_mels": 128}}, f)
    return rows, tensors


def test_pack_unpack_round_trip(tmp_path):
    src, out = str(tmp_path / "ds"), str(tmp_path / "unpacked")
    rows, tensors = fake_dataset(src)
    assert pack.main(["pack", "--data", src, "-o", str(tmp_path / "p"), "--parts", "2", "--val-stems", "1"]) == 0
    parts = sorted(str(p) for p in (tmp_path / "p").glob("part-*.mdpk"))
    assert len(parts) == 2
    assert pack.main(["unpack", *parts, "-o", out]) == 0
    index = [json.loads(line) for line in open(os.path.join(out, "index.jsonl"))]
    assert sorted(r["source"] for r in index) == sorted(r["source"] for r in rows)
    for r in index:
        got = load_file(os.path.join(out, r["shard"]))
        orig_key = next(o["key"] for o in rows if o["source"] == r["source"])
        for plane in ("harm", "roll", "onset", "instrument"):
            assert np.array_equal(got[f"{r['key']}.{plane}"], tensors[f"{orig_key}.{plane}"]), plane
        err = np.abs(got[f"{r['key']}.logmel"] - tensors[f"{orig_key}.logmel"])
        assert err.max() <= 0.5 / pack.LOGMEL_SCALE + 1e-5
    assert json.load(open(os.path.join(out, "dataset.json")))["packed"]["stems"] == len(rows)


def test_quantiser_wraps_consistently():
    x = np.array([[pack.LOG_FLOOR, 0.0, pack.LOG_FLOOR, -3.0]], np.float32)
    back = pack.dequantise_logmel(pack.quantise_logmel(x))
    assert np.abs(back - x).max() <= 0.5 / pack.LOGMEL_SCALE + 1e-5


def test_pack_refuses_a_roll_that_is_not_velocity(tmp_path):
    src = str(tmp_path / "ds")
    write_fake_dataset(src)  # roll 0.8 is not n/127
    with open(os.path.join(src, "dataset.json"), "w") as f:
        json.dump({}, f)
    with pytest.raises(ValueError, match="velocity"):
        pack.main(["pack", "--data", src, "-o", str(tmp_path / "p")])


def test_unpack_refuses_a_broken_archive(tmp_path):
    bad = tmp_path / "part-0.mdpk"
    bad.write_bytes(b"not an archive")
    with pytest.raises(SystemExit, match="part-0.mdpk: not a packed dataset"):
        pack.main(["unpack", str(bad), "-o", str(tmp_path / "o")])
