"""Procedural mouth interior and closed-eye lash line, for when the speaker footage lacks them.

A single photo (or a clip that never opens the mouth wide) has no teeth or mouth cavity to copy.
:func:`mouth_interior` paints a plausible one inside the predicted inner-lip contour: a dark,
reddish cavity shaded darker towards its middle, an upper tooth row under the upper lip and a
fainter lower row, both fading towards the mouth corners, with colours scaled to the skin
brightness. :func:`lash_line` darkens the line where closed lids meet. Both return a colour layer
and an alpha (see :mod:`facial.face_render.blend`).

Into a frame (float32 ``[H, W, 3]``, modified in place and returned): :func:`paint_mouth_interior`
and :func:`paint_lash_line` blend those layers over the face, and :func:`close_lids` covers where
the open eye would be with lid skin cloned from just above it (a photo never shows closed eyes).
"""
from __future__ import annotations

import cv2
import numpy as np

from facial.face_render import blend, mesh
from facial.speaker import face_model as fm

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


def paint_mouth_interior(img: np.ndarray, target: np.ndarray, region: np.ndarray, weight: float) -> np.ndarray:
    """Blend :func:`mouth_interior` for landmarks ``target`` into ``img`` inside the mouth ``region``
    polygon, its colours scaled to the skin between the region and the lips; ``weight`` scales its alpha."""
    h, w = img.shape[:2]
    x0, y0 = int(max(0, np.floor(region[:, 0].min()))), int(max(0, np.floor(region[:, 1].min())))
    x1, y1 = int(min(w, np.ceil(region[:, 0].max()) + 1)), int(min(h, np.ceil(region[:, 1].max()) + 1))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return img
    box = img[y0:y1, x0:x1]
    ring = blend.soft_polygon_mask([region], box.shape[:2], 1.0, offset=(x0, y0))
    lips = blend.soft_polygon_mask([target[fm.LIPS_OUTER, :2]], box.shape[:2], 1.0, offset=(x0, y0))
    skin_w = np.clip(ring - lips, 0, 1)
    skin = (box * skin_w[..., None]).sum((0, 1)) / max(float(skin_w.sum()), 1.0)
    colour, alpha = mouth_interior(target, box.shape[:2], skin, offset=(x0, y0))
    img[y0:y1, x0:x1] = blend.feather_blend(box, colour, alpha * weight)
    return img


def close_lids(img: np.ndarray, open_target: np.ndarray, strength: float, *, colour_match: bool = True) -> np.ndarray:
    """Cover where the open eye of ``open_target`` would be with lid skin cloned from just above it (one-shot blinks)."""
    h, w = img.shape[:2]
    for side in ("right", "left"):
        poly = mesh.eye_polygon(open_target, side).astype(np.float64)
        c = poly.mean(0)
        poly = c + (poly - c) * np.array([1.1, 1.35])
        eye_h = max(2.0, float(np.ptp(poly[:, 1])))
        feather = max(1.0, 0.3 * eye_h)
        pad = int(np.ceil(2 * feather)) + 2
        x0, y0 = int(max(0, np.floor(poly[:, 0].min()) - pad)), int(max(0, np.floor(poly[:, 1].min()) - pad))
        x1, y1 = int(min(w, np.ceil(poly[:, 0].max()) + pad + 1)), int(min(h, np.ceil(poly[:, 1].max()) + pad + 1))
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        src = cv2.remap(img, xx, yy - 0.9 * eye_h, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = blend.soft_polygon_mask([poly], (y1 - y0, x1 - x0), feather, offset=(x0, y0)) * strength
        img[y0:y1, x0:x1] = blend.paste(img[y0:y1, x0:x1], src, alpha, colour_match=colour_match)
    return img


def paint_lash_line(img: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """Blend :func:`lash_line` for landmarks ``target`` into ``img`` (its colour from the mean skin around the eyes)."""
    h, w = img.shape[:2]
    pts = target[fm.EYE_REGION, :2]
    pad = int(0.1 * float(mesh.face_height(target))) + 2
    x0, y0 = int(max(0, pts[:, 0].min() - pad)), int(max(0, pts[:, 1].min() - pad))
    x1, y1 = int(min(w, pts[:, 0].max() + pad)), int(min(h, pts[:, 1].max() + pad))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return img
    box = img[y0:y1, x0:x1]
    skin = box.reshape(-1, 3).mean(0)
    colour, alpha = lash_line(target, box.shape[:2], skin, strength, offset=(x0, y0))
    img[y0:y1, x0:x1] = blend.feather_blend(box, colour, alpha)
    return img
