"""A differentiable lip-sync loss from the (frozen) landmark expert, for training FACIAL-GAN.

FACIAL-GAN predicts expression coefficients; through the face model's basis at the lip points
(``FacialGAN.mouth_basis [K, 40, 3]``) they give canonical lip displacements — the landmark
expert's input. Its audio windows come from FACIAL-GAN's own log-mel windows (same encoder,
10 ms steps): frame ``k``'s four steps sit at indices ``W//2 − 2 … W//2 + 1`` of its centred
window.

The loss is the expert's own objective on each generated sequence: every 5-frame lip window
must be closer (cosine) to its own audio window than to the sequence's audio shifted by
2 … ``vshift`` frames (softmax cross-entropy over those candidates, temperature of the expert).
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch.nn import functional as F

from facial.sync_expert.model import SyncExpert


@lru_cache(maxsize=4)
def frozen_expert(path: str | None = None) -> SyncExpert:
    """The landmark expert (the shipped one by default), in eval mode, without gradients."""
    model = SyncExpert.from_pretrained(path)
    if model.config.visual_input != "landmarks":
        raise ValueError(f"the sync loss needs a landmark expert; {path or 'the shipped expert'} takes {model.config.visual_input}")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def frame_mel(audio: torch.Tensor, mel_per_frame: int = 4) -> torch.Tensor:
    """FACIAL-GAN audio windows ``[B, T, W, D]`` (centred per frame) → contiguous log-mel ``[B, T·mpf, D]``."""
    w = audio.shape[2]
    i0 = w // 2 - mel_per_frame // 2
    steps = audio[:, :, i0:i0 + mel_per_frame, :]
    return steps.reshape(audio.shape[0], -1, audio.shape[3])


def expert_lips(displacement: torch.Tensor, expert: SyncExpert) -> torch.Tensor:
    """Canonical lip displacements ``[B, T, 40, 3]`` → expert units: minus each sequence's median,
    times the sequence's gain (``lip_norm = "clip"``, not differentiated), ÷ ``landmark_scale``."""
    from facial.sync_expert.features import LIP_RMS_FLOOR, LIP_RMS_REF

    cfg = expert.config
    x = displacement - displacement.median(dim=1, keepdim=True).values
    if cfg.lip_norm == "clip":
        rms = x.detach().pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()
        x = x * (LIP_RMS_REF / rms.clamp_min(LIP_RMS_FLOOR))
    return x / cfg.landmark_scale


def sync_loss(displacement: torch.Tensor, audio: torch.Tensor, expert: SyncExpert | None = None,
              vshift: int | None = None) -> torch.Tensor:
    """Expert sync loss of generated lips ``[B, T, 40, 3]`` (canonical displacements) against the
    sequence's audio windows ``[B, T, W, D]``; needs ``T ≥ window + 2``. Gradients reach the lips only."""
    expert = expert or frozen_expert()
    cfg = expert.config
    vshift = cfg.vshift if vshift is None else vshift
    b, t = displacement.shape[:2]
    w = cfg.window
    n = t - w + 1
    if n < 3:
        raise ValueError(f"the sync loss needs sequences of at least {w + 2} frames, got {t}")
    if audio.shape[3] != cfg.n_mels:
        raise ValueError(f"audio windows have {audio.shape[3]} mel bins; the expert expects {cfg.n_mels}")
    lips = expert_lips(displacement, expert)
    vis = lips.unfold(1, w, 1).permute(0, 1, 4, 2, 3)                     # [B, N, w, 40, 3]
    mel = frame_mel(audio, cfg.mel_per_frame)                              # [B, T·mpf, D]
    aw = mel.unfold(1, cfg.mel_window, cfg.mel_per_frame)[:, :n]           # [B, N, D, L]
    aw = aw.permute(0, 1, 3, 2)                                            # [B, N, L, D]
    v = expert.embed_visual(vis.reshape(b * n, *vis.shape[2:])).reshape(b, n, -1)
    a = expert.embed_audio(aw.reshape(b * n, *aw.shape[2:])).reshape(b, n, -1)
    sims = torch.einsum("bie,bje->bij", v, a) / cfg.temperature           # video window i vs audio window j
    idx = torch.arange(n, device=sims.device)
    gap = (idx[None, :] - idx[:, None]).abs()
    allowed = (gap == 0) | ((gap >= 2) & (gap <= vshift))
    logits = sims.masked_fill(~allowed, float("-inf"))
    return F.cross_entropy(logits.reshape(b * n, n), idx.repeat(b))
