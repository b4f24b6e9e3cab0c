"""Training FACIAL-GAN: the windowed dataset, a tiny overfit on a known audio → mouth mapping, early stopping, augmentation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from a2f_synthetic import K, make_clips, make_speaker, tiny_config
from facial.audio2face import FacialGAN, animate
from facial.audio2face.data import SequenceDataset, collate


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


def test_early_stopping_restores_the_best_weights():
    from facial.audio2face.model import Discriminator
    from facial.audio2face.augment import AugmentConfig
    from facial.audio2face.trainer import TrainConfig, train

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
    from facial.audio2face.augment import AugmentConfig, augment_audio

    x = torch.randn(3, 5, 16, 32)
    y = augment_audio(x, AugmentConfig(), torch.Generator().manual_seed(0))
    assert y.shape == x.shape and not torch.equal(x, y)


def test_short_clips_are_padded_back_and_forth_for_pretraining():
    from facial.audio2face.data import pad_reflect
    from facial.audio2face.trainer import TrainConfig
    from a2f_synthetic import synthetic_basis
    from facial.training.pretrain import pretrain

    cfg = tiny_config()
    clip = make_clips(1.0, [1], cfg)[0]  # 25 frames, shorter than one group
    assert len(clip) < cfg.seq_len
    padded = pad_reflect(clip, cfg.seq_len)
    assert len(padded) == cfg.seq_len
    idx = np.r_[np.arange(len(clip)), np.arange(len(clip) - 2, 0, -1), np.arange(len(clip))][:cfg.seq_len]
    np.testing.assert_array_equal(padded.params, clip.params[idx])
    np.testing.assert_array_equal(padded.features, clip.features[idx])
    np.testing.assert_array_equal(padded.pose_std, clip.pose_std)
    with pytest.raises(ValueError, match="no training clip"):
        pretrain([clip], cfg, TrainConfig(steps=1, batch_size=2), basis=synthetic_basis(), progress=False)
    model, result = pretrain([clip], cfg, TrainConfig(steps=2, batch_size=2, min_clip_frames=20), basis=synthetic_basis(), progress=False)
    assert result.steps == 2 and model.config.provenance["clips"] == [padded.name]


def test_ema_weights_are_the_average_that_is_validated_and_returned():
    """Known answer: e_1 = w_1, e_k = d·e_(k-1) + (1-d)·w_k over the per-step weights w_k."""
    from facial.audio2face.trainer import TrainConfig, train

    cfg = tiny_config()
    clips = make_clips(4.0, [1], cfg)
    decay, steps = 0.8, 6
    model = FacialGAN(cfg)
    per_step, validated = [], []

    def keep(step, total, terms):
        per_step.append({k: v.detach().clone() for k, v in model.named_parameters()})

    def validate(m):
        validated.append({k: v.detach().clone() for k, v in m.named_parameters()})
        return float(len(validated))  # the last validation scores best

    tc = TrainConfig(steps=steps, batch_size=2, lr=1e-2, log_every=3, ema=decay, validate_every=3)
    result = train(model, clips, tc, progress=False, callback=keep, validate=validate)
    expected = dict(per_step[0])
    for w in per_step[1:]:
        expected = {k: decay * expected[k] + (1 - decay) * w[k] for k in w}
    assert result.best_step == steps and len(validated) == 2
    for k, v in model.named_parameters():
        torch.testing.assert_close(v, expected[k])
        torch.testing.assert_close(validated[-1][k], expected[k])
    assert any(not torch.allclose(v, per_step[-1][k]) for k, v in model.named_parameters())  # not the last step's weights
    with pytest.raises(ValueError, match="ema"):
        train(FacialGAN(cfg), clips, TrainConfig(steps=1, batch_size=2, ema=1.5), progress=False)


def test_windows_without_a_tracked_face_are_not_trained_on():
    import dataclasses

    cfg = tiny_config()
    clip = make_clips(4.0, [1], cfg)[0]
    n, L = len(clip), cfg.seq_len
    model = FacialGAN(cfg)
    valid = np.ones(n, bool)
    valid[n // 2:n // 2 + 20] = False  # the face was lost for 20 frames
    ds = SequenceDataset([dataclasses.replace(clip, valid=valid)], model.normalise, L, stride=1, min_valid=0.9)
    full = SequenceDataset([clip], model.normalise, L, stride=1)
    assert 0 < len(ds) < len(full)
    for _, s in ds.index:
        assert valid[s:s + L].mean() >= 0.9
    # a clip whose windows all fall short keeps its best-tracked ones instead of failing
    sparse = np.ones(n, bool)
    sparse[::4] = False
    kept = SequenceDataset([dataclasses.replace(clip, valid=sparse)], model.normalise, L, stride=1, min_valid=0.9)
    counts = [sparse[s:s + L].sum() for s in range(n - L + 1)]
    assert len(kept) == sum(c == max(counts) for c in counts)
    # slicing and retiming carry the flags
    assert dataclasses.replace(clip, valid=valid).slice(n // 2, n).valid[:20].sum() == 0


def test_speaker_adversary_reverses_the_gradient_into_the_encoder():
    """The classifier learns normally; what reaches the embedding below it is the negative gradient."""
    from facial.audio2face.trainer import SpeakerAdversary

    torch.manual_seed(0)
    head = SpeakerAdversary(8, 3)
    x = torch.randn(5, 8, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 1, 0])
    torch.nn.functional.cross_entropy(head(x), labels).backward()
    reversed_grad, head_grad = x.grad.clone(), head.net[0].weight.grad.clone()
    x.grad = None
    head.zero_grad()
    torch.nn.functional.cross_entropy(head.net(x), labels).backward()   # the same classifier, no reversal
    torch.testing.assert_close(reversed_grad, -x.grad)
    torch.testing.assert_close(head_grad, head.net[0].weight.grad)


def test_speaker_adversarial_training_logs_its_term_and_leaves_no_hook():
    import dataclasses

    from facial.audio2face.trainer import TrainConfig, train

    cfg = tiny_config(n_styles=3)
    clips = [dataclasses.replace(c, style=i + 1) for i, c in enumerate(make_clips(4.0, [1, 2], cfg))]
    model = FacialGAN(cfg)
    result = train(model, clips, TrainConfig(steps=4, batch_size=2, lr=1e-3, log_every=2, speaker_adversarial=0.5), progress=False)
    assert all("speaker" in h and np.isfinite(h["speaker"]) for h in result.history)
    assert not model.frame._forward_hooks                     # the returned model carries no training hook
    with pytest.raises(ValueError, match="two training speakers"):
        train(FacialGAN(tiny_config()), clips[:1], TrainConfig(steps=1, batch_size=2, speaker_adversarial=0.5), progress=False)
