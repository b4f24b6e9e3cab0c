"""Parameter-level measurements shared by validation (early stopping) and the benchmark."""
from __future__ import annotations

import numpy as np

from facial.speaker import face_model as fm
from facial.types import SpeakerProfile


def lip_opening(expression: np.ndarray, profile: SpeakerProfile, basis: fm.ExpressionBasis, pose: np.ndarray | None = None) -> np.ndarray:
    """Mouth opening ``[T]`` of expression coefficients on the speaker's face, under one fixed pose.

    The pose is the profile's mean pose unless given, so the curve reflects the lips alone (a
    nodding head changes the projected lip gap; that must not count as lip motion).
    """
    expression = np.asarray(expression, np.float32)
    n = len(expression)
    fixed = profile.params.pose.mean(0) if pose is None else np.asarray(pose, np.float32)
    lm = fm.landmarks_from_params(np.repeat(fixed[None], n, 0), expression, np.zeros(n, np.float32), profile.identity, basis,
                                  profile.blink_shape)
    return fm.mouth_opening(lm)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r, NaN when either track is constant."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
