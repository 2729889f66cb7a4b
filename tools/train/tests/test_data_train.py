"""Shard reading, crops, and the training loop (including resume)."""
import json
import os

import pytest
import torch

import train
from conftest import TINY, write_fake_dataset
from data import CropSampler, DeviceCropSampler, LOG_FLOOR, logmel_stats, read_contract, read_index


def test_crops_have_the_right_shapes_and_skip_silence(tmp_path):
    write_fake_dataset(str(tmp_path))
    s = CropSampler(str(tmp_path), "train", frames=32, seed=0, min_active=0.5, keep_silent=0.0, tries=50)
    x0, cond = s.batch(16)
    assert x0.shape == (16, 1, 128, 32)
    assert cond["roll"].shape == (16, 128, 32) and cond["harm"].shape == (16, 128, 32)
    assert cond["instrument"].dtype == torch.long
    active = (cond["roll"].amax(1) > 0).float().mean(1)
    assert float(active.min()) >= 0.5
    # The val stem is never drawn from the train split.
    assert all(r["split"] == "train" for r in s.index)


def test_crops_past_the_end_are_padded_with_silence(tmp_path):
    write_fake_dataset(str(tmp_path), frames=20)
    s = CropSampler(str(tmp_path), "train", frames=48, seed=0)
    crop = s.one()
    assert crop["logmel"].shape == (128, 48)
    assert torch.all(crop["logmel"][:, 20:] == LOG_FLOOR)


def test_stats_and_contract(tmp_path):
    write_fake_dataset(str(tmp_path))
    mean, std = logmel_stats(str(tmp_path))
    assert -5.0 < mean < -3.0 and 0.5 < std < 1.5
    assert json.loads(read_contract(str(tmp_path), read_index(str(tmp_path))))["n_mels"] == 128


def test_a_refiner_sees_the_normalised_drawing(tmp_path):
    """cond_image "notebank": the image plane is (draw - mean) / std, from both
    samplers, padded past a stem's end with the floor's value; a dataset
    without drawings is refused for such a model."""
    write_fake_dataset(str(tmp_path), frames=20, draw=True)
    mean, std = -6.0, 3.0
    for make in (CropSampler, DeviceCropSampler):
        s = make(str(tmp_path), "train", frames=32, seed=0, mean=mean, std=std, cond_image="notebank")
        x0, cond = s.batch(4)
        assert torch.allclose(cond["harm"][:, :, :20], x0[:, 0, :, :20] + 0.5 / std, atol=1e-5), make.__name__
        assert torch.allclose(cond["harm"][:, :, 20:], torch.tensor((LOG_FLOOR - mean) / std)), make.__name__
        plain = make(str(tmp_path), "train", frames=32, seed=0, mean=mean, std=std)
        assert float(plain.batch(4)[1]["harm"].max()) <= 1.0  # the harmonic image, not the drawing
    bare = tmp_path / "bare"
    write_fake_dataset(str(bare))
    with pytest.raises(ValueError, match="--notebank"):
        CropSampler(str(bare), "train", frames=32, cond_image="notebank").batch(1)


def test_t_max_bounds_the_training_times():
    """v_loss with t_max draws t only up to t_max: an exact x0 oracle's loss
    stays zero, and a model that fails above t_max goes unseen."""
    from diffusion import alpha_sigma, v_loss
    x0 = torch.randn(64, 1, 8, 8)
    seen = []

    def model(x_t, t, harm, roll, onset, inst):
        seen.append(t)
        a, s = alpha_sigma(t)
        a, s = a[:, None, None, None], s[:, None, None, None]
        eps = (x_t - a * x0) / s
        return a * eps - s * x0

    cond = {"harm": torch.zeros(64, 8, 8), "roll": torch.zeros(64, 128, 8), "onset": torch.zeros(64, 128, 8),
            "instrument": torch.zeros(64, dtype=torch.long)}
    loss = v_loss(model, x0, cond, p_drop=0.0, generator=torch.Generator().manual_seed(0), t_max=0.3)
    assert float(loss) < 1e-8
    assert float(seen[0].max()) <= 0.3 and float(seen[0].min()) > 0


