"""U-Net shapes, size, and full convolutionality in time."""
import torch

from model import DRUM_ID, NULL_ID, UNet, count_params, make_config, pitch_to_mel_matrix


def inputs(n, t, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, 1, 128, t, generator=g), torch.rand(n, generator=g),
         torch.rand(n, 128, t, generator=g), (torch.rand(n, 128, t, generator=g) < 0.05).float(),
         (torch.rand(n, 128, t, generator=g) < 0.01).float())
    return tuple(z.to(dtype) for z in x) + (torch.tensor([3, DRUM_ID, NULL_ID][:n]),)


def double_model(cfg):
    """Locality checks run in float64 so rounding (which differs with the
    tensor width) cannot hide or fake a dependency."""
    return UNet(cfg).double().eval()


def test_output_shape(tiny_cfg):
    m = UNet(tiny_cfg).eval()
    for t in (16, 40):
        x = inputs(2, t)
        assert m(*x).shape == (2, 1, 128, t)


def test_rejects_bad_length(tiny_cfg):
    m = UNet(tiny_cfg).eval()
    try:
        m(*inputs(1, 18))
    except ValueError as e:
        assert "multiple" in str(e)
    else:
        raise AssertionError("T=18 should be refused (frame_multiple 4)")


def test_default_model_fits_size_budget():
    m = UNet(make_config())
    assert count_params(m) * 4 <= 25 * 1000 * 1000, count_params(m)


def test_pitch_to_mel_is_one_hot_and_monotone():
    p = pitch_to_mel_matrix(128)
    assert torch.all(p.sum(0) == 1)
    bins = p.argmax(0)
    assert torch.all(bins[1:] >= bins[:-1])
    # A4 (440 Hz) lands in band 13, whose centre (librosa.mel_frequencies)
    # is 433 Hz, the nearest one in mel.
    assert int(bins[69]) == 13


def receptive_radius(model, t=256):
    """Largest |output frame - input frame| over which a change propagates."""
    x = inputs(1, t, dtype=torch.float64)
    base = model(*x)
    x2 = list(x)
    x2[0] = x[0].clone()
    mid = t // 2
    x2[0][..., mid] += 5.0
    diff = (model(*x2) - base).abs().amax(dim=(0, 1, 2))
    changed = torch.nonzero(diff > 1e-12).flatten()
    return int(max(mid - changed.min(), changed.max() - mid))


def prefix_mismatch(model, short=64, long=128):
    """Max difference between the output for a T=long input, on its first
    frames, and for the same input cut to T=short, away from the cut."""
    x = inputs(1, long, dtype=torch.float64)
    cut = tuple(z[..., :short] if z.dim() >= 3 else z for z in x)
    r = receptive_radius(model)
    keep = short - r
    assert keep > 8, f"receptive radius {r} leaves nothing to compare"
    with torch.no_grad():
        return float((model(*x)[..., :keep] - model(*cut)[..., :keep]).abs().max())


def test_fully_convolutional_in_time(tiny_cfg):
    """Per-frame norms and frequency-only attention: the output at a frame
    depends only on inputs within the receptive field, so a short crop and a
    long segment agree wherever the crop's edge is out of reach."""
    model = double_model(tiny_cfg)
    with torch.no_grad():
        r = receptive_radius(model)
    assert 0 < r < 100
    assert prefix_mismatch(model, short=128, long=256) < 1e-10


def test_global_group_norm_would_break_it(tiny_cfg):
    """The check above can fail: with ordinary group norm (statistics over
    the whole segment) the same comparison differs."""
    cfg = dict(tiny_cfg, norm="global")
    model = double_model(cfg)
    x = inputs(1, 128, dtype=torch.float64)
    cut = tuple(z[..., :64] if z.dim() >= 3 else z for z in x)
    with torch.no_grad():
        d = float((model(*x)[..., :8] - model(*cut)[..., :8]).abs().max())
    assert d > 1e-4


def test_time_shift_equivariance(tiny_cfg):
    """Shifting the input by a multiple of frame_multiple shifts the output
    (away from the edges)."""
    model = double_model(tiny_cfg)
    x = inputs(1, 256, dtype=torch.float64)
    s = tiny_cfg["frame_multiple"] * 2
    shifted = tuple(torch.roll(z, s, dims=-1) if z.dim() >= 3 else z for z in x)
    with torch.no_grad():
        r = receptive_radius(model)
        a = model(*x)[..., r + s: 256 - r - s]
        b = model(*shifted)[..., r + 2 * s: 256 - r]
    assert a.shape[-1] >= 32
    assert float((a - b).abs().max()) < 1e-10


def test_conditioning_changes_output(tiny_cfg):
    model = UNet(tiny_cfg).eval()
    x = inputs(2, 16)
    with torch.no_grad():
        base = model(*x)
        other_inst = model(*x[:5], torch.tensor([7, 8]))
        no_notes = model(x[0], x[1], x[2] * 0, x[3] * 0, x[4] * 0, x[5])
    assert float((base - other_inst).abs().max()) > 1e-4
    assert float((base - no_notes).abs().max()) > 1e-4
