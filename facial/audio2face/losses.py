"""FACIAL-GAN losses (weights in :class:`facial.audio2face.config.LossWeights`).

Generator: first-frame L1; MSE on expression, blink and pose and on their temporal differences;
mouth-landmark MSE through the face model (in units of the training set's RMS mouth
displacement); LSGAN adversarial term. Discriminator: LSGAN (real → 1, generated → 0).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from facial.audio2face.face import mouth_points
from facial.audio2face.model import FacialGAN


def _diff(x: torch.Tensor) -> torch.Tensor:
    return x[:, 1:] - x[:, :-1]


def generator_loss(model: FacialGAN, pred: torch.Tensor, target: torch.Tensor, first: torch.Tensor,
                   d_fake: torch.Tensor | None = None, audio: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted generator loss on normalised ``pred``/``target [B, T, P]`` and seed ``first [B, P]``.

    With ``losses.sync > 0`` and the batch's ``audio [B, T, W, D]`` windows, the lip-sync expert's
    loss on the predicted lips is added (:func:`facial.sync_expert.loss.sync_loss`; the expert of
    ``losses.sync_expert``, else the shipped one).

    Returns ``(total, terms)`` where ``terms`` holds each unweighted term as a float (for logs).
    """
    w = model.config.losses
    lay = model.layout
    terms: dict[str, torch.Tensor] = {}
    terms["first_frame"] = F.l1_loss(pred[:, 0], first)
    for name, cols in (("expression", lay.expression), ("blink", slice(lay.blink, lay.blink + 1)), ("pose", lay.pose)):
        p, t = pred[..., cols], target[..., cols]
        terms[name] = F.mse_loss(p, t)
        terms[f"{name}_diff"] = F.mse_loss(_diff(p), _diff(t)) if pred.shape[1] > 1 else p.new_zeros(())
    std = model.param_std[lay.expression]
    delta = (pred[..., lay.expression] - target[..., lay.expression]) * std
    mouth = mouth_points(delta, model.mouth_basis)
    terms["mouth"] = (mouth ** 2).sum(-1).mean() / model.mouth_scale ** 2
    if d_fake is not None:
        terms["adversarial"] = F.mse_loss(d_fake, torch.ones_like(d_fake))
    if w.sync > 0 and audio is not None and pred.shape[1] >= 7:
        terms["sync"] = sync_term(model, pred, audio)
    total = sum(getattr(w, name) * value for name, value in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}


def check_sync_audio(model: FacialGAN) -> None:
    """Raise a clear ``ValueError`` when ``model``'s audio windows cannot feed the lip-sync expert of
    ``losses.sync_expert`` (plain 10 ms log-mel at 16 kHz with the expert's mel bins, windows ≥ 8 steps)."""
    from facial.sync_expert.loss import frozen_expert

    a = model.config.audio
    if a.lifter:
        raise ValueError("the sync loss reads plain log-mel; this model's audio is liftered (audio.lifter > 0)")
    if a.hop_ms != 10.0 or a.sample_rate != 16000 or a.window < 8:
        raise ValueError(f"the sync loss reads 10 ms log-mel steps at 16 kHz from windows of ≥ 8 steps; this model's audio is "
                         f"{a.hop_ms} ms at {a.sample_rate} Hz, {a.window} steps")
    n_mels = frozen_expert(model.config.losses.sync_expert).config.n_mels
    if a.n_mels != n_mels:
        raise ValueError(f"the sync loss's expert reads {n_mels} mel bins, this model's audio has {a.n_mels}; "
                         "set finetune.sync (and losses.sync) to 0 for this model")


def sync_term(model: FacialGAN, pred: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """The lip-sync expert's loss on the predicted lips (expression de-normalised, through the mouth basis)."""
    from facial.sync_expert.loss import frozen_expert, sync_loss

    check_sync_audio(model)
    a = model.config.audio
    lay = model.layout
    expr = pred[..., lay.expression] * model.param_std[lay.expression] + model.param_mean[lay.expression]
    expert = frozen_expert(model.config.losses.sync_expert)
    if next(expert.parameters()).device != pred.device:
        expert = expert.to(pred.device)
    return sync_loss(mouth_points(expr, model.mouth_basis), audio[..., :a.n_mels], expert)  # the log-mel part (not the phones)


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss."""
    return 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))
