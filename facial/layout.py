"""The one place that knows the column layout of FaceParams.

Per frame a face is described by three named tracks:

- ``pose`` (6): ``yaw, pitch, roll`` in radians, ``tx, ty`` in pixels, ``scale`` (pixels per
  canonical unit). Rotation convention (see :func:`facial.speaker.face_model.euler_to_matrix`):
  image axes x right, y down, z away from the camera; ``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)``
  applied to the canonical shape; positive yaw turns the nose towards image-left (the subject's
  right), positive pitch moves the nose down, positive roll rotates the face clockwise in the image.
- ``expression`` (K): coefficients of the linear expression basis.
- ``blink`` (1): 0 = eyes open, 1 = closed (the analogue of OpenFace AU45).

Anything that needs a flat ``[T, D]`` array (networks, smoothing, files) goes through
:func:`to_array` / :func:`from_array`; nothing else indexes columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POSE_NAMES: tuple[str, ...] = ("yaw", "pitch", "roll", "tx", "ty", "scale")
POSE_DIM = len(POSE_NAMES)
YAW, PITCH, ROLL, TX, TY, SCALE = range(POSE_DIM)
ROTATION = slice(YAW, ROLL + 1)
TRANSLATION = slice(TX, TY + 1)
ROTATION_NAMES: tuple[str, ...] = POSE_NAMES[ROTATION]


def rotation(pose: np.ndarray) -> np.ndarray:
    """``[..., 6]`` poses → ``[..., 3]`` yaw, pitch, roll (radians)."""
    return np.asarray(pose)[..., ROTATION]


def translation(pose: np.ndarray) -> np.ndarray:
    """``[..., 6]`` poses → ``[..., 2]`` tx, ty (pixels)."""
    return np.asarray(pose)[..., TRANSLATION]


def scale(pose: np.ndarray) -> np.ndarray:
    """``[..., 6]`` poses → ``[...]`` scale (pixels per canonical unit)."""
    return np.asarray(pose)[..., SCALE]


def pose_column(pose: np.ndarray, name: str) -> np.ndarray:
    """One named pose column (``"yaw"``, ``"pitch"``, ``"roll"``, ``"tx"``, ``"ty"``, ``"scale"``)."""
    return np.asarray(pose)[..., POSE_NAMES.index(name)]


@dataclass(frozen=True)
class ParamLayout:
    """Column layout of a flat parameter array: ``[pose | blink | expression]``.

    The order mirrors FACIAL's 71-column vector (pose, AU45, 64 expression coefficients) so that a
    model trained with the original layout maps one to one when K = 64.
    """

    n_expression: int

    @property
    def pose(self) -> slice:
        return slice(0, POSE_DIM)

    @property
    def blink(self) -> int:
        return POSE_DIM

    @property
    def expression(self) -> slice:
        return slice(POSE_DIM + 1, POSE_DIM + 1 + self.n_expression)

    @property
    def dim(self) -> int:
        return POSE_DIM + 1 + self.n_expression

    def names(self) -> list[str]:
        return [*POSE_NAMES, "blink", *(f"exp{i}" for i in range(self.n_expression))]


def to_array(pose: np.ndarray, expression: np.ndarray, blink: np.ndarray) -> np.ndarray:
    """Stack tracks ``pose [T,6]``, ``expression [T,K]``, ``blink [T]`` into ``[T, 7+K]``."""
    pose = np.asarray(pose, dtype=np.float32)
    expression = np.asarray(expression, dtype=np.float32)
    blink = np.asarray(blink, dtype=np.float32).reshape(-1, 1)
    return np.concatenate([pose, blink, expression], axis=1)


def from_array(array: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`to_array`: ``[T, 7+K]`` → ``(pose, expression, blink)``."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] < POSE_DIM + 1:
        raise ValueError(f"expected a [T, 7+K] parameter array, got shape {array.shape}")
    layout = ParamLayout(array.shape[1] - POSE_DIM - 1)
    return array[:, layout.pose].copy(), array[:, layout.expression].copy(), array[:, layout.blink].copy()
