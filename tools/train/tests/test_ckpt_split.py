"""ckpt_split.py: a split checkpoint stays under its parts' sizes, joins back
with exact weights and EMA (the EMA from the exported model) and bf16-close
Adam moments, and resumes training."""
import os

import pytest
import torch

import ckpt_split
import export
import train
from conftest import write_fake_dataset
from test_data_train import run_train


def test_split_join_resume(tmp_path):
    data, run = str(tmp_path / "ds"), str(tmp_path / "run")
    write_fake_dataset(data)
    ck = run_train(data, run, 3)
    prefix = str(tmp_path / "parts" / "tiny")
    ckpt_split.main(["split", os.path.join(run, "ckpt.pt"), prefix])
    assert os.path.exists(prefix + ".model.pt") and os.path.exists(prefix + ".opt.pt")
    export.main([os.path.join(run, "ckpt.pt"), prefix + ".safetensors"])
    joined = str(tmp_path / "run2" / "ckpt.pt")
    ckpt_split.main(["join", prefix, prefix + ".safetensors", joined])
    back = torch.load(joined, weights_only=False)
    for k in ck["model"]:
        assert torch.equal(back["model"][k], ck["model"][k]), k
        assert torch.equal(back["ema"][k], ck["ema"][k]), k
    for i, st in ck["opt"]["state"].items():
        got = back["opt"]["state"][i]["exp_avg"]
        assert got.dtype == torch.float32
        assert torch.allclose(got, st["exp_avg"], rtol=1e-2, atol=1e-12)
    assert back["state"]["step"] == 3
    os.replace(os.path.join(run, "config.json"), str(tmp_path / "run2" / "config.json"))
    resumed = run_train(data, str(tmp_path / "run2"), 5, ["--resume"])
    assert resumed["state"]["step"] == 5


def test_join_refuses_another_runs_export(tmp_path):
    data, run = str(tmp_path / "ds"), str(tmp_path / "run")
    write_fake_dataset(data)
    run_train(data, run, 1)
    prefix = str(tmp_path / "p" / "x")
    ckpt_split.main(["split", os.path.join(run, "ckpt.pt"), prefix])
    from safetensors.torch import save_file
    save_file({"unrelated": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(SystemExit, match="not this run's export"):
        ckpt_split.main(["join", prefix, str(tmp_path / "other.safetensors"), str(tmp_path / "j.pt")])
