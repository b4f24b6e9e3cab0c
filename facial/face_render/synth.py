"""Procedural mouth interior and closed-eye lash line, for when the speaker footage lacks them.

A single photo (or a clip that never opens the mouth wide) has no teeth or mouth cavity to copy.
:func:`mouth_interior` paints a plausible one inside the predicted inner-lip contour: a dark,
reddish cavity shaded darker towards its middle, an upper tooth row under the upper lip and a
fainter lower row, both fading towards the mouth corners, with colours scaled to the skin
brightness. :func:`lash_line` darkens the line where closed lids meet. Both return a colour layer
and an alpha; the caller blends them (see :mod:`facial.face_render.blend`).
"""
from __future__ import annotations

import cv2
import numpy as np

from facial.face_render import mesh

CAVITY = np.array([0.42, 0.17, 0.17], dtype=np.float32)  # × skin colour
TEETH = np.array([0.93, 0.90, 0.84], dtype=np.float32)  # × teeth luminance


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def mouth_interior(landmarks: np.ndarray, shape: tuple[int, int], skin: np.ndarray, *, offset=(0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic mouth interior over a ``shape`` = (h, w) box at ``offset`` = (x0, y0) of the image.

    ``landmarks [478, ≥2]`` are the output face's (image pixels); ``skin [3]`` is the mean skin
    colour near the mouth (0–255). Returns ``(colour [h, w, 3] float32, alpha [h, w] float32)``:
    alpha is 1 inside the inner-lip contour (soft by one pixel) and 0 elsewhere.
    """
    h, w = shape
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2] - np.asarray(offset, dtype=np.float64)
    upper, lower = lm[mesh.MOUTH_UPPER], lm[mesh.MOUTH_LOWER]
    c0, c1 = upper[0], upper[-1]
    axis = c1 - c0
    width = float(np.linalg.norm(axis))
    if width < 2:
        return np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    ax = axis / width
    normal = np.array([-ax[1], ax[0]])  # points "down" the face when the mouth is upright
    if normal[1] < 0:
        normal = -normal

    def to_local(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = p - c0
        return d @ ax / width, d @ normal

    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([xs, ys], -1)
    u, v = to_local(pts)
    uu, vu = to_local(upper)
    ul, vl = to_local(lower)
    ou, ol = np.argsort(uu), np.argsort(ul)
    y_up = np.interp(u, uu[ou], vu[ou])
    y_lo = np.interp(u, ul[ol], vl[ol])
    gap = np.maximum(y_lo - y_up, 1e-3)
    rel = (v - y_up) / gap  # 0 at the upper lip, 1 at the lower lip
    env = np.clip(np.sin(np.pi * np.clip(u, 0, 1)) * 1.8, 0.0, 1.0)
    h_up = np.minimum(0.11 * width, 0.45 * gap) * env
    h_lo = np.minimum(0.07 * width, 0.22 * gap) * env
    skin = np.asarray(skin, dtype=np.float32).reshape(3)
    lum = float(np.clip(skin.mean() * 1.25, 120.0, 235.0))
    depth = 0.55 + 0.45 * np.abs(2 * rel - 1)  # darker in the middle of the opening
    colour = (skin * CAVITY)[None, None, :] * depth[..., None].astype(np.float32)
    teeth = TEETH * lum
    t_up = 1.0 - _smoothstep((v - y_up - h_up) / 1.2 + 0.5)
    t_lo = 1.0 - _smoothstep((y_lo - v - h_lo) / 1.2 + 0.5)
    t_up *= (h_up > 0.5)
    t_lo *= (h_lo > 0.5) * 0.8
    shade = (0.65 + 0.35 * env)[..., None]
    for t in (t_up, t_lo):
        colour = colour * (1 - t[..., None]) + (teeth * shade) * t[..., None]
    colour = cv2.GaussianBlur(colour.astype(np.float32), (3, 3), 0.6)
    poly = mesh.mouth_polygon(lm[None])[0]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (3, 3), 0.7)
    return colour.astype(np.float32), alpha.astype(np.float32)


def lash_line(landmarks: np.ndarray, shape: tuple[int, int], skin: np.ndarray, strength: float, *, offset=(0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Dark line along both upper lids (for closed eyes), ``strength`` in [0, 1] scales its alpha."""
    h, w = shape
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2] - np.asarray(offset, dtype=np.float64)
    alpha = np.zeros((h, w), np.uint8)
    for upper, lower in ((mesh.RIGHT_EYE_UPPER, mesh.RIGHT_EYE_LOWER), (mesh.LEFT_EYE_UPPER, mesh.LEFT_EYE_LOWER)):
        line = 0.7 * lm[upper] + 0.3 * lm[lower]
        eye_w = float(np.linalg.norm(lm[upper[-1]] - lm[upper[0]]))
        thick = max(1, int(round(0.05 * eye_w)))
        cv2.polylines(alpha, [np.round(line * 4).astype(np.int32)], False, 255, thickness=thick, lineType=cv2.LINE_AA, shift=2)
    a = cv2.GaussianBlur(alpha.astype(np.float32) / 255.0, (3, 3), 0.8) * float(np.clip(strength, 0, 1)) * 0.7
    colour = np.broadcast_to((np.asarray(skin, np.float32) * 0.25)[None, None], (h, w, 3)).astype(np.float32)
    return colour, a.astype(np.float32)
