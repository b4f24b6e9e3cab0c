"""Head-pose signals from a ``[T, 3]`` (yaw, pitch, roll) track in radians.

Rotation convention: :mod:`facial.layout` (``R = Rz(roll) Rx(pitch) Ry(yaw)``). Speeds use the
geodesic angle between consecutive rotation matrices (the rotation needed to go from one frame's
head orientation to the next), which does not depend on the Euler-angle convention.
"""
from __future__ import annotations

import numpy as np


def rotation_matrices(angles: np.ndarray) -> np.ndarray:
    """``[T, 3]`` (yaw, pitch, roll) radians → ``[T, 3, 3]``."""
    from facial.speaker.face_model import euler_to_matrix

    return euler_to_matrix(np.asarray(angles, dtype=np.float64))


def geodesic_steps(angles: np.ndarray) -> np.ndarray:
    """``[T-1]`` rotation angle (radians) between consecutive frames."""
    r = rotation_matrices(angles)
    if len(r) < 2:
        return np.zeros(0)
    rel = np.einsum("tji,tjk->tik", r[:-1], r[1:])  # R_t^T R_{t+1}
    cos = (np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0
    return np.arccos(np.clip(cos, -1.0, 1.0))


def angular_speed(angles: np.ndarray, fps: float) -> np.ndarray:
    """``[T-1]`` head angular speed in degrees per second."""
    return np.degrees(geodesic_steps(angles)) * fps
