"""gpu_train.sh end to end on the CPU (DEVICE=cpu): packed data in, a run,
the split checkpoint, the export and the loss log out; then a second call on
a fresh machine (no runs/ there) rejoins the split checkpoint and resumes."""
import os
import subprocess

import torch

import pack
from test_pack import fake_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(os.path.dirname(HERE))
TINY = '{"base_channels":8,"channel_mults":[1,2,2],"res_blocks":1,"emb_dim":16,"groups":4,"attn_heads":2}'


def call(machine, packs, out, steps, extra_env=None):
    env = dict(os.environ, DEVICE="cpu", PACKS=packs, MINUTES="5", OUT=out, **(extra_env or {}))
    args = ["bash", "tools/train/gpu_train.sh", "--steps", str(steps), "--batch", "2", "--frames", "16",
            "--log-every", "1", "--val-every", "100", "--config", TINY]
    r = subprocess.run(args, cwd=machine, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_two_calls_and_a_fresh_machine(tmp_path):
    fake_dataset(str(tmp_path / "ds"))
    pack.main(["pack", "--data", str(tmp_path / "ds"), "-o", str(tmp_path / "pack"), "--parts", "2", "--val-stems", "1"])
    machine = tmp_path / "machine"
    machine.mkdir()
    os.symlink(TOOLS, machine / "tools")
    out1, out2, out3 = (tmp_path / n for n in ("out1", "out2", "out3"))
    for o in (out1, out2, out3):
        o.mkdir()
    call(machine, str(tmp_path / "pack" / "part-0.mdpk"), str(out1), 2)
    assert sorted(os.listdir(out1)) == ["ckpt.model.pt", "ckpt.opt.pt", "ckpt.safetensors", "loss.jsonl"]
    # the same machine, the second part added: resumes runs/gpu
    call(machine, str(tmp_path / "pack" / "part-1.mdpk"), str(out2), 4)
    assert torch.load(out2 / "ckpt.model.pt", weights_only=False)["state"]["step"] == 4
    # a fresh machine: rejoins the split checkpoint of call 2 and goes on
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    os.symlink(TOOLS, fresh / "tools")
    call(fresh, str(tmp_path / "pack" / "part-1.mdpk"), str(out3), 6, {"RESUME": str(out2 / "ckpt")})
    assert torch.load(out3 / "ckpt.model.pt", weights_only=False)["state"]["step"] == 6
