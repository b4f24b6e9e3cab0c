"""The eye attention map: the one place where a frame's blink becomes an image channel.

FACIAL's Rendering-to-Video network sees, next to the rendered face, the eye region filled with
the frame's AU45 value (the original paints the eye vertices white and overwrites them with AU45).
Here the map is an explicit float channel made only by :func:`make_eye_map`:

- each eye region is an ellipse built from the two eye corners only (centre = their midpoint,
  semi-major axis = ``scale`` × half the corner distance along the corner line, semi-minor axis =
  ``aspect`` × semi-major), so the region does not shrink when the lids close;
- inside the ellipse the map equals the frame's blink value (0 open … 1 closed) exactly;
- it falls smoothly to 0 over ``feather`` (a fraction of the semi-major axis) outside it, and is
  exactly 0 beyond.
"""
from __future__ import annotations

import numpy as np

from facial.speaker import face_model as fm

EYE_SCALE = 1.25  # semi-major axis / half the corner distance
EYE_ASPECT = 0.6  # semi-minor / semi-major
EYE_FEATHER = 0.35  # soft border, as a fraction of the semi-major axis


def eye_ellipses(landmarks: np.ndarray, scale: float = EYE_SCALE, aspect: float = EYE_ASPECT) -> np.ndarray:
    """``[T, 478, ≥2]`` landmarks → ``[T, 2, 5]`` ellipses ``(cx, cy, a, b, angle)`` of the right and left eye."""
    lm = np.asarray(landmarks, dtype=np.float64)[..., :2]
    out = []
    for c0, c1 in (fm.RIGHT_EYE_CORNERS, fm.LEFT_EYE_CORNERS):
        p0, p1 = lm[:, c0], lm[:, c1]
        centre = 0.5 * (p0 + p1)
        d = p1 - p0
        a = 0.5 * np.linalg.norm(d, axis=-1) * scale
        angle = np.arctan2(d[:, 1], d[:, 0])
        out.append(np.stack([centre[:, 0], centre[:, 1], a, a * aspect, angle], axis=-1))
    return np.stack(out, axis=1)


def ellipse_distance(ellipse: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Normalised elliptical radius (1 on the border) of pixel grids ``xs``, ``ys`` for one ellipse ``[5]``."""
    cx, cy, a, b, angle = ellipse
    c, s = np.cos(angle), np.sin(angle)
    u = (xs - cx) * c + (ys - cy) * s
    v = -(xs - cx) * s + (ys - cy) * c
    return np.sqrt((u / max(a, 1e-6)) ** 2 + (v / max(b, 1e-6)) ** 2)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def eye_weight(landmarks: np.ndarray, size: tuple[int, int], *, feather: float = EYE_FEATHER,
               scale: float = EYE_SCALE, aspect: float = EYE_ASPECT) -> np.ndarray:
    """Soft eye-region mask ``[T, H, W]`` float32: 1 inside both eye ellipses, 0 outside (no blink value)."""
    width, height = int(size[0]), int(size[1])
    ell = eye_ellipses(landmarks, scale, aspect)
    out = np.zeros((len(ell), height, width), dtype=np.float32)
    for t in range(len(ell)):
        for e in ell[t]:
            reach = e[2] * (1 + feather) + 2
            x0, x1 = int(max(0, np.floor(e[0] - reach))), int(min(width, np.ceil(e[0] + reach) + 1))
            y0, y1 = int(max(0, np.floor(e[1] - reach))), int(min(height, np.ceil(e[1] + reach) + 1))
            if x1 <= x0 or y1 <= y0:
                continue
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
            r = ellipse_distance(e, xs, ys)
            w = 1.0 - _smoothstep((r - 1.0) / max(feather, 1e-6))
            np.maximum(out[t, y0:y1, x0:x1], w.astype(np.float32), out=out[t, y0:y1, x0:x1])
    return out


def make_eye_map(landmarks: np.ndarray, blink: np.ndarray, size: tuple[int, int], *, feather: float = EYE_FEATHER,
                 scale: float = EYE_SCALE, aspect: float = EYE_ASPECT) -> np.ndarray:
    """The eye attention map ``[T, H, W]`` float32 for frames of ``size`` = (width, height).

    ``landmarks [T, 478, ≥2]`` are in the output image's pixels, ``blink [T]`` in [0, 1]. Inside
    both eye ellipses the value is the frame's blink, outside it is 0, with a smooth border
    (see the module docstring). This is the only function that writes blink into an image.
    """
    blink = np.clip(np.asarray(blink, dtype=np.float32).reshape(-1), 0.0, 1.0)
    lm = np.asarray(landmarks)
    if lm.ndim != 3 or len(lm) != len(blink):
        raise ValueError(f"landmarks must be [T, 478, 2+] with T = len(blink) = {len(blink)}, got {lm.shape}")
    return eye_weight(lm, size, feather=feather, scale=scale, aspect=aspect) * blink[:, None, None]
