"""Diffusion process, loss and samplers for the melodiff U-Net.

Continuous time t in [0, 1] with the cosine schedule
    alpha(t) = cos(pi/2 * t),  sigma(t) = sin(pi/2 * t)      (alpha^2 + sigma^2 = 1)
    x_t = alpha x_0 + sigma eps
The network predicts v = alpha eps - sigma x_0, from which
    x_0 = alpha x_t - sigma v,   eps = sigma x_t + alpha v.
t = 1 is pure noise. The C sampler (src/diffusion) implements the same
formulas; see docs/training.md.

Classifier-free guidance: during training the notes (harmonic image, roll,
onsets) and the instrument are each dropped with probability p_drop
(planes zeroed, instrument -> NULL_ID); at sampling time
    v = v_uncond + w (v_cond - v_uncond)
where "uncond" drops both.
"""
import math

import torch

from model import NULL_ID

T_MIN = 1e-4  # keep sigma > 0 so log-SNR stays finite


def alpha_sigma(t):
    return torch.cos(0.5 * math.pi * t), torch.sin(0.5 * math.pi * t)


def log_snr(t):
    a, s = alpha_sigma(t)
    return torch.log(a) - torch.log(s)


def _noise_device(generator):
    """Noise is drawn where its generator lives (the GPU trainer keeps one
    there), then moved to the data's device if that differs."""
    return generator.device if generator is not None else "cpu"


def drop_conditioning(cond, p_drop, generator=None):
    """Classifier-free guidance dropout. cond = dict(harm, roll, onset,
    instrument); returns a new dict with notes and instrument independently
    dropped per example with probability p_drop."""
    n = cond["instrument"].shape[0]
    dev = cond["instrument"].device
    gdev = _noise_device(generator)
    drop_notes = torch.rand(n, generator=generator, device=gdev).to(dev) < p_drop
    drop_inst = torch.rand(n, generator=generator, device=gdev).to(dev) < p_drop
    keep = (~drop_notes).float()[:, None, None]
    out = {k: cond[k] * keep for k in ("harm", "roll", "onset")}
    out["instrument"] = torch.where(drop_inst, torch.full_like(cond["instrument"], NULL_ID),
                                    cond["instrument"])
    return out


def null_conditioning(cond):
    return {"harm": torch.zeros_like(cond["harm"]), "roll": torch.zeros_like(cond["roll"]),
            "onset": torch.zeros_like(cond["onset"]),
            "instrument": torch.full_like(cond["instrument"], NULL_ID)}


def audible_floor(x0, draw, audible):
    """Per item (N x 1 x 1 x 1): `audible` (normalised units) below the
    loudest bin of the truth or the drawing; what lies under it is inaudible
    and, as in tools/eval's LSD (80 dB under the peak), not scored."""
    peak = torch.maximum(x0.amax(dim=(1, 2, 3)), draw.amax(dim=(1, 2, 3)))
    return (peak - audible)[:, None, None, None]


def audible_x0_error(x0_hat, x0, draw, audible):
    """Squared x0 error with both sides floored at audible_floor."""
    fl = audible_floor(x0, draw, audible)
    return (torch.maximum(x0_hat, fl) - torch.maximum(x0, fl)) ** 2


def v_loss(model, x0, cond, p_drop=0.1, generator=None, weights=None, t_max=1.0, p_draw=0.0, draw_t_min=0.1,
           audible=None):
    """Mean squared error of the v prediction at t drawn uniformly from
    [T_MIN, t_max] (t_max < 1: a refiner that only ever starts from a
    drawing noised to at most t_max, as shallow diffusion does).
    x0: N x 1 x F x T normalised log-mel. weights: optional N x 1 x 1 x T
    per-frame weights (e.g. down-weighting silence).

    p_draw > 0 (a refiner; cond["harm"] is then the normalised drawing):
    that share of the items is noised as the renderer noises them, from the
    drawing instead of the truth, x_t = alpha draw + sigma eps with t in
    [draw_t_min, t_max], and asked for the truth: the v whose x0 is x0,
    (alpha x_t - x0) / sigma. Its error is (x0_hat - x0)^2 / sigma^2, so these
    items are weighted by sigma^2: the x0 error itself, which does not blow up
    at small t where the truth cannot be read off x_t. This teaches the
    refiner what shallow diffusion asks of it (training on x_t of the truth
    alone, it learnt to trust x_t and measured worse than the drawing).
    audible (normalised units, with p_draw): those items score only the
    audible part, audible_x0_error; without it the refiner spent itself on
    bins 80 dB and more under the peak, which no listener, and no LSD of
    tools/eval, hears."""
    n = x0.shape[0]
    gdev = _noise_device(generator)
    t = torch.rand(n, generator=generator, device=gdev).to(x0.device) * (t_max - T_MIN) + T_MIN
    eps = torch.randn(x0.shape, generator=generator, device=gdev).to(x0.device)
    from_draw = None
    if p_draw > 0:
        from_draw = torch.rand(n, generator=generator, device=gdev).to(x0.device) < p_draw
        t_draw = torch.rand(n, generator=generator, device=gdev).to(x0.device) * (t_max - draw_t_min) + draw_t_min
        t = torch.where(from_draw, t_draw, t)
    a, s = alpha_sigma(t)
    a, s = a[:, None, None, None], s[:, None, None, None]
    x_t = a * x0 + s * eps
    v_target = a * eps - s * x0
    if from_draw is not None:
        fd = from_draw[:, None, None, None]
        x_t = torch.where(fd, a * cond["harm"][:, None] + s * eps, x_t)
        v_target = torch.where(fd, (a * x_t - x0) / s, v_target)
    c = drop_conditioning(cond, p_drop, generator) if p_drop > 0 else cond
    v = model(x_t, t, c["harm"], c["roll"], c["onset"], c["instrument"])
    err = (v.float() - v_target) ** 2  # float32 loss also under bf16 autocast
    if from_draw is not None:  # drawn items: the x0 error (sigma^2 times the v error), audible part or all
        x0_err = (audible_x0_error(a * x_t - s * v.float(), x0, cond["harm"][:, None], audible)
                  if audible is not None else err * s * s)
        err = torch.where(fd, x0_err, err)
    if weights is not None:
        return (err * weights).sum() / (weights.sum() * err.shape[2] + 1e-8)
    return err.mean()


