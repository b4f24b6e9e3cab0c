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
                   d_fake: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted generator loss on normalised ``pred``/``target [B, T, P]`` and seed ``first [B, P]``.

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
    total = sum(getattr(w, name) * value for name, value in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss."""
    return 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))
