"""The melodiff U-Net: a diffusion model over log-mel spectrograms.

The C side (src/nn) runs this exact graph, so it uses only ops melodiff has:
conv2d 3x3/1x1 (stride 1 and 2), nearest upsampling, group norm, SiLU,
linear, FiLM, add, concat, softmax and multi-head self-attention. The graph,
tensor names and layouts are specified in docs/training.md ("The U-Net, op by
op"); keep that page in step with this file.

Shapes: images are N x C x F x T (F = mel bins, low frequency first; T = mel
frames), i.e. NCHW with H = mel and W = time, the layout of md_tensor.

Two choices keep the network *fully convolutional in time*, so it trains on
short crops and renders a long segment in one pass with exactly the result
of any overlapping tiling (tests/test_model.py checks it):
  * group norm statistics are taken per time frame ("frame" norm: over the
    channels of a group and the mel bins, separately for every frame);
  * self-attention, at the lowest resolution only, runs along the frequency
    axis within each frame, never across time.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_PROGRAMS = 128
DRUM_ID = 128      # instrument id of the GM drum kit
NULL_ID = 129      # "no instrument": classifier-free guidance's unconditional branch

DEFAULT_CONFIG = {
    "arch": "melodiff-unet",
    "n_mels": 128,
    "n_pitches": 128,
    "in_channels": 5,            # x_t, harmonic image, roll on mel axis, onsets on mel axis, freq coord
    "out_channels": 1,           # v prediction
    "base_channels": 32,
    "channel_mults": [1, 2, 3, 4],
    "res_blocks": 2,
    "groups": 8,
    "emb_dim": 128,
    "n_instruments": 130,        # 0..127 GM programs, 128 drums, 129 null (CFG)
    "attn": "freq",              # "freq": attention over mel bins per frame at the lowest level; "none"
    "attn_heads": 4,
    "norm": "frame",             # group norm statistics per time frame
    "norm_eps": 1e-5,
    "time_scale": 1000.0,        # the network sees t * time_scale, t in [0, 1]
    "data_mean": -6.0,           # logmel normalisation: x = (logmel - mean) / std
    "data_std": 3.0,
    "schedule": "cosine",        # alpha = cos(pi/2 t), sigma = sin(pi/2 t)
    "prediction": "v",
    "frame_multiple": 8,         # T must be a multiple of 2^(levels-1)
    "cond_image": "harmonic",    # the image input plane: "harmonic" image or "notebank" drawing (data.py)
    "t_max": 1.0,                # trained on t in (0, t_max]: below 1 a refiner for shallow diffusion only
    "cfg_dropout": 0.1,          # guidance dropout it was trained with; 0: no unconditional branch
}


def make_config(**overrides):
    cfg = json.loads(json.dumps(DEFAULT_CONFIG))
    for k, v in overrides.items():
        if k not in cfg:
            raise KeyError(f"unknown config key {k!r}")
        cfg[k] = v
    cfg["frame_multiple"] = 2 ** (len(cfg["channel_mults"]) - 1)
    return cfg


def pitch_to_mel_matrix(n_mels, n_pitches=128, sample_rate=44100, fmin=0.0, fmax=22050.0):
    """P[m, p] = 1 where mel bin m is the bin whose centre is nearest (in mel)
    to MIDI key p's fundamental; roll_on_mel = P @ roll."""
    def hz_to_mel(f):  # Slaney, as librosa / md_hz_to_mel
        f_sp, min_log_hz = 200.0 / 3.0, 1000.0
        min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
        return min_log_mel + math.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

    lo, hi = hz_to_mel(fmin), hz_to_mel(fmax)
    # Band m of an n_mels filterbank peaks at mel point m + 1 of n_mels + 2.
    centres = [lo + (hi - lo) * (m + 1) / (n_mels + 1) for m in range(n_mels)]
    P = torch.zeros(n_mels, n_pitches)
    for p in range(n_pitches):
        mp = hz_to_mel(440.0 * 2.0 ** ((p - 69) / 12.0))
        m = min(range(n_mels), key=lambda i: abs(centres[i] - mp))
        P[m, p] = 1.0
    return P


