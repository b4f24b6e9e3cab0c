"""Torch helpers over the face model for the mouth-landmark loss.

The mouth landmarks of a frame in the speaker's canonical frame are
``identity[MOUTH] + Σ_k e_k · basis_k[MOUTH]`` (:mod:`facial.speaker.face_model`); pose does not
enter, so the loss measures lip shape only. Only the basis restricted to the mouth points is kept
(a ``[K, 40, 3]`` buffer of the network).
"""
from __future__ import annotations

import numpy as np
import torch

from facial.speaker import face_model as fm


def mouth_basis_from(basis: fm.ExpressionBasis) -> np.ndarray:
    """``[K, M, 3]``: the expression basis at the :data:`~facial.speaker.face_model.MOUTH` points."""
    return np.ascontiguousarray(basis.components[:, fm.MOUTH, :], dtype=np.float32)


def mouth_points(expression: torch.Tensor, mouth_basis: torch.Tensor, identity_mouth: torch.Tensor | None = None) -> torch.Tensor:
    """Canonical mouth landmarks ``[..., M, 3]`` from expression coefficients ``[..., K]``.

    ``identity_mouth [M, 3]`` is the speaker's mean mouth shape; without it the displacement
    from the mean shape is returned (enough for a loss between two expressions of one speaker).
    """
    points = torch.einsum("...k,kmc->...mc", expression, mouth_basis)
    if identity_mouth is not None:
        points = points + identity_mouth
    return points


def mouth_rms(expression: np.ndarray, mouth_basis: np.ndarray) -> float:
    """RMS displacement of the mouth points over a set of expressions ``[N, K]`` (centred)."""
    e = np.asarray(expression, np.float64)
    e = e - e.mean(0, keepdims=True)
    disp = np.einsum("nk,kmc->nmc", e, np.asarray(mouth_basis, np.float64))
    return float(np.sqrt((disp ** 2).sum(-1).mean()))
