"""Schedule, guidance dropout and the samplers."""
import math

import torch

from diffusion import (alpha_sigma, ddim_sample, dpmpp_2m_sample, drop_conditioning, guided_v,
                       null_conditioning, v_loss)
from model import NULL_ID, UNet


class OracleV(torch.nn.Module):
    """The exact v for data that is always the constant image c:
    eps = (x_t - alpha c) / sigma, v = alpha eps - sigma c."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x_t, t, harm, roll, onset, instrument):
        a, s = alpha_sigma(t)
        a, s = a[:, None, None, None], s[:, None, None, None]
        eps = (x_t - a * self.c) / s
        return a * eps - s * self.c


def cond(n, t):
    return {"harm": torch.rand(n, 128, t), "roll": torch.rand(n, 128, t), "onset": torch.rand(n, 128, t),
            "instrument": torch.arange(n)}


def test_schedule_is_variance_preserving():
    t = torch.linspace(0, 1, 11)
    a, s = alpha_sigma(t)
    assert torch.allclose(a ** 2 + s ** 2, torch.ones(11))
    assert float(s[0]) == 0.0 and abs(float(a[-1])) < 1e-6
    assert abs(float(a[5]) - math.cos(math.pi / 4)) < 1e-6


def test_samplers_recover_the_data_with_an_exact_model():
    c = torch.randn(1, 1, 128, 8, dtype=torch.float64)
    oracle = OracleV(c)
    cnd = {k: v.double() if v.is_floating_point() else v for k, v in cond(1, 8).items()}
    g = torch.Generator().manual_seed(0)
    x_T = torch.randn(1, 1, 128, 8, generator=g, dtype=torch.float64)
    for sampler, steps in ((ddim_sample, 10), (dpmpp_2m_sample, 10)):
        x0 = sampler(oracle, cnd, c.shape, steps=steps, x_T=x_T)
        assert float((x0 - c).abs().max()) < 1e-6, sampler.__name__


def test_samplers_run_on_the_unet(tiny_cfg):
    model = UNet(tiny_cfg).eval()
    cnd = cond(2, 16)
    g = torch.Generator().manual_seed(0)
    for sampler in (ddim_sample, dpmpp_2m_sample):
        x = sampler(model, cnd, (2, 1, 128, 16), steps=4, guidance=2.0, generator=g)
        assert x.shape == (2, 1, 128, 16) and torch.isfinite(x).all()


def test_guidance_one_is_conditional_and_zero_is_unconditional(tiny_cfg):
    model = UNet(tiny_cfg).eval()
    cnd = cond(2, 16)
    x = torch.randn(2, 1, 128, 16)
    t = torch.tensor([0.5, 0.7])
    with torch.no_grad():
        v_c = model(x, t, cnd["harm"], cnd["roll"], cnd["onset"], cnd["instrument"])
        u = null_conditioning(cnd)
        v_u = model(x, t, u["harm"], u["roll"], u["onset"], u["instrument"])
        assert torch.allclose(guided_v(model, x, t, cnd, 1.0), v_c)
        assert torch.allclose(guided_v(model, x, t, cnd, 0.0), v_u, atol=1e-6)
        assert torch.allclose(guided_v(model, x, t, cnd, 3.0), v_u + 3 * (v_c - v_u), atol=1e-5)


def test_dropout_probabilities():
    cnd = cond(4000, 2)
    out = drop_conditioning(cnd, 0.1, torch.Generator().manual_seed(0))
    notes_dropped = (out["roll"].flatten(1).abs().sum(1) == 0).float().mean()
    inst_dropped = (out["instrument"] == NULL_ID).float().mean()
    assert 0.08 < float(notes_dropped) < 0.12
    assert 0.08 < float(inst_dropped) < 0.12
    assert torch.equal(drop_conditioning(cnd, 0.0)["instrument"], cnd["instrument"])
    assert bool((drop_conditioning(cnd, 1.0)["instrument"] == NULL_ID).all())


def test_training_reduces_the_loss_on_a_fixed_batch(tiny_cfg):
    torch.manual_seed(0)
    model = UNet(tiny_cfg)
    x0 = torch.zeros(4, 1, 128, 16)
    x0[:, :, 20:40, :] = 1.5  # a simple "spectrum" the net can learn
    cnd = cond(4, 16)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)

    def loss_at(seed):
        return v_loss(model, x0, cnd, p_drop=0.0, generator=torch.Generator().manual_seed(seed))

    with torch.no_grad():
        before = sum(float(loss_at(s)) for s in range(4))
    for step in range(60):
        opt.zero_grad()
        loss_at(100 + step).backward()
        opt.step()
    with torch.no_grad():
        after = sum(float(loss_at(s)) for s in range(4))
    assert after < 0.7 * before, (before, after)


class CountingModel(torch.nn.Module):
    """Counts unconditional calls (null instrument) and the times they came at."""

    def __init__(self):
        super().__init__()
        self.t_uncond = []

    def forward(self, x_t, t, harm, roll, onset, instrument):
        if int(instrument[0]) == NULL_ID:
            self.t_uncond.append(float(t[0]))
        return torch.zeros_like(x_t)


def test_guidance_interval_matches_the_c_sampler():
    """As tests/test_diffusion_sampler.c: 8 DPM-Solver++ steps guided only at
    t in [0.3, 0.8] run the unconditional branch at exactly 4 steps (t =
    0.749, 0.624, 0.500, 0.375); without an interval, at all 8."""
    cnd = cond(1, 4)
    m = CountingModel()
    dpmpp_2m_sample(m, cnd, (1, 1, 128, 4), steps=8, guidance=1.5, x_T=torch.zeros(1, 1, 128, 4),
                    guide_interval=(0.3, 0.8))
    assert len(m.t_uncond) == 4 and all(0.3 <= t <= 0.8 for t in m.t_uncond)
    m.t_uncond.clear()
    dpmpp_2m_sample(m, cnd, (1, 1, 128, 4), steps=8, guidance=1.5, x_T=torch.zeros(1, 1, 128, 4))
    assert len(m.t_uncond) == 8


def test_shallow_start_matches_the_c_sampler():
    """As tests/test_diffusion_sampler.c: with init_x0 and t_start the grid
    starts at t_start, x starts at alpha init + sigma eps, and an exact model
    of constant data still lands on the data."""
    c = torch.randn(1, 1, 128, 8, dtype=torch.float64)
    oracle = OracleV(c)
    cnd = {k: v.double() if v.is_floating_point() else v for k, v in cond(1, 8).items()}
    eps = torch.randn(1, 1, 128, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    init = torch.zeros_like(c)
    for sampler in (ddim_sample, dpmpp_2m_sample):
        x0 = sampler(oracle, cnd, c.shape, steps=3, x_T=eps, init_x0=init, t_start=0.3)
        assert float((x0 - c).abs().max()) < 1e-6, sampler.__name__
    m = CountingModel()
    dpmpp_2m_sample(m, cond(1, 4), (1, 1, 128, 4), steps=3, guidance=1.5, x_T=torch.zeros(1, 1, 128, 4),
                    init_x0=torch.zeros(1, 1, 128, 4), t_start=0.3)
    assert abs(m.t_uncond[0] - 0.3) < 1e-6 and len(m.t_uncond) == 3
