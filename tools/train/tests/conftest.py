"""Shared helpers for the trainer tests: import path and a fake dataset."""
import json
import os
import sys

import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "gen_midi"))

from export import default_mel_contract_json, safetensors_bytes, write_atomic  # noqa: E402
from model import DRUM_ID, make_config  # noqa: E402

TINY = dict(base_channels=8, channel_mults=[1, 2, 2], res_blocks=1, groups=4, emb_dim=16, attn_heads=2)


@pytest.fixture
def tiny_cfg():
    return make_config(**TINY)


def write_fake_dataset(root, n_stems=6, frames=80, n_mels=128, seed=0, draw=False):
    """A dataset directory in the documented shard format (docs/dataset.md),
    with made-up but plausible content: a few notes per stem, logmel louder
    where notes sound, silence elsewhere. draw: also a <k>.draw plane (as
    `melodiff dataset --notebank` writes), the logmel plus 0.5 nat."""
    g = torch.Generator().manual_seed(seed)
    os.makedirs(root, exist_ok=True)
    rows, tensors = [], {}
    for i in range(n_stems):
        key = f"s{i:04d}"
        roll = torch.zeros(128, frames)
        onset = torch.zeros(128, frames)
        for _ in range(3):
            p = int(torch.randint(40, 80, (1,), generator=g))
            a = int(torch.randint(0, frames // 2, (1,), generator=g))
            roll[p, a:a + 20] = 0.8
            onset[p, a] = 1.0
        harm = torch.zeros(n_mels, frames)
        harm[::9] = roll[: (n_mels + 8) // 9 * 1][: harm[::9].shape[0]]
        logmel = torch.full((n_mels, frames), -11.5129)
        sounding = roll.amax(0) > 0
        logmel[:, sounding] = -4.0 + torch.randn(n_mels, int(sounding.sum()), generator=g)
        tensors.update({f"{key}.logmel": logmel, f"{key}.harm": harm, f"{key}.roll": roll,
                        f"{key}.onset": onset,
                        f"{key}.instrument": torch.tensor([DRUM_ID if i == 0 else i], dtype=torch.int32)})
        if draw:
            tensors[f"{key}.draw"] = logmel + 0.5
        rows.append({"source": f"fake{i}.mid", "stem": f"part{i}", "program": i,
                     "instrument": DRUM_ID if i == 0 else i,
                     "frames": frames, "active_frames": int(sounding.sum()),
                     "shard": "shard-00000.safetensors", "key": key,
                     "split": "val" if i == n_stems - 1 else "train"})
    meta = {"format": "melodiff-dataset", "format_version": "1", "mel_contract": default_mel_contract_json()}
    write_atomic(os.path.join(root, "shard-00000.safetensors"), safetensors_bytes(tensors, meta))
    with open(os.path.join(root, "index.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return rows
