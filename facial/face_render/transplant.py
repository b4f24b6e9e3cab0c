"""Mouth and eyes from other speaker frames: the regions to replace, and pasting a frame's region.

The warp renderer's base frame is chosen for its pose; its mouth (and, when the blink differs,
its eyes) come from the frames the planner picked for them (:mod:`.path_planning`). Each patch is
warped onto the target mesh (:func:`~facial.face_render.mesh_warp.warp_region`), colour-matched on
its feather zone and blended with a soft mask (:mod:`.blend`); the eyes' mask and opacity are the
eye attention map (:func:`~facial.face_render.eye_map.make_eye_map`), as in the neural renderer.
"""
from __future__ import annotations

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


def paste_from(img: np.ndarray, r: Raster, frame: np.ndarray, src_lm: np.ndarray, polys: list[np.ndarray],
               feather: float, weight: float, *, colour_match: bool = True) -> np.ndarray:
    """Warp ``frame`` (landmarks ``src_lm``) onto the target mesh ``r`` inside ``polys`` and blend it into ``img``.

    ``img`` is float32 ``[H, W, 3]`` and is modified in place (and returned); ``feather``: width of
    the soft border (px); ``weight``: the patch's opacity.
    """
    pts = np.concatenate(polys)
    pad = int(np.ceil(2 * feather)) + 2
    box = _clip_box(r, pts, pad)
    if box is None:
        return img
    x0, y0, x1, y1 = box
    region = blend.soft_polygon_mask(polys, (y1 - y0, x1 - x0), feather, offset=(x0, y0))
    return _paste_region(img, r, frame, src_lm, box, region, weight, colour_match)


def eye_box(target: np.ndarray, r: Raster | None = None, size: tuple[int, int] | None = None) -> tuple[int, int, int, int] | None:
    """Pixel box ``(x0, y0, x1, y1)`` holding both eyes' attention-map regions (ellipse + soft border) of ``target``."""
    ell = eye_map.eye_ellipses(target[None])[0]
    reach = ell[:, 2:3] * (1 + eye_map.EYE_FEATHER) + 2
    pts = np.concatenate([ell[:, :2] - reach, ell[:, :2] + reach])
    if r is not None:
        return _clip_box(r, pts, 1)
    w, h = size
    x0, y0 = int(max(0, np.floor(pts[:, 0].min()))), int(max(0, np.floor(pts[:, 1].min())))
    x1, y1 = int(min(w, np.ceil(pts[:, 0].max()) + 1)), int(min(h, np.ceil(pts[:, 1].max()) + 1))
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def eye_region(target: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The eye attention map's region (value 1 inside both eye ellipses, soft border, 0 beyond) over ``box``.

    This is :func:`facial.face_render.eye_map.make_eye_map` with blink 1: the region the map writes
    a frame's blink into, shared by both renderers.
    """
    x0, y0, x1, y1 = box
    lm = np.asarray(target, np.float64)[None, :, :2] - np.array([x0, y0], np.float64)
    return eye_map.make_eye_map(lm, np.ones(1, np.float32), (x1 - x0, y1 - y0))[0]


def paste_eyes(img: np.ndarray, r: Raster, frame: np.ndarray, src_lm: np.ndarray, target: np.ndarray, weight: float,
               *, colour_match: bool = True) -> np.ndarray:
    """Blend the eyes of ``frame`` (landmarks ``src_lm``), warped onto the target mesh ``r``, into ``img``.

    The blend follows the eye attention map: alpha = :func:`~facial.face_render.eye_map.make_eye_map`
    of ``target`` with the value ``weight`` (the fraction of the blink change this frame brings,
    see :func:`facial.face_render.path_planning.plan_frames`). Colours are matched on the map's soft border.
    """
    box = eye_box(target, r)
    if box is None:
        return img
    return _paste_region(img, r, frame, src_lm, box, eye_region(target, box), weight, colour_match)


def _clip_box(r: Raster, pts: np.ndarray, pad: int) -> tuple[int, int, int, int] | None:
    rx0, ry0, rx1, ry1 = r.box
    x0 = int(max(rx0, np.floor(pts[:, 0].min()) - pad))
    y0 = int(max(ry0, np.floor(pts[:, 1].min()) - pad))
    x1 = int(min(rx1, np.ceil(pts[:, 0].max()) + pad + 1))
    y1 = int(min(ry1, np.ceil(pts[:, 1].max()) + pad + 1))
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def _paste_region(img: np.ndarray, r: Raster, frame: np.ndarray, src_lm: np.ndarray, box: tuple[int, int, int, int],
                  region: np.ndarray, weight: float, colour_match: bool) -> np.ndarray:
    """Warp ``frame`` into ``box`` and blend it with alpha ``region × weight`` (colours matched on the region's border)."""
    x0, y0, x1, y1 = box
    patch, valid = mesh_warp.warp_region(r, frame, src_lm, box)
    base = img[y0:y1, x0:x1]
    if colour_match:
        patch = blend.match_colour(patch, base, blend.ring_weight(region) * valid)
    img[y0:y1, x0:x1] = blend.feather_blend(base, patch, region * valid * float(weight))
    return img
