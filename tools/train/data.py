"""Reads the dataset shards written by `melodiff dataset` (docs/dataset.md).

A dataset directory holds shard-NNNNN.safetensors files and index.jsonl. Each
index line describes one stem: {"source", "stem", "program", "instrument",
"frames", "active_frames", "shard", "key", "split"}; the stem's tensors in its
shard are <key>.logmel [n_mels, T], <key>.harm [n_mels, T], <key>.roll
[128, T], <key>.onset [128, T] (all F32) and <key>.instrument (I32 [1]);
a dataset built with --notebank also has <key>.draw [n_mels, T], the note
bank's drawing of the stem (ln magnitude, as logmel).

Which image fills the model's "harm" input plane is the config's
"cond_image": "harmonic" (the harmonic image) or "notebank" (the drawing,
normalised as x is: (draw - data_mean) / data_std; cond_plane()).

The trainer never computes features itself: everything here comes from the C
library, so training and inference see identical log-mel and conditioning.
"""
import json
import math
import os
import random

import torch
from safetensors import safe_open

from model import DRUM_ID

LOG_FLOOR = math.log(1e-5)  # logmel value of silence under the mel contract
FILLS = {"logmel": LOG_FLOOR, "harm": 0.0, "roll": 0.0, "onset": 0.0, "draw": LOG_FLOOR}  # past a stem's end


def cond_plane(out, cond_image, mean, std):
    """The model's image input plane from a crop's planes (see the module doc)."""
    if cond_image == "notebank":
        if "draw" not in out:
            raise ValueError("the model wants note-bank drawings; build the dataset with --notebank")
        return (out["draw"] - mean) / std
    return out["harm"]


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
    """Open shards (memory-mapped by safetensors). Crops are read with
    get_slice, so only the frames asked for are copied; per stem only the
    instrument and the per-frame activity are kept in memory, which lets a
    dataset far larger than RAM be sampled at random."""

    BASE_PLANES = ("logmel", "harm", "roll", "onset")

    def __init__(self, root):
        self.root = root
        self.handles = {}
        self.meta = {}
        rows = read_index(root)
        has_draw = False
        if rows:
            with safe_open(os.path.join(root, rows[0]["shard"]), framework="pt") as f:
                has_draw = f"{rows[0]['key']}.draw" in f.keys()
        self.planes = self.BASE_PLANES + (("draw",) if has_draw else ())

    def _handle(self, shard):
        if shard not in self.handles:
            self.handles[shard] = safe_open(os.path.join(self.root, shard), framework="pt")
        return self.handles[shard]

    def stem(self, row):
        """dict(logmel, harm, roll, onset) full-length tensors, instrument, active."""
        h = self._handle(row["shard"])
        out = {name: h.get_tensor(f"{row['key']}.{name}") for name in self.planes}
        out["instrument"] = int(h.get_tensor(f"{row['key']}.instrument").reshape(-1)[0])
        out["active"] = activity(out["roll"], out["logmel"])
        return out

    def stem_meta(self, row):
        """(instrument, active [T] bool), computed once per stem."""
        k = (row["shard"], row["key"])
        if k not in self.meta:
            st = self.stem(row)
            self.meta[k] = (st["instrument"], st["active"])
        return self.meta[k]

    def crop(self, row, start, frames):
        """Frames [start, start + frames) of a stem, padded with silence past its end."""
        h = self._handle(row["shard"])
        instrument, active = self.stem_meta(row)
        t_total = active.shape[0]
        end = min(t_total, start + frames)
        out = {}
        for name in self.planes:
            fill = FILLS[name]
            src = h.get_slice(f"{row['key']}.{name}")[:, start:end]
            if src.shape[1] < frames:
                pad = torch.full((src.shape[0], frames - src.shape[1]), fill, dtype=src.dtype)
                src = torch.cat([src, pad], dim=1)
            out[name] = src
        act = active[start:end].float()
        if act.shape[0] < frames:
            act = torch.cat([act, torch.zeros(frames - act.shape[0])])
        out["active"] = act
        out["instrument"] = instrument
        return out


