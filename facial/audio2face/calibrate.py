"""Fitting a FACIAL-GAN's data-derived buffers to training clips: normalisation statistics before
training, the pose gain after it.
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch

from facial.audio2face.data import ClipData
from facial.audio2face.face import mouth_rms
from facial.audio2face.inference import predict_normalised
from facial.audio2face.model import FacialGAN
from facial.audio2face.stats import relative_pose_std
from facial.layout import from_array

log = logging.getLogger(__name__)


def compute_statistics(model: FacialGAN, clips: Sequence[ClipData], mouth_basis: np.ndarray) -> None:
    """Set the model's normalisation buffers from the training clips (expression/blink z-scores,
    RMS mouth displacement, median relative pose spread)."""
    if not clips:
        raise ValueError("no training clips")
    allp = np.concatenate([c.params for c in clips]).astype(np.float64)
    mean, std = allp.mean(0), allp.std(0)
    _, expression, _ = from_array(allp)
    rel = np.median(np.stack([relative_pose_std(c.pose_mean, c.pose_std) for c in clips]), axis=0)
    model.set_statistics(mean.astype(np.float32), std.astype(np.float32), mouth_basis, mouth_rms(expression, mouth_basis), rel)


def calibrate_pose_gain(model: FacialGAN, clips: Sequence[ClipData], max_gain: float) -> np.ndarray:
    """Per-axis gain ``clip(std(real z-pose) / std(predicted z-pose), 1, max_gain)`` over ``clips``.

    Regression networks under-predict the spread of weakly predictable tracks such as head pose;
    the gain restores the speaker's own spread at ``head_motion = 1``. Stored in ``model.pose_gain``.
    """
    lay = model.layout
    real, pred = [], []
    for c in clips:
        z = model.normalise(c.params, c.pose_mean, c.pose_std)
        p = predict_normalised(model, c.features, z[0], style=c.style)
        real.append(z[:, lay.pose])
        pred.append(p[:, lay.pose])
    real_std = np.concatenate(real).std(0)
    pred_std = np.concatenate(pred).std(0)
    gain = np.clip(real_std / np.maximum(pred_std, 1e-6), 1.0, max_gain).astype(np.float32)
    with torch.no_grad():
        model.pose_gain.copy_(torch.from_numpy(gain))
    log.info("pose gain (real/predicted spread): %s", np.round(gain, 2).tolist())
    return gain
