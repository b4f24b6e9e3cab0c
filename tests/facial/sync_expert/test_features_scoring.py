"""Inputs and scoring of the sync expert with known answers: lip shapes, crop geometry, windows,
offset / confidence / distance from a distance table, save/load round trips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from facial.sync_expert import features as feat
from facial.sync_expert import scoring
from facial.sync_expert.config import SyncExpertConfig


def _face(rng: np.random.Generator, mouth_open: float = 0.0) -> np.ndarray:
    """A random but fixed 3-D point cloud standing in for a FaceMesh face (478 points), lips opened by ``mouth_open``."""
    base = np.random.default_rng(5).normal(size=(478, 3)).astype(np.float64)
    base[feat.LIP_POINTS, 1] += mouth_open * np.sign(base[feat.LIP_POINTS, 1])
    return base


def _rigid(points: np.ndarray, yaw: float, roll: float, scale: float, shift) -> np.ndarray:
    from facial.speaker.face_model import euler_to_matrix

    r = euler_to_matrix(np.array([yaw, 0.0, roll]))
    return scale * points @ r.T + np.asarray(shift)


def test_lip_shapes_ignore_head_pose_and_keep_lip_motion():
    rng = np.random.default_rng(0)
    opening = np.array([0.0, 0.2, 0.0, 0.4, 0.1] * 4)
    still = np.stack([_rigid(_face(rng, o), 0.0, 0.0, 100.0, (200, 200, 0)) for o in opening])
    moving = np.stack([_rigid(_face(rng, o), 0.2 * np.sin(t), 0.1 * t / 20, 100 + 5 * t, (200 + 3 * t, 180, 0))
                       for t, o in enumerate(opening)])
    a, b = feat.lip_shapes(still), feat.lip_shapes(moving)
    assert a.shape == (20, 40, 3)
    np.testing.assert_allclose(a, b, atol=2e-3 * np.abs(a).max())  # head motion removed
    amp = np.abs(a).mean(axis=(1, 2))
    assert np.corrcoef(amp, np.abs(opening - np.median(opening)))[0, 1] > 0.95


def test_crop_transform_puts_the_point_below_the_nose_at_the_centre():
    cfg = SyncExpertConfig(crop_size=48, crop_margin=4, crop_iod=1.0, crop_down=0.5)
    lm = np.zeros((3, 478, 3), np.float32)
    lm[:, feat.RIGHT_EYE_OUTER, :2] = (100, 100)
    lm[:, feat.LEFT_EYE_OUTER, :2] = (200, 100)  # IOD 100 px, level eyes
    lm[:, feat.NOSE_BASE, :2] = (150, 150)
    m = feat.crop_transforms(lm, cfg)
    target = np.array([150.0, 150.0 + 0.5 * 100, 1.0])  # crop_down × IOD below the nose base
    np.testing.assert_allclose(m[0] @ target, [28, 28], atol=1e-3)  # centre of the 56² stored crop
    # one IOD maps onto crop_size pixels
    np.testing.assert_allclose(m[0][:, :2] @ np.array([100.0, 0.0]), [48, 0], atol=1e-3)
    # with landmarks twice the frame's size, scale=0.5 gives the same crop on the half-size frame
    m2 = feat.crop_transforms(lm * 2, cfg, scale=0.5)
    np.testing.assert_allclose(m2, m, atol=1e-4)


def test_mouth_crops_sample_the_frame():
    cfg = SyncExpertConfig(crop_size=8, crop_margin=0)
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[30:40, 20:44] = 255
    m = np.array([[[1, 0, -28], [0, 1, -31]]], np.float32)  # identity scale, window at x 28…36, y 31…39
    crops = feat.mouth_crops([frame[None]], m, 8)
    assert crops.shape == (1, 8, 8) and crops.min() > 250


def test_windows_index_video_and_audio_on_the_same_grid():
    cfg = SyncExpertConfig()
    x = np.arange(10)[:, None]
    assert feat.video_windows(x, np.array([2]), 5)[0, :, 0].tolist() == [2, 3, 4, 5, 6]
    mel = np.arange(41)[:, None].repeat(3, 1)
    w = feat.audio_windows(mel, np.array([2]), cfg)
    assert w.shape == (1, 20, 3) and w[0, 0, 0] == 8 and w[0, -1, 0] == 27  # frames 2…6 = mel steps 8…27
    assert feat.audio_frames(41, cfg) == 10


def test_log_mel_has_four_steps_per_frame():
    cfg = SyncExpertConfig()
    sr = 16000
    t = np.arange(sr * 2) / sr
    mel = feat.log_mel((0.1 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), sr, cfg)
    assert mel.shape == (201, 80) and feat.audio_frames(len(mel), cfg) == 50


def test_scores_from_a_known_distance_table():
    vshift = 4
    shifts = np.arange(-vshift, vshift + 1)
    d = np.full((10, len(shifts)), 0.8)
    d[:5, shifts == 2] = 0.3  # half the windows prefer shift 2 ...
    d[5:, shifts == 3] = 0.1  # ... the other half shift 3, more strongly: the mean curve picks 3
    sc = scoring.scores_from_table(d, vshift)
    assert sc.offset == 3
    np.testing.assert_allclose(sc.curve[shifts == 2], 0.55)
    assert sc.dist == pytest.approx(0.2)          # mean of the per-window minima 0.3 and 0.1
    assert sc.conf == pytest.approx(0.8 - 0.45)   # curve: 0.8 at 7 shifts, 0.55 and 0.45: median − min
    assert sc.window_conf == pytest.approx(0.6)   # median of (0.8 − 0.3) ×5 and (0.8 − 0.1) ×5
    assert sc.curve_min == pytest.approx(0.45)


def test_distance_table_follows_the_sign_convention():
    """Audio late by k frames: audio window t + k matches video window t, so the offset is +k."""
    rng = np.random.default_rng(1)
    e = rng.normal(size=(60, 8))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    k = 4
    ea = np.concatenate([rng.normal(size=(k, 8)), e])  # audio delayed by k windows
    ea /= np.linalg.norm(ea, axis=1, keepdims=True)
    d = scoring.distance_table(e, ea, 6)
    assert scoring.scores_from_table(d, 6).offset == k
    assert np.isnan(d[0, 0]) and np.isfinite(d[0, -1])  # audio window t + s < 0 does not exist
    assert scoring.scores_from_table(scoring.distance_table(e, ea, 6, audio_delay=k), 6).offset == 0


def test_short_clips_are_refused_with_a_reason():
    import torch

    from facial.sync_expert.model import SyncExpert

    torch.manual_seed(0)
    model = SyncExpert(SyncExpertConfig(hidden=16, embed_dim=8, audio_channels=(8, 8)))
    n = scoring.min_frames(model.config) - 1
    inputs = feat.ClipInputs(np.zeros((n, 40, 3), np.float32), None, np.zeros((4 * n + 1, 80), np.float32))
    with pytest.raises(scoring.ClipTooShort, match="needs at least 20"):
        scoring.score_inputs(model, inputs)
    ok = feat.ClipInputs(np.random.default_rng(0).normal(size=(n + 1, 40, 3)).astype(np.float32), None,
                         np.random.default_rng(1).normal(size=(4 * (n + 1) + 1, 80)).astype(np.float32))
    res = scoring.score_inputs(model, ok)
    assert -15 <= res.offset <= 15 and res.n_windows == n + 1 - 4 and np.isfinite(res.curve).all()


@pytest.mark.parametrize("kind", ["landmarks", "pixels"])
def test_save_load_round_trip(kind, tmp_path):
    import torch

    from facial.sync_expert.model import SyncExpert

    torch.manual_seed(0)
    cfg = SyncExpertConfig(visual_input=kind, hidden=32, embed_dim=8, audio_channels=(8, 8), pixel_channels=(4, 4),
                           crop_size=16, provenance={"val_persons": ["a"]})
    model = SyncExpert(cfg).eval()
    vis = torch.randn(3, 5, 40, 3) if kind == "landmarks" else torch.randn(3, 5, 16, 16)
    mel = torch.randn(3, 20, 80)
    before = model(vis, mel)
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "facial-sync-expert"
    again = SyncExpert.from_pretrained(tmp_path)
    assert again.config == model.config and not again.training
    torch.testing.assert_close(again(vis, mel), before)
    assert again.weights_id() == model.weights_id() and len(again.weights_id()) == 12


def test_loading_refuses_other_checkpoints(tmp_path):
    from facial.hub import CheckpointError, CheckpointNotFound
    from facial.sync_expert.model import SyncExpert

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "facial-gan"}))
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="facial-gan"):
        SyncExpert.from_pretrained(tmp_path)
    with pytest.raises(CheckpointNotFound):
        SyncExpert.from_pretrained(tmp_path / "missing")


def test_config_round_trip_and_checks():
    cfg = SyncExpertConfig(visual_input="pixels", audio_channels=[4, 8])
    assert SyncExpertConfig.from_dict(cfg.to_dict()) == cfg and cfg.mel_window == 20 and cfg.stored_crop == 56
    with pytest.raises(ValueError, match="visual_input"):
        SyncExpertConfig(visual_input="audio")
    with pytest.raises(ValueError, match="mel steps"):
        SyncExpertConfig(mel_per_frame=3)
    with pytest.raises(ValueError, match="unknown"):
        SyncExpertConfig.from_dict({"bogus": 1})
