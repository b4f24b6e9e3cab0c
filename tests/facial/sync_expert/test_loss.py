"""The expert's sync loss for FACIAL-GAN: audio windows re-assembled exactly, gradients reach the lips only,
and (with an expert trained on synthetic data) in-sync lips cost less than shifted ones."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facial.sync_expert import features as feat
from facial.sync_expert.config import SyncExpertConfig
from facial.sync_expert.loss import frame_mel, sync_loss
from facial.sync_expert.model import SyncExpert


def test_frame_mel_rebuilds_the_contiguous_spectrogram_from_facial_gan_windows():
    from facial.audio.features import LogMelEncoder
    from facial.types import AudioClip

    rng = np.random.default_rng(0)
    clip = AudioClip(rng.normal(0, 0.1, 16000 * 2).astype(np.float32), 16000)
    enc = LogMelEncoder()  # FACIAL-GAN's encoder: 32-step windows centred on each frame
    windows = enc(clip, 25.0).windows                          # [50, 32, 80]
    spec = enc.spectrogram(clip)                               # [201, 80]
    got = frame_mel(torch.from_numpy(windows)[None]).numpy()[0]
    np.testing.assert_array_equal(got, spec[:200])             # frame k ↔ steps 4k … 4k+3
    cfg = SyncExpertConfig()
    np.testing.assert_array_equal(feat.audio_windows(got, np.array([7]), cfg), feat.audio_windows(spec, np.array([7]), cfg))


def test_gradients_reach_the_lips_and_not_the_expert():
    torch.manual_seed(0)
    expert = SyncExpert(SyncExpertConfig(hidden=32, embed_dim=8, audio_channels=(8, 8))).eval()
    for p in expert.parameters():
        p.requires_grad_(False)
    lips = (0.03 * torch.randn(2, 24, 40, 3)).requires_grad_(True)
    audio = torch.randn(2, 24, 32, 80)
    loss = sync_loss(lips, audio, expert)
    loss.backward()
    assert torch.isfinite(loss) and lips.grad is not None and lips.grad.abs().sum() > 0
    assert all(p.grad is None for p in expert.parameters())
    with pytest.raises(ValueError, match="at least 7 frames"):
        sync_loss(lips[:, :6], audio[:, :6], expert)


def test_in_sync_lips_cost_less_than_shifted_lips(tmp_path):
    """With an expert trained on the synthetic correspondence of test_training, the loss of in-sync
    lips is lower than that of the same lips three frames late."""
    from facial.sync_expert.train import TrainConfig, train
    from tests.facial.sync_expert.test_training import TINY, synthetic_clip

    torch.manual_seed(0)
    res = train(SyncExpertConfig(**TINY), [synthetic_clip(s) for s in range(6)], [], TrainConfig(
        steps=100, segments=8, anchors=4, lr=3e-3, warmup=10, max_minutes=None, audio_variants=0, augment=False), progress=False)
    expert = res.model.eval()
    clip = synthetic_clip(500, n=64)
    mel = torch.from_numpy(clip.mels[0][:256]).reshape(64, 4, 80)
    windows = torch.zeros(1, 64, 32, 80)
    windows[0, :, 14:18] = mel                                   # only the steps the loss reads
    lips = torch.from_numpy(clip.lips)[None]
    late = torch.cat([lips[:, :1].expand(1, 3, 40, 3), lips[:, :-3]], 1)
    assert sync_loss(lips, windows, expert) < sync_loss(late, windows, expert) - 0.5


def test_facial_gan_generator_loss_adds_the_opt_in_sync_term():
    """``LossWeights.sync`` (default 0: off) adds the shipped expert's loss on the predicted lips; its
    gradient reaches the expression columns only."""
    from facial.audio2face.config import AudioConfig, LossWeights
    from facial.audio2face.losses import generator_loss
    from facial.audio2face.model import FacialGAN
    from tests.facial.audio2face.a2f_synthetic import tiny_config

    torch.manual_seed(0)
    cfg = tiny_config(audio=AudioConfig(window=16, phones=False))  # 80 mel bins, as the expert
    assert cfg.losses.sync == 0.0
    off = FacialGAN(cfg)
    on = FacialGAN(cfg.replace(losses=LossWeights(sync=1.0)))
    for m in (off, on):
        m.mouth_basis.copy_(0.05 * torch.randn_like(m.mouth_basis))
    p = cfg.param_dim
    target, first = torch.randn(2, 32, p), torch.randn(2, p)
    audio = torch.randn(2, 32, 16, 80)
    pred = torch.randn(2, 32, p, requires_grad=True)
    _, terms_off = generator_loss(off, pred, target, first, audio=audio)
    assert "sync" not in terms_off
    _, terms = generator_loss(on, pred, target, first, audio=audio)
    assert "sync" in terms and np.isfinite(terms["sync"]) and terms["sync"] > 0
    from facial.audio2face.losses import sync_term

    term = sync_term(on, pred, audio)
    assert float(term.detach()) == pytest.approx(terms["sync"], rel=1e-5)
    on_sync = torch.autograd.grad(term, pred)[0]
    lay = on.layout
    assert on_sync[..., lay.expression].abs().sum() > 0
    assert on_sync[..., lay.pose].abs().sum() == 0



def test_sync_term_uses_the_expert_named_in_the_config(tmp_path):
    """``losses.sync_expert`` points the sync term at another expert (a speaker-disjoint evaluation's
    per-fold expert): its value is that expert's loss on the predicted lips, not the shipped one's,
    and the setting survives the checkpoint round trip (fine-tuning reuses it)."""
    from facial.audio2face.config import AudioConfig, FacialGANConfig, LossWeights
    from facial.audio2face.face import mouth_points
    from facial.audio2face.losses import sync_term
    from facial.audio2face.model import FacialGAN
    from tests.facial.audio2face.a2f_synthetic import tiny_config

    torch.manual_seed(0)
    own = SyncExpert(SyncExpertConfig(hidden=32, embed_dim=8, audio_channels=(8, 8)))
    own.save_pretrained(tmp_path / "expert")
    cfg = tiny_config(audio=AudioConfig(window=16, phones=False))
    shipped = FacialGAN(cfg.replace(losses=LossWeights(sync=1.0)))
    mine = FacialGAN(cfg.replace(losses=LossWeights(sync=1.0, sync_expert=str(tmp_path / "expert"))))
    basis = 0.05 * torch.randn_like(shipped.mouth_basis)
    for m in (shipped, mine):
        m.mouth_basis.copy_(basis)
    pred, audio = torch.randn(2, 32, cfg.param_dim), torch.randn(2, 32, 16, 80)
    lay = mine.layout
    lips = mouth_points(pred[..., lay.expression] * mine.param_std[lay.expression] + mine.param_mean[lay.expression], basis)
    expected = sync_loss(lips, audio, own.eval()).detach()
    assert float(sync_term(mine, pred, audio)) == pytest.approx(float(expected), rel=1e-5)
    assert float(sync_term(shipped, pred, audio)) != pytest.approx(float(expected), rel=1e-3)
    assert FacialGANConfig.from_dict(mine.config.to_dict()).losses.sync_expert == str(tmp_path / "expert")
