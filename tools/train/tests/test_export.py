"""Model export: names, metadata, round trip; the golden fixture."""
import json
import os
import struct

import pytest
import torch
from safetensors import safe_open

import export
import export_fixture
from model import UNet

FIXTURE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "fixtures", "unet")


def fake_checkpoint(path, cfg):
    torch.manual_seed(1)
    model, ema = UNet(cfg), UNet(cfg)
    state = {"step": 7, "elapsed": 12.5, "mel_contract": export.default_mel_contract_json()}
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "config": cfg, "state": state,
                "args": {"data": "fake", "batch": 2, "frames": 16, "device": "cpu", "threads": 1,
                         "ema": 0.999}}, path)
    return model, ema


def test_export_round_trip(tmp_path, tiny_cfg):
    ck = tmp_path / "ckpt.pt"
    _, ema = fake_checkpoint(str(ck), tiny_cfg)
    out = tmp_path / "unet.safetensors"
    assert export.main([str(ck), str(out)]) == 0
    with safe_open(str(out), framework="pt") as f:
        meta = f.metadata()
        names = set(f.keys())
        loaded = {k: f.get_tensor(k) for k in names}
    assert names == set(ema.state_dict())  # PyTorch names, buffers included
    assert "pitch_to_mel" in names and "freq_coord" in names
    assert meta["kind"] == "unet" and meta["format_version"] == "1"
    assert json.loads(meta["config"]) == tiny_cfg
    assert meta["mel_contract"] == export.default_mel_contract_json()
    prov = json.loads(meta["provenance"])
    assert prov["steps"] == 7 and prov["weights"].startswith("ema")
    for k, v in ema.state_dict().items():
        assert torch.equal(loaded[k], v.float()), k
    # Refuses to overwrite without --force; replaces with it.
    assert export.main([str(ck), str(out)]) == 1
    assert export.main([str(ck), str(out), "--force", "--raw"]) == 0
    with safe_open(str(out), framework="pt") as f:
        assert json.loads(f.metadata()["provenance"])["weights"] == "raw"


def test_writer_layout_is_valid_safetensors(tmp_path):
    t = {"b": torch.arange(3, dtype=torch.int32), "a": torch.ones(2, 3)}
    data = export.safetensors_bytes(t, {"k": "v"})
    n = struct.unpack("<Q", data[:8])[0]
    assert n % 8 == 0
    header = json.loads(data[8:8 + n])
    assert header["a"]["data_offsets"] == [0, 24] and header["b"]["dtype"] == "I32"
    p = tmp_path / "x.safetensors"
    p.write_bytes(data)
    with safe_open(str(p), framework="pt") as f:
        assert torch.equal(f.get_tensor("b"), t["b"]) and f.metadata() == {"k": "v"}


def test_mel_contract_json_matches_the_c_format():
    # md_mel_contract_to_json(default) as printed by the C library (cJSON).
    assert export.default_mel_contract_json() == (
        '{"sample_rate":44100,"n_fft":2048,"hop":512,"win_length":2048,"window":"hann",'
        '"center":true,"n_mels":128,"fmin":0,"fmax":22050,"mel_scale":"slaney",'
        '"mel_norm":"slaney","power":1,"log_floor":9.99999974737875e-06}')


def test_committed_fixture_is_current(tmp_path):
    """The committed golden fixture is what export_fixture.py writes today
    (byte for byte), so model.py and the C golden tests cannot drift apart."""
    assert export_fixture.main(["--out", str(tmp_path)]) == 0
    for name in ("unet_tiny.safetensors", "unet_tiny_refiner.safetensors", "unet_tiny_io.safetensors"):
        committed = os.path.join(FIXTURE_DIR, name)
        if not os.path.exists(committed):
            pytest.fail(f"{committed} missing: run tools/train/export_fixture.py")
        with open(committed, "rb") as a:
            assert a.read() == (tmp_path / name).read_bytes(), name
    total = sum(os.path.getsize(os.path.join(FIXTURE_DIR, n)) for n in os.listdir(FIXTURE_DIR))
    assert total < 1000 * 1000


def test_fixture_model_reproduces_fixture_output():
    with safe_open(os.path.join(FIXTURE_DIR, "unet_tiny.safetensors"), framework="pt") as f:
        cfg = json.loads(f.metadata()["config"])
        sd = {k: f.get_tensor(k) for k in f.keys()}
    with safe_open(os.path.join(FIXTURE_DIR, "unet_tiny_io.safetensors"), framework="pt") as f:
        io = {k: f.get_tensor(k) for k in f.keys()}
    m = UNet(cfg).eval()
    m.load_state_dict(sd)
    with torch.no_grad():
        v = m(io["x_t"], io["t"], io["harm"], io["roll"], io["onset"], io["instrument"].long())
    assert float((v - io["v"]).abs().max()) < 1e-4