def timestep_embedding(t, dim):
    """Sinusoidal embedding of the scaled noise level: [cos(t f_k), sin(t f_k)]
    with f_k = exp(-ln(10000) k / (dim/2)), k = 0 .. dim/2 - 1."""
    half = dim // 2
    t = t if t.is_floating_point() else t.float()
    k = torch.arange(half, dtype=t.dtype, device=t.device)
    freqs = torch.exp(-math.log(10000.0) * k / half)
    args = t[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class FrameGroupNorm(nn.GroupNorm):
    """Group norm whose statistics are per time frame (see module doc).
    Parameters and names are nn.GroupNorm's (weight, bias)."""

    def __init__(self, groups, channels, eps, per_frame=True):
        super().__init__(groups, channels, eps=eps)
        self.per_frame = per_frame

    def forward(self, x):
        if not self.per_frame:
            return super().forward(x)
        n, c, f, t = x.shape
        y = x.permute(0, 3, 1, 2).reshape(n * t, c, f)
        y = F.group_norm(y, self.num_groups, self.weight, self.bias, self.eps)
        return y.reshape(n, t, c, f).permute(0, 2, 3, 1)


def _norm(cfg, channels):
    return FrameGroupNorm(cfg["groups"], channels, cfg["norm_eps"], cfg["norm"] == "frame")


class ResBlock(nn.Module):
    """h = conv1(silu(norm1(x)))
       h = silu(norm2(h) * (1 + scale) + shift),  [scale, shift] = film(silu(emb))
       out = conv2(h) + skip(x)          (skip: 1x1 conv when channels change)"""

    def __init__(self, cfg, cin, cout):
        super().__init__()
        self.norm1 = _norm(cfg, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Linear(cfg["emb_dim"], 2 * cout)
        self.norm2 = _norm(cfg, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb_act):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(emb_act)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm2(h) * (1 + scale) + shift)
        h = self.conv2(h)
        return h + (self.skip(x) if self.skip is not None else x)


class FreqAttention(nn.Module):
    """Pre-norm multi-head self-attention over the mel bins of each frame:
    tokens are the F positions of one frame, each a C-vector.
    qkv: Linear(C, 3C) (rows: q, then k, then v; heads split each into
    C/heads chunks), softmax(q k^T / sqrt(C/heads)) v, proj: Linear(C, C),
    added to the input."""

    def __init__(self, cfg, channels):
        super().__init__()
        self.heads = cfg["attn_heads"]
        self.norm = _norm(cfg, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x):
        n, c, f, t = x.shape
        tok = self.norm(x).permute(0, 3, 2, 1).reshape(n * t, f, c)
        q, k, v = self.qkv(tok).chunk(3, dim=2)
        d = c // self.heads

        def split(z):
            return z.reshape(n * t, f, self.heads, d).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(n * t, f, c)
        o = self.proj(o).reshape(n, t, f, c).permute(0, 3, 2, 1)
        return x + o


class Downsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch = cfg["base_channels"]
        mults = cfg["channel_mults"]
        nres = cfg["res_blocks"]
        emb = cfg["emb_dim"]
        if cfg["n_mels"] % (2 ** (len(mults) - 1)):
            raise ValueError("n_mels must be divisible by 2^(levels-1)")
        self.register_buffer("pitch_to_mel", pitch_to_mel_matrix(cfg["n_mels"], cfg["n_pitches"]))
        coord = torch.linspace(-1.0, 1.0, cfg["n_mels"]).reshape(1, 1, cfg["n_mels"], 1)
        self.register_buffer("freq_coord", coord)

        self.time_mlp = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inst_emb = nn.Embedding(cfg["n_instruments"], emb)
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch, 3, padding=1)

        self.down = nn.ModuleList()
        skip_ch = [ch]
        cur = ch
        for level, m in enumerate(mults):
            for _ in range(nres):
                self.down.append(ResBlock(cfg, cur, ch * m))
                cur = ch * m
                skip_ch.append(cur)
            if level != len(mults) - 1:
                self.down.append(Downsample(cur))
                skip_ch.append(cur)

        self.mid1 = ResBlock(cfg, cur, cur)
        self.mid_attn = FreqAttention(cfg, cur) if cfg["attn"] == "freq" else None
        self.mid2 = ResBlock(cfg, cur, cur)

        self.up = nn.ModuleList()
        for level, m in reversed(list(enumerate(mults))):
            for _ in range(nres + 1):
                self.up.append(ResBlock(cfg, cur + skip_ch.pop(), ch * m))
                cur = ch * m
            if level != 0:
                self.up.append(Upsample(cur))

        self.norm_out = _norm(cfg, cur)
        self.conv_out = nn.Conv2d(cur, cfg["out_channels"], 3, padding=1)

    def cond_input(self, harm, roll, onset):
        """The constant conditioning channels [harm, P roll, P onset, coord]:
        harm N x n_mels x T, roll/onset N x 128 x T -> N x 4 x n_mels x T."""
        n, _, t = harm.shape
        roll_mel = torch.einsum("mp,npt->nmt", self.pitch_to_mel, roll)
        onset_mel = torch.einsum("mp,npt->nmt", self.pitch_to_mel, onset)
        coord = self.freq_coord.expand(n, 1, self.cfg["n_mels"], t)
        return torch.cat([harm[:, None], roll_mel[:, None], onset_mel[:, None], coord], dim=1)

    def embed(self, t, instrument):
        """emb = time_mlp(sinusoid(t * time_scale)) + inst_emb[instrument]."""
        e = self.time_mlp(timestep_embedding(t * self.cfg["time_scale"], self.cfg["base_channels"]))
        return e + self.inst_emb(instrument)

    def forward(self, x_t, t, harm, roll, onset, instrument):
        """x_t: N x 1 x n_mels x T (normalised log-mel plus noise); t: N in [0, 1];
        harm: N x n_mels x T; roll, onset: N x 128 x T; instrument: N (long).
        Returns the v prediction, N x 1 x n_mels x T."""
        if x_t.shape[-1] % self.cfg["frame_multiple"]:
            raise ValueError(f"T={x_t.shape[-1]} is not a multiple of {self.cfg['frame_multiple']}")
        h = self.conv_in(torch.cat([x_t, self.cond_input(harm, roll, onset)], dim=1))
        emb_act = F.silu(self.embed(t, instrument))
        skips = [h]
        for layer in self.down:
            h = layer(h, emb_act) if isinstance(layer, ResBlock) else layer(h)
            skips.append(h)
        h = self.mid1(h, emb_act)
        if self.mid_attn is not None:
            h = self.mid_attn(h)
        h = self.mid2(h, emb_act)
        for layer in self.up:
            if isinstance(layer, ResBlock):
                h = layer(torch.cat([h, skips.pop()], dim=1), emb_act)
            else:
                h = layer(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def count_params(model):
    return sum(p.numel() for p in model.parameters())
