"""Reads the dataset shards written by `melodiff dataset` (docs/dataset.md).

A dataset directory holds shard-NNNNN.safetensors files and index.jsonl. Each
index line describes one stem: {"source", "stem", "program", "instrument",
"frames", "active_frames", "shard", "key", "split"}; the stem's tensors in its
shard are <key>.logmel [n_mels, T], <key>.harm [n_mels, T], <key>.roll
[128, T], <key>.onset [128, T] (all F32) and <key>.instrument (I32 [1]).

The trainer never computes features itself: everything here comes from the C
library, so training and inference see identical log-mel and conditioning.
"""
import json
import math
import os
import random

import torch
from safetensors import safe_open

LOG_FLOOR = math.log(1e-5)  # logmel value of silence under the mel contract


def read_index(root, split=None):
    rows = []
    with open(os.path.join(root, "index.jsonl"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                row = json.loads(line)
                if split is None or row["split"] == split:
                    rows.append(row)
    return rows


def read_contract(root, index):
    """The mel contract JSON string of the dataset (the first shard's); every
    shard must carry the same one."""
    contracts = set()
    for shard in sorted({r["shard"] for r in index}):
        with safe_open(os.path.join(root, shard), framework="pt") as f:
            contracts.add(f.metadata().get("mel_contract", ""))
    if len(contracts) != 1:
        raise ValueError(f"{root}: shards disagree on the mel contract: {sorted(contracts)}")
    return contracts.pop()


class StemStore:
    """Open shards (memory-mapped by safetensors) and a per-stem cache of the
    small tensors, so random crops do not re-read whole stems."""

    def __init__(self, root, cache_stems=True):
        self.root = root
        self.handles = {}
        self.cache = {} if cache_stems else None

    def _handle(self, shard):
        if shard not in self.handles:
            self.handles[shard] = safe_open(os.path.join(self.root, shard), framework="pt")
        return self.handles[shard]

    def stem(self, row):
        """dict(logmel, harm, roll, onset) full-length tensors and instrument."""
        k = (row["shard"], row["key"])
        if self.cache is not None and k in self.cache:
            return self.cache[k]
        h = self._handle(row["shard"])
        out = {name: h.get_tensor(f"{row['key']}.{name}") for name in ("logmel", "harm", "roll", "onset")}
        out["instrument"] = int(h.get_tensor(f"{row['key']}.instrument").reshape(-1)[0])
        out["active"] = activity(out["roll"], out["logmel"])
        if self.cache is not None:
            self.cache[k] = out
        return out


def activity(roll, logmel, margin=3.0):
    """Per-frame bool: a note sounds (roll > 0) or the frame is audibly above
    the floor (ring-out after note-off counts as sound)."""
    notes = roll.amax(dim=0) > 0
    audible = logmel.amax(dim=0) > LOG_FLOOR + margin
    return notes | audible


def crop_stem(stem, start, frames):
    """A [start, start + frames) crop, padded with silence past the end."""
    t_total = stem["logmel"].shape[1]
    end = min(t_total, start + frames)
    out = {}
    for name, fill in (("logmel", LOG_FLOOR), ("harm", 0.0), ("roll", 0.0), ("onset", 0.0)):
        src = stem[name][:, start:end]
        if src.shape[1] < frames:
            pad = torch.full((src.shape[0], frames - src.shape[1]), fill, dtype=src.dtype)
            src = torch.cat([src, pad], dim=1)
        out[name] = src
    act = stem["active"][start:end].float()
    out["active"] = torch.cat([act, torch.zeros(frames - act.shape[0])]) if act.shape[0] < frames else act
    return out


class CropSampler:
    """Random fixed-length crops from the stems of one split.

    Stems are drawn with probability proportional to their active frames;
    a crop whose active fraction is below min_active is redrawn (up to
    `tries` times) except with probability keep_silent, so silence is mostly
    skipped but still seen. Deterministic given the seed."""

    def __init__(self, root, split="train", frames=128, seed=0, min_active=0.3, keep_silent=0.05,
                 tries=8, mean=0.0, std=1.0):
        self.index = [r for r in read_index(root, split) if r.get("active_frames", r["frames"]) > 0]
        if not self.index:
            raise ValueError(f"{root}: no stems with sound in split '{split}'")
        self.store = StemStore(root)
        self.frames = frames
        self.rng = random.Random(seed)
        self.min_active = min_active
        self.keep_silent = keep_silent
        self.tries = tries
        self.mean, self.std = mean, std
        self.weights = [max(1, r.get("active_frames", r["frames"])) for r in self.index]

    def one(self):
        for attempt in range(self.tries):
            row = self.rng.choices(self.index, weights=self.weights, k=1)[0]
            stem = self.store.stem(row)
            t_total = stem["logmel"].shape[1]
            start = self.rng.randrange(max(1, t_total - self.frames + 1))
            crop = crop_stem(stem, start, self.frames)
            crop["instrument"] = stem["instrument"]
            if crop["active"].mean() >= self.min_active or self.rng.random() < self.keep_silent:
                return crop
        return crop

    def batch(self, n):
        crops = [self.one() for _ in range(n)]
        x0 = torch.stack([(c["logmel"] - self.mean) / self.std for c in crops])[:, None]
        cond = {k: torch.stack([c[k] for c in crops]) for k in ("harm", "roll", "onset")}
        cond["instrument"] = torch.tensor([c["instrument"] for c in crops], dtype=torch.long)
        return x0, cond


def logmel_stats(root, split="train", max_stems=200):
    """Mean and std of logmel over the active frames of (up to max_stems)
    stems: the normalisation constants stored in the model config."""
    store = StemStore(root, cache_stems=False)
    total, total_sq, count = 0.0, 0.0, 0
    for row in read_index(root, split)[:max_stems]:
        stem = store.stem(row)
        sel = stem["logmel"][:, stem["active"]]
        if sel.numel():
            total += float(sel.double().sum())
            total_sq += float((sel.double() ** 2).sum())
            count += sel.numel()
    if count == 0:
        raise ValueError(f"{root}: no active frames to compute statistics from")
    mean = total / count
    return mean, math.sqrt(max(total_sq / count - mean * mean, 1e-12))