def guides_at(t, guidance, interval):
    """As md_sampler_guides_at: guidance applies at time t when it is not 1
    and t lies in interval = (lo, hi); None (or hi <= lo) means every step."""
    if guidance == 1.0:
        return False
    if interval is None or interval[1] <= interval[0]:
        return True
    return interval[0] <= float(t) <= interval[1]


def guided_v(model, x_t, t, cond, guidance):
    """v with classifier-free guidance weight w (w = 1: plain conditional)."""
    tt = t.expand(x_t.shape[0]) if t.dim() == 0 else t
    v_c = model(x_t, tt, cond["harm"], cond["roll"], cond["onset"], cond["instrument"])
    if guidance == 1.0:
        return v_c
    u = null_conditioning(cond)
    v_u = model(x_t, tt, u["harm"], u["roll"], u["onset"], u["instrument"])
    return v_u + guidance * (v_c - v_u)


def time_grid(steps, t_max=1.0, t_min=0.0):
    """steps + 1 times from t_max down to t_min, uniform in t."""
    return torch.linspace(t_max, t_min, steps + 1)


def shallow_start(x, ts, init_x0):
    """Shallow diffusion (src/diffusion/sampler.h, init_x0 / t_start): the
    sampler starts at ts[0] from alpha init_x0 + sigma eps, eps being the
    initial noise x."""
    if init_x0 is None:
        return x
    a, s = alpha_sigma(ts[0])
    return a * init_x0 + s * x


def start_time(t_max, init_x0, t_start):
    """The first time of the grid: t_start when starting from init_x0 and
    lower than the sampler's own top (as md_sampler_time)."""
    if init_x0 is not None and t_start is not None and 0 < t_start < t_max:
        return float(t_start)
    return t_max


@torch.no_grad()
def ddim_sample(model, cond, shape, steps=50, guidance=1.0, generator=None, x_T=None, guide_interval=None,
                init_x0=None, t_start=None):
    """Deterministic DDIM (eta = 0): from x_T ~ N(0, I) at t = 1 to x_0
    (or from init_x0 noised to t_start: shallow_start).
    x_{s} = alpha_s x0_hat + sigma_s eps_hat."""
    x = x_T if x_T is not None else torch.randn(shape, generator=generator)
    ts = time_grid(steps, t_max=start_time(1.0, init_x0, t_start)).to(x)
    x = shallow_start(x, ts, init_x0)
    for i in range(steps):
        t, s = ts[i], ts[i + 1]
        a_t, s_t = alpha_sigma(t)
        v = guided_v(model, x, t, cond, guidance if guides_at(t, guidance, guide_interval) else 1.0)
        x0 = a_t * x - s_t * v
        eps = s_t * x + a_t * v
        a_s, s_s = alpha_sigma(s)
        x = a_s * x0 + s_s * eps
    return x


@torch.no_grad()
def dpmpp_2m_sample(model, cond, shape, steps=20, guidance=1.0, generator=None, x_T=None, guide_interval=None,
                    init_x0=None, t_start=None):
    """DPM-Solver++(2M) (Lu et al. 2022), data prediction, multistep order 2.
    lambda = log(alpha / sigma); h = lambda_s - lambda_t;
    first step:  x_s = (sigma_s/sigma_t) x - alpha_s (e^{-h} - 1) x0
    later steps: D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev, r = h_prev / h,
                 x_s = (sigma_s/sigma_t) x - alpha_s (e^{-h} - 1) D
    The last step lands on t = 0 (sigma = 0), where x = x0."""
    x = x_T if x_T is not None else torch.randn(shape, generator=generator)
    ts = time_grid(steps, t_max=start_time(1.0 - 1e-3, init_x0, t_start), t_min=0.0).to(x)
    x = shallow_start(x, ts, init_x0)
    x0_prev, h_prev = None, None
    for i in range(steps):
        t, s = ts[i], ts[i + 1]
        a_t, s_t = alpha_sigma(t)
        v = guided_v(model, x, t, cond, guidance if guides_at(t, guidance, guide_interval) else 1.0)
        x0 = a_t * x - s_t * v
        if s <= 0:
            x = x0
            break
        a_s, s_s = alpha_sigma(s)
        h = (torch.log(a_s / s_s) - torch.log(a_t / s_t))
        if x0_prev is None:
            d = x0
        else:
            r = h_prev / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev
        x = (s_s / s_t) * x - a_s * torch.expm1(-h) * d
        x0_prev, h_prev = x0, h
    return x
