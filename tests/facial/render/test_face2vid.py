"""The neural renderer: networks, checkpoint round trip, a few training steps on a real clip, refusals."""
import csv
import json

import numpy as np
import pytest
import torch

from facial.face2vid import ClipTooShortError, Face2VidConfig, NeuralRenderer, train_renderer
from facial.face2vid.networks import MultiScaleDiscriminator, UNetGenerator, feature_matching_loss, lsgan_loss
from facial.types import RenderedFaces


def _tiny(**kw) -> Face2VidConfig:
    return Face2VidConfig.preset(32, **kw)


def test_generator_starts_as_the_reference_and_has_the_right_shapes():
    torch.manual_seed(0)
    cfg = _tiny()
    g = UNetGenerator(cfg)
    x = torch.rand(2, cfg.in_channels, 32, 32) * 2 - 1
    ref = torch.rand(2, 3, 32, 32) * 2 - 1
    out = g(x, ref)
    assert out.shape == (2, 3, 32, 32)
    assert torch.allclose(out, ref)  # zero-initialised head: output = reference before training
    d = MultiScaleDiscriminator(_tiny(d_scales=2, d_layers=2))
    with torch.no_grad():
        feats = d(torch.zeros(2, 4, 32, 32), out)
    assert len(feats) == 2 and feats[0][-1].shape[1] == 1
    assert lsgan_loss(feats, True).item() >= 0 and feature_matching_loss(feats, feats).item() == 0


def test_in_channels_follow_the_window():
    assert Face2VidConfig(window=10).in_channels == 10 * 4 + 3
    assert Face2VidConfig(window=3, use_reference=False).in_channels == 12


def test_save_and_load_give_identical_renders(tmp_path):
    torch.manual_seed(0)
    cfg = _tiny(window=3, target_index=1)
    gen = UNetGenerator(cfg)
    torch.nn.init.normal_(gen.head.weight, std=0.05)
    ref = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    r = NeuralRenderer(cfg, gen, ref, device="cpu")
    rendered = RenderedFaces((np.random.default_rng(1).random((5, 32, 32, 3)) * 255).astype(np.uint8),
                             np.zeros((5, 32, 32), np.float32), np.ones((5, 32, 32), bool), 25.0)
    a = r.render(rendered)
    r.save_pretrained(tmp_path / "nr")
    assert sorted(p.name for p in (tmp_path / "nr").iterdir()) == ["config.json", "model.safetensors"]
    b = NeuralRenderer.from_pretrained(tmp_path / "nr", device="cpu").render(rendered)
    assert a.frames.shape == (5, 32, 32, 3)
    assert np.array_equal(a.frames, b.frames)


def test_render_refuses_the_wrong_size():
    r = NeuralRenderer(_tiny(), device="cpu")
    bad = RenderedFaces(np.zeros((2, 48, 48, 3), np.uint8), np.zeros((2, 48, 48), np.float32), np.zeros((2, 48, 48), bool), 25.0)
    with pytest.raises(ValueError, match="32"):
        r.render(bad)


@pytest.mark.shared_data
def test_a_few_training_steps_on_a_real_clip(clip_profile, tmp_path):
    torch.set_num_threads(1)
    # bf16 autocast and channels-last are the CUDA defaults; run those code paths here on the CPU
    out = train_renderer(clip_profile.directory, size=32, steps=4, device="cpu", progress=False, out_dir=tmp_path / "f2v",
                         config=_tiny(batch_size=2), eval_every=2, amp="bf16", channels_last=True)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "train_log.csv", "summary.json", "curve.png"} <= names
    rows = list(csv.DictReader(open(out / "train_log.csv")))
    assert [int(r["step"]) for r in rows] == [0, 2, 4]
    summary = json.loads((out / "summary.json").read_text())
    n = len(clip_profile)
    assert summary["held_out_frames"] == n - int(np.floor(n * 0.9))
    assert summary["baselines"]["warp_psnr"] > summary["baselines"]["reference_frame_psnr"]
    assert 10 < summary["final"]["psnr"] < 50 and summary["bf16"]
    r = NeuralRenderer.from_pretrained(out, device="cpu")
    assert r.config.box is not None and r.config.texture_index < int(0.9 * n)
    video = r.render_params(clip_profile, clip_profile.params.slice(0, 3))
    assert video.frames.shape == (3, 512, 512, 3)


@pytest.mark.shared_data
def test_training_refuses_a_clip_under_two_seconds(clip_profile, tmp_path):
    from dataclasses import replace

    short = replace(clip_profile, params=clip_profile.params.slice(0, 30), landmarks=clip_profile.landmarks[:30],
                    valid=clip_profile.valid[:30])
    with pytest.raises(ClipTooShortError, match="warp"):
        train_renderer(short, size=32, steps=1, device="cpu", progress=False, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_paste_puts_the_crop_back_with_a_soft_border():
    cfg = _tiny(box=[16, 0, 48, 32])  # touches the top edge of a 64×48 frame
    bg = np.full((48, 64, 3), 50, np.uint8)
    r = NeuralRenderer(cfg, reference_full=bg, device="cpu")
    crops = np.full((2, 32, 32, 3), 200, np.uint8)
    out = r.paste(crops, (64, 48))
    assert out.shape == (2, 48, 64, 3)
    assert (out[:, 10, 32] == 200).all() and (out[:, 40, 5] == 50).all()
    assert out[0, 0, 32, 0] == 200  # no feathering along the frame border
    row = out[0, 16, 14:22, 0].astype(int)
    assert np.all(np.diff(row) >= 0) and row[0] == 50 and row[-1] == 200  # ramps up across the box's left edge
