"""Training: datasets, a tiny overfit on a known audio → mouth mapping, fine-tuning and its cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from a2f_synthetic import K, make_clips, make_speaker, tiny_config
from facial.audio2face import FacialGAN, animate, finetune, personalised
from facial.audio2face.finetune import CACHE_DIR
from facial.speaker.profile import save_profile
from facial.training.datasets import SequenceDataset, collate


def test_sequence_dataset_windows():
    cfg = tiny_config()
    clips = make_clips(4.0, [1], cfg)
    model = FacialGAN(cfg)
    ds = SequenceDataset(clips, model.normalise, cfg.seq_len, stride=5)
    n = len(clips[0])
    assert len(ds) == len(range(0, n - cfg.seq_len + 1, 5)) + (0 if (n - cfg.seq_len) % 5 == 0 else 1)
    batch = collate([ds[0], ds[len(ds) - 1]])
    assert batch.audio.shape == (2, cfg.seq_len, cfg.audio.window, cfg.audio.n_mels)
    assert batch.target.shape == (2, cfg.seq_len, 7 + K)
    torch.testing.assert_close(batch.first, batch.target[:, 0])
    # pose is z-scored per clip
    pose = np.asarray(ds.targets[0])[:, model.layout.pose]
    np.testing.assert_allclose(pose.mean(0), 0, atol=1e-4)
    with pytest.raises(ValueError, match="shorter"):
        SequenceDataset(clips, model.normalise, 10_000)


def test_tiny_model_learns_a_synthetic_audio_to_mouth_mapping(trained_tiny):
    """Expression 0 is the loudness envelope; an unseen synthetic speaker's mouth track is recovered."""
    profile, audio = make_speaker(15.0, seed=11)
    out = animate(trained_tiny, audio, profile)
    truth = profile.params.expression[:, 0]
    r = np.corrcoef(out.expression[:, 0], truth)[0, 1]
    assert r > 0.7, r
    assert 0.3 < out.expression[:, 0].std() / truth.std() < 2.0
    assert trained_tiny.config.speakers == ["speaker0", "speaker1"] and trained_tiny.config.n_styles == 3


def test_finetune_returns_a_personalised_copy(trained_tiny):
    profile, audio = make_speaker(6.0, seed=12)
    before = {k: v.clone() for k, v in trained_tiny.state_dict().items()}
    tuned = finetune(trained_tiny, profile, audio, steps=4, progress=False)
    assert tuned is not trained_tiny
    for k, v in trained_tiny.state_dict().items():
        torch.testing.assert_close(v, before[k])
    assert tuned.config.provenance["finetune"]["steps"] == 4
    assert any(not torch.equal(v, before[k]) for k, v in tuned.state_dict().items() if v.dtype.is_floating_point)
    assert len(animate(tuned, audio, profile)) == len(profile)


def test_personalised_caches_in_the_profile(trained_tiny, tmp_path):
    from facial import media

    profile, audio = make_speaker(6.0, seed=13)
    wav = media.save_wav(tmp_path / "speech.wav", audio)
    profile.video = wav
    save_profile(profile, tmp_path / "prof", copy_frames=False)
    base_dir = trained_tiny.save_pretrained(tmp_path / "base")
    seen = []
    m1 = personalised(tmp_path / "prof", effort="fast", base=str(base_dir), progress_callback=lambda f, msg: seen.append(f))
    cached = list((tmp_path / "prof" / CACHE_DIR).iterdir())
    assert len(cached) == 1 and cached[0].name.startswith("fast-")
    assert seen and seen[-1] == 1.0
    m2 = personalised(tmp_path / "prof", effort="fast", base=str(base_dir))
    assert m2.weights_id() == m1.weights_id() == m1.checkpoint_id
    assert personalised(tmp_path / "prof", effort="none", base=trained_tiny) is trained_tiny
    with pytest.raises(ValueError, match="effort"):
        personalised(tmp_path / "prof", effort="max", base=trained_tiny)


def test_personalised_without_audio_is_explained(trained_tiny, tmp_path):
    profile, _ = make_speaker(6.0, seed=14)
    save_profile(profile, tmp_path / "mute", copy_frames=False)
    with pytest.raises(ValueError, match="no clip with audio"):
        personalised(tmp_path / "mute", effort="fast", base=trained_tiny)


def test_early_stopping_restores_the_best_weights():
    from facial.audio2face.model import Discriminator
    from facial.training.train_audio2face import AugmentConfig, TrainConfig, train

    cfg = tiny_config()
    clips = make_clips(4.0, [1], cfg)
    model = FacialGAN(cfg)
    snapshots, scores = [], iter([0.1, 0.9, 0.2, 0.3])

    def validate(m):
        snapshots.append({k: v.clone() for k, v in m.state_dict().items()})
        return next(scores)

    tc = TrainConfig(steps=8, batch_size=2, lr=1e-2, validate_every=2, augment=AugmentConfig(), log_every=4)
    result = train(model, clips, tc, discriminator=Discriminator(cfg), progress=False, validate=validate)
    assert result.best_step == 4 and result.best_score == 0.9 and len(result.validation) == 4
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, snapshots[1][k])


def test_augmentation_keeps_shapes_and_changes_features():
    from facial.training.train_audio2face import AugmentConfig, augment_audio

    x = torch.randn(3, 5, 16, 32)
    y = augment_audio(x, AugmentConfig(), torch.Generator().manual_seed(0))
    assert y.shape == x.shape and not torch.equal(x, y)