def activity(roll, logmel, margin=3.0):
    """Per-frame bool: a note sounds (roll > 0) or the frame is audibly above
    the floor (ring-out after note-off counts as sound); the same rule as
    md_dataset_active_frames."""
    notes = roll.amax(dim=0) > 0
    audible = logmel.amax(dim=0) > LOG_FLOOR + margin
    return notes | audible


def crop_stem(stem, start, frames):
    """A [start, start + frames) crop of a loaded stem, padded with silence."""
    t_total = stem["logmel"].shape[1]
    end = min(t_total, start + frames)
    out = {}
    for name in [k for k in FILLS if k in stem]:
        fill = FILLS[name]
        src = stem[name][:, start:end]
        if src.shape[1] < frames:
            pad = torch.full((src.shape[0], frames - src.shape[1]), fill, dtype=src.dtype)
            src = torch.cat([src, pad], dim=1)
        out[name] = src
    act = stem["active"][start:end].float()
    out["active"] = torch.cat([act, torch.zeros(frames - act.shape[0])]) if act.shape[0] < frames else act
    return out


def stem_weights(index, drum_weight=1.0):
    """Each stem's chance of being drawn: its active frames (so a crop is
    equally likely to start anywhere there is sound), times drum_weight for
    drum stems (instrument 128). Drums are the worst-rendered stems and their
    rarer keys are rare in the data (BENCHMARKS.md, sixth session), so a run
    may oversample them; 1 draws every frame alike."""
    return [max(1, r.get("active_frames", r["frames"])) * (drum_weight if r.get("instrument") == DRUM_ID else 1.0)
            for r in index]


class CropSampler:
    """Random fixed-length crops from the stems of one split.

    Stems are drawn with probability proportional to their active frames
    (times drum_weight for drum stems, stem_weights);
    a crop whose active fraction is below min_active is redrawn (up to
    `tries` times) except with probability keep_silent, so silence is mostly
    skipped but still seen. Deterministic given the seed."""

    def __init__(self, root, split="train", frames=128, seed=0, min_active=0.3, keep_silent=0.05,
                 tries=8, mean=0.0, std=1.0, drum_weight=1.0, cond_image="harmonic"):
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
        self.cond_image = cond_image
        self.weights = stem_weights(self.index, drum_weight)

    def getstate(self):
        return self.rng.getstate()

    def setstate(self, state):
        self.rng.setstate(state)

    def reseed(self, seed):
        self.rng = random.Random(seed)

    def one(self):
        for attempt in range(self.tries):
            row = self.rng.choices(self.index, weights=self.weights, k=1)[0]
            start = self.rng.randrange(max(1, row["frames"] - self.frames + 1))
            crop = self.store.crop(row, start, self.frames)
            if crop["active"].mean() >= self.min_active or self.rng.random() < self.keep_silent:
                return crop
        return crop

    def batch(self, n):
        crops = [self.one() for _ in range(n)]
        x0 = torch.stack([(c["logmel"] - self.mean) / self.std for c in crops])[:, None]
        cond = {k: torch.stack([c[k] for c in crops]) for k in ("roll", "onset")}
        cond["harm"] = torch.stack([cond_plane(c, self.cond_image, self.mean, self.std) for c in crops])
        cond["instrument"] = torch.tensor([c["instrument"] for c in crops], dtype=torch.long)
        return x0, cond


