"""FACIAL-GAN networks: shapes, config and checkpoint round trips."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from a2f_synthetic import K, tiny_config
from facial.audio2face import Discriminator, FacialGAN, FacialGANConfig
from facial.audio2face.losses import discriminator_loss, generator_loss
from facial.hub import CheckpointNotFound


@pytest.fixture()
def model() -> FacialGAN:
    torch.manual_seed(0)
    return FacialGAN(tiny_config()).eval()


def _inputs(cfg: FacialGANConfig, b: int, t: int):
    return torch.randn(b, t, cfg.audio.window, cfg.audio.n_mels), torch.randn(b, cfg.param_dim)


@pytest.mark.parametrize("t", [1, 7, 32, 45])
def test_generator_shapes_any_length(model, t):
    audio, first = _inputs(model.config, 3, t)
    out = model(audio, first)
    assert out.shape == (3, t, 7 + K)
    assert torch.isfinite(out).all()


def test_default_config_sizes_follow_the_paper():
    cfg = FacialGANConfig()
    assert cfg.seq_len == 128 and cfg.context_dim == 32 and cfg.frame_dim == 32
    w = cfg.losses
    assert (w.first_frame, w.expression, w.expression_diff, w.blink, w.blink_diff, w.pose, w.pose_diff, w.adversarial) == \
        (10, 20, 200, 0.5, 1, 1, 10, 0.1)
    assert cfg.param_dim == 7 + cfg.n_expression


def test_discriminator_and_losses(model):
    cfg = model.config
    disc = Discriminator(cfg)
    audio, first = _inputs(cfg, 2, cfg.seq_len)
    pred = model(audio, first)
    target = torch.randn_like(pred)
    scores = disc(pred)
    assert scores.shape[0] == 2 and scores.ndim == 4
    total, terms = generator_loss(model, pred, target, first, scores)
    assert set(terms) >= {"first_frame", "expression", "expression_diff", "blink", "blink_diff", "pose", "pose_diff", "mouth", "adversarial"}
    assert torch.isfinite(total)
    total.backward()
    assert torch.isfinite(discriminator_loss(disc(target), disc(pred.detach())))


def test_bad_inputs_are_explained(model):
    cfg = model.config
    with pytest.raises(ValueError, match="audio windows"):
        model(torch.randn(1, 4, cfg.audio.window + 1, cfg.audio.n_mels), torch.randn(1, cfg.param_dim))
    with pytest.raises(ValueError, match="first must be"):
        model(torch.randn(1, 4, cfg.audio.window, cfg.audio.n_mels), torch.randn(1, cfg.param_dim + 1))
    with pytest.raises(ValueError, match="overlap"):
        tiny_config(inference={"overlap": 40})


def test_config_round_trip_and_unknown_keys():
    cfg = tiny_config(speakers=["a", "b"], n_styles=3)
    again = FacialGANConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    with pytest.raises(ValueError, match="unknown"):
        FacialGANConfig.from_dict({**cfg.to_dict(), "sequence_length": 3})


def test_save_pretrained_round_trip(model, tmp_path, monkeypatch):
    with torch.no_grad():
        model.pose_gain.fill_(1.5)
        model.param_std[model.layout.expression] = 2.0
    model.save_pretrained(tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = FacialGAN.from_pretrained(str(tmp_path / "ckpt"))
    assert loaded.config == model.config
    assert loaded.checkpoint_id and loaded.checkpoint_id == model.checkpoint_id
    audio, first = _inputs(model.config, 2, 20)
    assert torch.allclose(model(audio, first), loaded(audio, first), atol=1e-6)
    assert float(loaded.pose_gain[0]) == pytest.approx(1.5)


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(CheckpointNotFound):
        FacialGAN.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(CheckpointNotFound, match="model.safetensors"):
        FacialGAN.from_pretrained(tmp_path / "half")


def test_normalise_round_trip(model):
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(10, model.config.param_dim)).astype(np.float32)
    mean, std = rng.normal(size=6).astype(np.float32), rng.uniform(0.5, 2, size=6).astype(np.float32)
    z = model.normalise(raw, mean, std)
    np.testing.assert_allclose(model.denormalise(z, mean, std), raw, atol=1e-5)