def test_items_noised_from_the_drawing_score_the_x0_error():
    """p_draw 1: x_t is built from the drawing (cond["harm"]) with t in
    [draw_t_min, t_max]; a model whose x0 is the truth scores 0, one whose x0
    is the drawing scores the drawing's mean squared error (the sigma^2
    weight turns the v error into the x0 error)."""
    from diffusion import alpha_sigma, v_loss
    g = torch.Generator().manual_seed(1)
    x0, draw = torch.randn(32, 1, 8, 8, generator=g), torch.randn(32, 1, 8, 8, generator=g)
    cond = {"harm": draw[:, 0], "roll": torch.zeros(32, 128, 8), "onset": torch.zeros(32, 128, 8),
            "instrument": torch.zeros(32, dtype=torch.long)}
    times = []

    def predicting(target):
        def model(x_t, t, harm, roll, onset, inst):
            times.append(t)
            a, s = alpha_sigma(t)
            a, s = a[:, None, None, None], s[:, None, None, None]
            return (a * x_t - target) / s  # the v whose x0 is target
        return model

    kw = dict(p_drop=0.0, t_max=0.5, p_draw=1.0, draw_t_min=0.2)
    assert float(v_loss(predicting(x0), x0, cond, generator=torch.Generator().manual_seed(0), **kw)) < 1e-10
    got = float(v_loss(predicting(draw), x0, cond, generator=torch.Generator().manual_seed(0), **kw))
    assert abs(got - float(((draw - x0) ** 2).mean())) < 1e-4
    assert all(float(t.min()) >= 0.2 and float(t.max()) <= 0.5 for t in times)


def test_the_audible_error_ignores_what_lies_under_the_floor():
    """audible_x0_error floors both sides at `audible` under the item's peak
    (of truth or drawing): errors there cost nothing, errors above count."""
    from diffusion import audible_x0_error
    x0 = torch.tensor([[[[5.0, -1.0, -4.0]]]])
    draw = torch.tensor([[[[4.0, -1.0, -3.5]]]])
    pred = torch.tensor([[[[4.5, 0.0, -9.0]]]])
    err = audible_x0_error(pred, x0, draw, audible=7.0)  # floor 5 - 7 = -2
    assert torch.allclose(err, torch.tensor([[[[0.25, 1.0, 0.0]]]]))


def test_init_starts_a_refiner_from_a_model_file(tmp_path):
    """--init takes a model file's weights, config and normalisation; --config
    then turns it into a refiner, and the exported config says so."""
    import export
    data = str(tmp_path / "ds")
    write_fake_dataset(data, draw=True)
    base = run_train(data, str(tmp_path / "base"), 2)
    path = str(tmp_path / "base.safetensors")
    assert export.main([str(tmp_path / "base" / "ckpt.pt"), path]) == 0
    args = ["--data", data, "--out", str(tmp_path / "ref"), "--steps", "2", "--batch", "2", "--frames", "16",
            "--init", path, "--config", json.dumps({"cond_image": "notebank", "t_max": 0.5}), "--p-drop", "0",
            "--log-every", "1", "--val-every", "2", "--val-batches", "1", "--warmup", "2", "--ema", "0.9"]
    assert train.main(args) == 0
    ref = torch.load(str(tmp_path / "ref" / "ckpt.pt"), weights_only=False)
    cfg = ref["config"]
    assert cfg["cond_image"] == "notebank" and cfg["t_max"] == 0.5 and cfg["cfg_dropout"] == 0
    assert cfg["data_mean"] == base["config"]["data_mean"] and cfg["base_channels"] == TINY["base_channels"]
    assert ref["state"]["init"]["path"] == path and len(ref["state"]["init"]["sha256"]) == 64


def run_train(data, out, steps, extra=()):
    args = ["--data", data, "--out", out, "--steps", str(steps), "--batch", "2", "--frames", "16",
            "--config", json.dumps(TINY), "--log-every", "1", "--val-every", "2", "--val-batches", "1",
            "--warmup", "2", "--ema", "0.9"] + list(extra)
    assert train.main(args) == 0
    return torch.load(os.path.join(out, "ckpt.pt"), weights_only=False)


def test_train_resume_matches_an_uninterrupted_run(tmp_path):
    data = str(tmp_path / "ds")
    write_fake_dataset(data)
    full = run_train(data, str(tmp_path / "a"), 4)
    run_train(data, str(tmp_path / "b"), 2)
    resumed = run_train(data, str(tmp_path / "b"), 4, ["--resume"])
    assert full["state"]["step"] == resumed["state"]["step"] == 4
    for k in full["ema"]:
        assert torch.allclose(full["ema"][k], resumed["ema"][k], atol=1e-6), k
    log = [json.loads(line) for line in open(tmp_path / "a" / "loss.jsonl")]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert "val_loss_ema" in log[1]
    cfg = json.load(open(tmp_path / "a" / "config.json"))
    assert cfg["base_channels"] == TINY["base_channels"] and cfg["data_mean"] < -3