def logmel_stats(root, split="train", max_stems=200):
    """Mean and std of logmel over the active frames of (up to max_stems)
    stems: the normalisation constants stored in the model config."""
    store = StemStore(root)
    total, total_sq, count = 0.0, 0.0, 0
    rows = read_index(root, split)
    for row in rows[::max(1, len(rows) // max_stems)][:max_stems]:  # spread over all sources
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


class DeviceCropSampler:
    """CropSampler's rules, vectorised, with the whole split resident on one
    device (a GPU trainer would otherwise spend most of each step slicing
    shards in Python). Stems are concatenated along time; a crop is a gather.

    Draws differ from CropSampler's (torch's generator instead of Python's
    random), so the two give different but equally distributed batches;
    each is deterministic given its seed, and resumes exactly through
    getstate/setstate."""

    def __init__(self, root, split="train", frames=128, seed=0, min_active=0.3, keep_silent=0.05,
                 tries=8, mean=0.0, std=1.0, device="cpu", drum_weight=1.0, cond_image="harmonic"):
        self.index = [r for r in read_index(root, split) if r.get("active_frames", r["frames"]) > 0]
        if not self.index:
            raise ValueError(f"{root}: no stems with sound in split '{split}'")
        store = StemStore(root)
        planes = {p: [] for p in store.planes}
        self.plane_names = store.planes
        active, inst, offsets, lengths = [], [], [], []
        total = 0
        for row in self.index:
            st = store.stem(row)
            for p in store.planes:
                planes[p].append(st[p])
            active.append(st["active"])
            inst.append(st["instrument"])
            offsets.append(total)
            lengths.append(st["logmel"].shape[1])
            total += lengths[-1]
        self.device = torch.device(device)
        # one padding column at the end: crops past a stem's end read it
        self.planes = {p: torch.cat(planes[p] + [torch.full((planes[p][0].shape[0], 1), FILLS[p])], dim=1)
                       .to(self.device) for p in store.planes}
        act = torch.cat(active + [torch.zeros(1, dtype=torch.bool)]).float()
        self.active = act.to(self.device)
        self.active_cum = torch.cat([torch.zeros(1), act.cumsum(0)]).to(self.device)
        self.pad_col = total
        self.instrument = torch.tensor(inst, dtype=torch.long, device=self.device)
        self.offsets = torch.tensor(offsets, device=self.device)
        self.lengths = torch.tensor(lengths, device=self.device)
        self.weights = torch.tensor(stem_weights(self.index, drum_weight), dtype=torch.float, device=self.device)
        self.frames, self.min_active, self.keep_silent, self.tries = frames, min_active, keep_silent, tries
        self.mean, self.std = mean, std
        self.cond_image = cond_image
        self.gen = torch.Generator(device=self.device).manual_seed(seed)

    def getstate(self):
        return self.gen.get_state()

    def setstate(self, state):
        self.gen.set_state(state)

    def reseed(self, seed):
        self.gen.manual_seed(seed)

    def _draw(self, n):
        """(stem, start) per crop: `tries` candidates each, the first that
        is active enough (or kept as silence) wins, else the last."""
        k = n * self.tries
        stem = torch.multinomial(self.weights, k, replacement=True, generator=self.gen)
        span = (self.lengths[stem] - self.frames + 1).clamp(min=1)
        start = (torch.rand(k, generator=self.gen, device=self.device) * span).long().clamp(max=span - 1)
        end = torch.minimum(start + self.frames, self.lengths[stem])
        base = self.offsets[stem]
        frac = (self.active_cum[base + end] - self.active_cum[base + start]) / self.frames
        keep = (frac >= self.min_active) | (torch.rand(k, generator=self.gen, device=self.device)
                                            < self.keep_silent)
        keep = keep.view(n, self.tries)
        keep[:, -1] = True
        pick = keep.float().argmax(dim=1)  # first True
        rows = torch.arange(n, device=self.device) * self.tries + pick
        return stem[rows], start[rows]

    def batch(self, n):
        stem, start = self._draw(n)
        pos = start[:, None] + torch.arange(self.frames, device=self.device)[None, :]
        col = torch.where(pos < self.lengths[stem][:, None], self.offsets[stem][:, None] + pos,
                          torch.full_like(pos, self.pad_col)).reshape(-1)
        out = {p: self.planes[p][:, col].reshape(-1, n, self.frames).permute(1, 0, 2).contiguous()
               for p in self.plane_names}
        x0 = ((out["logmel"] - self.mean) / self.std)[:, None]
        cond = {k: out[k] for k in ("roll", "onset")}
        cond["harm"] = cond_plane(out, self.cond_image, self.mean, self.std)
        cond["instrument"] = self.instrument[stem]
        return x0, cond
