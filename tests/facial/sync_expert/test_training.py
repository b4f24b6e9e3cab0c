"""The expert learns a synthetic audio-visual correspondence; batches, loss and the training loop's outputs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from facial.sync_expert import data as data_mod
from facial.sync_expert import scoring
from facial.sync_expert.config import SyncExpertConfig
from facial.sync_expert.features import ClipInputs

TINY = dict(hidden=48, embed_dim=16, audio_channels=(16, 16, 16), pixel_channels=(8, 8), crop_size=16, crop_margin=2,
            dropout=0.0, landmark_scale=0.03, vshift=8)


def _smooth(n: int, rng: np.random.Generator, sigma: float = 1.2) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    x = gaussian_filter1d(rng.normal(size=n), sigma)
    return x / x.std()


def synthetic_clip(seed: int, n: int = 160, kind: str = "landmarks", person: str | None = None) -> data_mod.TrainClip:
    """A clip whose lips and log-mel are driven by the same two hidden signals (in sync, frame-exact).

    Lips: two fixed displacement patterns of the 40 points; log-mel: two fixed spectral patterns
    (repeated over each frame's 4 mel steps) plus noise; pixels: a bar whose height follows signal 1."""
    pat = np.random.default_rng(99)
    lip_pat, mel_pat = pat.normal(size=(2, 40, 3)), pat.normal(size=(2, 80))
    rng = np.random.default_rng(seed)
    z = np.stack([_smooth(n, rng), _smooth(n, rng)], 1)  # [T, 2]
    lips = 0.03 * np.einsum("tk,kpc->tpc", z, lip_pat) + 0.002 * rng.normal(size=(n, 40, 3))
    zm = np.repeat(z, 4, axis=0)
    mel = zm @ mel_pat + 0.5 * rng.normal(size=(4 * n + 1 - 1, 80))
    mel = np.concatenate([mel, mel[-1:]])
    side = 16 + 2 * 2
    crops = np.full((n, side, side), 60, np.uint8)
    for t in range(n):
        h = int(np.clip(10 + 4 * z[t, 0], 1, side - 1))
        crops[t, side // 2 - h // 2: side // 2 + (h + 1) // 2, 4:side - 4] = 200
    return data_mod.TrainClip(f"syn{seed}", person or f"p{seed}", lips.astype(np.float32), crops, [mel.astype(np.float32)], n,
                              np.ones(n, bool))


def test_batch_layout_marks_positive_and_negatives():
    cfg = SyncExpertConfig(**TINY)
    clips = [synthetic_clip(s) for s in range(3)]
    b = data_mod.sample_batch(clips, cfg, np.random.default_rng(0), segments=4, anchors=3)
    u = 3 + 2 * cfg.vshift
    assert b.visual.shape == (12, cfg.window, 40, 3) and b.audio.shape == (4 * u, cfg.mel_window, 80)
    for row in range(12):
        g, j = divmod(row, 3)
        assert b.target[row] == g * u + cfg.vshift + j
        assert b.mask[row, b.target[row]] and b.shift[row, b.target[row]] == 0
        same = slice(g * u, (g + 1) * u)
        shifts = b.shift[row, same]
        assert not b.mask[row, same][np.abs(shifts) == 1].any()  # ±1 overlaps the positive: not a negative
    # windows of the positive are the anchor's own frames: audio start = anchor start
    assert np.isfinite(b.audio).all()
    # neg_min_shift=1: the ±1-frame windows become negatives too
    b1 = data_mod.sample_batch(clips, cfg, np.random.default_rng(0), segments=4, anchors=3, neg_min_shift=1)
    g, j = 1, 1
    row, same = g * 3 + j, slice(g * u, (g + 1) * u)
    assert b1.mask[row, same][np.abs(b1.shift[row, same]) == 1].all()
    with pytest.raises(ValueError):
        data_mod.sample_batch(clips, cfg, np.random.default_rng(0), segments=4, anchors=3, neg_min_shift=0)


def test_mirror_is_an_involution_that_swaps_the_corners():
    from facial.speaker import face_model as fm

    m = data_mod.MIRROR
    assert np.array_equal(m[m], np.arange(40))
    assert fm.MOUTH[m[0]] == 291 and fm.MOUTH[m[20]] == 308  # right corners ↔ left corners
    assert fm.MOUTH[m[5]] == fm.MOUTH[5] == 0                 # the midline stays


@pytest.mark.parametrize("kind", ["landmarks", "pixels"])
def test_tiny_training_learns_a_synthetic_correspondence(kind, tmp_path):
    """After a short run the expert recovers a +3 / −2 frame audio delay of an unseen synthetic clip
    and is more confident on in-sync pairs than on another clip's audio."""
    import torch

    from facial.sync_expert.model import SyncExpert
    from facial.sync_expert.train import TrainConfig, train

    torch.manual_seed(0)
    cfg = SyncExpertConfig(visual_input=kind, **TINY)
    train_clips = [synthetic_clip(s) for s in range(6)]
    val_clips = [synthetic_clip(100 + s) for s in range(2)]
    tc = TrainConfig(steps=100, segments=8, anchors=4, lr=3e-3, warmup=10, validate_every=50, val_batches=2,
                     max_minutes=None, audio_variants=0, augment=False)
    res = train(cfg, train_clips, val_clips, tc, progress=False, output=tmp_path / "out")
    model = res.model
    assert res.summary["final"]["val_offset_acc"] >= 0.8
    test = synthetic_clip(777)
    inputs = ClipInputs(test.lips, test.crops[:, 2:-2, 2:-2], test.mels[0])
    for k in (3, -2, 0):
        mel = test.mels[0]
        shifted = np.concatenate([np.repeat(mel[:1], 4 * k, 0), mel])[: len(mel)] if k > 0 else np.concatenate(
            [mel[-4 * k:], np.repeat(mel[-1:], -4 * k, 0)]) if k < 0 else mel
        sc = scoring.score_inputs(model, ClipInputs(inputs.lips, inputs.crops, shifted))
        assert sc.offset == k, (kind, k, sc.curve)
    in_sync = scoring.score_inputs(model, inputs)
    other = scoring.score_inputs(model, ClipInputs(inputs.lips, inputs.crops, synthetic_clip(778).mels[0]))
    assert in_sync.conf > 2 * other.conf and in_sync.dist < other.dist
    # the run's outputs: checkpoint, curve, training log
    out = tmp_path / "out"
    assert (out / "curve.png").stat().st_size > 1000
    log = json.loads((out / "training.json").read_text())
    assert log["steps"] == 100 and log["val_persons"] == ["p100", "p101"] and log["val_cases"]
    again = SyncExpert.from_pretrained(out)
    assert again.config.visual_input == kind and again.config.provenance["steps"] == 100


def _late(clip: data_mod.TrainClip, k: int) -> data_mod.TrainClip:
    """The same clip with its audio track delayed by k frames (4 mel steps each)."""
    mel = clip.mels[0]
    mel = np.concatenate([np.zeros((4 * k, mel.shape[1]), mel.dtype), mel])
    return data_mod.TrainClip(clip.id, clip.person, clip.lips, clip.crops, [mel], clip.n_frames, clip.valid)


def test_audio_offset_moves_the_positive_window():
    cfg = SyncExpertConfig(**TINY)
    clip = _late(synthetic_clip(1), 3)
    clip.audio_offset = 3
    starts = data_mod.window_starts(clip, cfg.window, 4)
    assert starts.min() == 0 and starts.max() == clip.n_frames - cfg.window - 3
    b = data_mod.sample_batch([clip], cfg, np.random.default_rng(0), segments=1, anchors=4)
    # the positive of anchor j is the clean audio of the anchor's own frames
    for j in range(4):
        lips = b.visual[j] * cfg.landmark_scale
        t = int(np.flatnonzero(np.all(np.isclose(clip.lips[:-4], lips[0], atol=1e-6), axis=(1, 2)))[0])
        pos = b.audio[b.target[j]]
        np.testing.assert_allclose(pos, synthetic_clip(1).mels[0][4 * t:4 * t + 20], atol=1e-6)


def test_realign_finds_a_clip_whose_audio_is_late(tmp_path):
    """Cross-fitted experts recover a training clip's own +3 frame audio delay; training then uses it."""
    import torch

    from facial.sync_expert.train import TrainConfig, realign

    torch.manual_seed(0)
    cfg = SyncExpertConfig(**TINY)
    clips = [synthetic_clip(s) for s in range(8)]
    clips[2] = _late(clips[2], 3)
    tc = TrainConfig(steps=100, segments=8, anchors=4, lr=3e-3, warmup=10, max_minutes=None, audio_variants=0, augment=False,
                     realign=True, realign_folds=2, realign_steps=100)
    est = realign(cfg, clips, tc, progress=False)
    assert est["syn2"]["offset"] == 3 and clips[2].audio_offset == 3
    assert all(abs(est[c.id]["offset"]) <= 1 for c in clips if c.id != "syn2")