def test_evaluate_reports_model_and_baselines(tmp_path, capsys):
    import evaluate
    data = str(tmp_path / "ds")
    write_fake_dataset(data, n_stems=6, frames=80)
    run_train(data, str(tmp_path / "r"), 2)
    capsys.readouterr()
    assert evaluate.main([str(tmp_path / "r" / "ckpt.pt"), "--data", data, "--crops", "2",
                          "--frames", "16", "--steps", "2"]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for k in ("mae_model", "mae_mean_image", "mae_wrong_stem"):
        assert rep[k] >= 0


def test_lr_schedule_warms_up_holds_and_decays():
    import train
    args = train.parse_args(["--data", "d", "--out", "o", "--lr", "1e-3", "--warmup", "10",
                             "--steps", "100", "--decay-from", "50", "--lr-min", "1e-4"])
    assert abs(train.lr_at(0, args) - 1e-4) < 1e-12
    assert train.lr_at(9, args) == 1e-3
    assert train.lr_at(49, args) == 1e-3
    assert abs(train.lr_at(75, args) - 5.5e-4) < 1e-12
    assert abs(train.lr_at(100, args) - 1e-4) < 1e-12
    flat = train.parse_args(["--data", "d", "--out", "o", "--lr", "1e-3", "--warmup", "10"])
    assert train.lr_at(10**6, flat) == 1e-3


def test_device_sampler_follows_the_crop_rules(tmp_path):
    write_fake_dataset(str(tmp_path), frames=80)
    s = DeviceCropSampler(str(tmp_path), "train", frames=32, seed=0, min_active=0.5, keep_silent=0.0, tries=50)
    x0, cond = s.batch(16)
    assert x0.shape == (16, 1, 128, 32) and cond["roll"].shape == (16, 128, 32)
    assert cond["instrument"].dtype == torch.long
    assert float((cond["roll"].amax(1) > 0).float().mean(1).min()) >= 0.5
    # every crop is a real window of the stem it names
    store = CropSampler(str(tmp_path), "train", frames=32).store
    stems = {int(store.stem(r)["instrument"]): store.stem(r) for r in s.index}
    for i in range(16):
        st = stems[int(cond["instrument"][i])]
        hits = [t for t in range(80 - 32 + 1) if torch.equal(st["roll"][:, t:t + 32], cond["roll"][i])
                and torch.equal(st["logmel"][:, t:t + 32], x0[i, 0])]
        assert hits, f"crop {i} is not a window of its stem"


def test_device_sampler_pads_past_the_end_and_resumes(tmp_path):
    write_fake_dataset(str(tmp_path), frames=20)
    s = DeviceCropSampler(str(tmp_path), "train", frames=48, seed=3)
    x0, cond = s.batch(4)
    assert torch.all(x0[:, 0, :, 20:] == LOG_FLOOR) and torch.all(cond["roll"][:, :, 20:] == 0)
    state = s.getstate()
    a = s.batch(5)[0]
    s.setstate(state)
    assert torch.equal(a, s.batch(5)[0])


def test_train_with_the_device_sampler_resumes_exactly(tmp_path):
    data = str(tmp_path / "ds")
    write_fake_dataset(data)
    full = run_train(data, str(tmp_path / "a"), 4, ["--sampler", "device"])
    run_train(data, str(tmp_path / "b"), 2, ["--sampler", "device"])
    resumed = run_train(data, str(tmp_path / "b"), 4, ["--sampler", "device", "--resume"])
    for k in full["ema"]:
        assert torch.allclose(full["ema"][k], resumed["ema"][k], atol=1e-6), k


def test_drum_weight_oversamples_drum_stems(tmp_path):
    """--drum-weight W multiplies a drum stem's odds by W, on both samplers:
    with 5 train stems of which 1 is drums (instrument 128), W = 4 raises its
    expected share from about 1/5 to about 4/8 (equal active frames assumed;
    the fake stems differ a little, so the bounds are loose but far apart)."""
    from data import stem_weights
    from model import DRUM_ID
    write_fake_dataset(str(tmp_path), n_stems=6)
    index = read_index(str(tmp_path), "train")
    w1, w4 = stem_weights(index, 1.0), stem_weights(index, 4.0)
    for r, a, b in zip(index, w1, w4):
        assert b == (4 * a if r["instrument"] == DRUM_ID else a)
    for make in (CropSampler, DeviceCropSampler):
        share = {}
        for w in (1.0, 4.0):
            s = make(str(tmp_path), "train", frames=16, seed=3, min_active=0.0, drum_weight=w)
            _, cond = s.batch(2000)
            share[w] = float((cond["instrument"] == DRUM_ID).float().mean())
        assert 0.1 < share[1.0] < 0.3 and 0.4 < share[4.0] < 0.65, (make.__name__, share)
