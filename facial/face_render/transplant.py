"""Mouth and eyes from other speaker frames: the regions to replace, and pasting a frame's region.

The warp renderer's base frame is chosen for its pose; its mouth (and, when the blink differs,
its eyes) come from the frames the planner picked for them (:mod:`.path_planning`). Each patch is
warped onto the target mesh (:func:`~facial.face_render.mesh_warp.warp_region`), colour-matched on
its feather zone and blended with a soft mask (:mod:`.blend`).
"""
from __future__ import annotations

import cv2
import numpy as np

from facial.face_render import blend, eye_map, mesh_warp
from facial.face_render.raster import Raster
from facial.speaker import face_model as fm


def mouth_region(target: np.ndarray, margin: tuple[float, float]) -> np.ndarray:
    """Mouth patch polygon ``[20, 2]``: the outer lips of ``target [478, ≥2]`` scaled by ``margin`` (x, y), kept below the nose."""
    lips = target[fm.LIPS_OUTER, :2].astype(np.float64)
    c = lips.mean(0)
    sx, sy = margin
    out = c + (lips - c) * np.array([sx, sy])
    # keep the region below the nose: clip its top to between the nose tip and the lip top
    nose_y = float(target[2, 1])  # FaceMesh 2: below the nose tip
    top = 0.5 * (nose_y + lips[:, 1].min())
    out[:, 1] = np.maximum(out[:, 1], top)
    return out


def eye_regions(target: np.ndarray, patch_scale: float) -> list[np.ndarray]:
    """Eye patch polygons (one per eye): the eye ellipses of ``target`` scaled by ``patch_scale``."""
    polys = []
    for cx, cy, a, b, ang in eye_map.eye_ellipses(target[None])[0]:
        pts = cv2.ellipse2Poly((int(cx * 4), int(cy * 4)), (int(a * patch_scale * 4), int(b * patch_scale * 4)),
                               int(np.degrees(ang)), 0, 360, 15)
        polys.append(pts.astype(np.float64) / 4.0)
    return polys


def paste_from(img: np.ndarray, r: Raster, frame: np.ndarray, src_lm: np.ndarray, polys: list[np.ndarray],
               feather: float, weight: float, *, colour_match: bool = True) -> np.ndarray:
    """Warp ``frame`` (landmarks ``src_lm``) onto the target mesh ``r`` inside ``polys`` and blend it into ``img``.

    ``img`` is float32 ``[H, W, 3]`` and is modified in place (and returned); ``feather``: width of
    the soft border (px); ``weight``: the patch's opacity.
    """
    pts = np.concatenate(polys)
    pad = int(np.ceil(2 * feather)) + 2
    rx0, ry0, rx1, ry1 = r.box
    x0 = int(max(rx0, np.floor(pts[:, 0].min()) - pad))
    y0 = int(max(ry0, np.floor(pts[:, 1].min()) - pad))
    x1 = int(min(rx1, np.ceil(pts[:, 0].max()) + pad + 1))
    y1 = int(min(ry1, np.ceil(pts[:, 1].max()) + pad + 1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return img
    patch, valid = mesh_warp.warp_region(r, frame, src_lm, (x0, y0, x1, y1))
    alpha = blend.soft_polygon_mask(polys, (y1 - y0, x1 - x0), feather, offset=(x0, y0)) * weight
    img[y0:y1, x0:x1] = blend.paste(img[y0:y1, x0:x1], patch, alpha, colour_match=colour_match, valid=valid)
    return img
