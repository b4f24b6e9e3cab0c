"""Mesh warping: move a speaker frame's pixels so its tracked landmarks land on target landmarks.

Inside the face the FaceMesh triangles (with explicit mouth and eye interiors), rasterised at the
target landmarks with a z-buffer (:func:`~facial.face_render.raster.rasterize`), map every pixel
barycentrically back into the source frame. Outside, the face-oval boundary displacement is
spread by inverse-distance weighting and decays with the distance from the face, so there is no
seam at the jaw and hair and shoulders follow the head.
"""
from __future__ import annotations

import functools

import cv2
import numba
import numpy as np

from facial.face_render import mesh
from facial.face_render.raster import Raster


def base_map(r: Raster, target: np.ndarray, src_lm: np.ndarray, fh: float, falloff: float) -> np.ndarray:
    """Backward map of the whole frame: exact inside the mesh, decaying boundary displacement outside.

    ``r``: the mesh rasterised at ``target [478, ≥2]`` over the whole image; ``src_lm``: the
    source frame's landmarks; ``fh``: the target face height (px); ``falloff``: × ``fh``, the
    distance over which the displacement fades outside the face. Returns the map ``[h, w, 2]``
    float32 (source x, y of every pixel) for :func:`cv2.remap`.
    """
    w, h = r.size
    gx, gy = _coarse_grid(w, h)
    oval_t = target[mesh.FACE_OVAL, :2].astype(np.float64)
    disp = (src_lm[mesh.FACE_OVAL, :2] - target[mesh.FACE_OVAL, :2]).astype(np.float64)
    q = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float64)
    field = _idw_kernel(q, oval_t, disp, (0.03 * fh) ** 2)
    outside = _distance_outside(q, oval_t, (w + _STEP, h + _STEP))
    fall = np.exp(-(outside / max(falloff * fh, 1.0)) ** 2)
    field *= fall[:, None]
    # one 2-channel map (x, y) for cv2.remap; cv2.resize aligns pixel centres, so re-grid exactly:
    # the value at pixel (x, y) ≈ the field at (x, y)
    field2 = cv2.resize(field.reshape(gx.shape + (2,)).astype(np.float32), None, fx=_STEP, fy=_STEP,
                        interpolation=cv2.INTER_LINEAR)[:h, :w]
    maps = field2 + _pixel_grid(w, h)
    if r.triangle.size:
        x0, y0, x1, y1 = r.box
        src = r.interpolate(src_lm[:, :2])
        inner = r.mask.astype(np.float32)
        k = max(3, int(round(0.02 * fh)) | 1)
        inner = cv2.erode(inner, np.ones((k, k), np.uint8))
        inner = (cv2.GaussianBlur(inner, (2 * k + 1, 2 * k + 1), k / 2.0) * r.mask)[..., None]
        face = maps[y0:y1, x0:x1]
        face += inner * (src - face)
    return maps


_STEP = 8  # px: the outside displacement field is computed on this grid and interpolated


@functools.lru_cache(maxsize=8)
def _coarse_grid(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    gy, gx = np.mgrid[0:h + _STEP:_STEP, 0:w + _STEP:_STEP].astype(np.float32)
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


@functools.lru_cache(maxsize=8)
def _pixel_grid(w: int, h: int) -> np.ndarray:
    """``[h, w, 2]`` float32: every pixel's own (x, y)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([xx, yy], axis=-1)
    grid.flags.writeable = False
    return grid


@numba.njit(cache=True, nogil=True)
def _idw_kernel(q, points, values, soft2):  # pragma: no cover - compiled; tested through base_map
    """Inverse-distance weighting ``Σ w·values / Σ w`` at ``q [n, 2]``, ``w = (|q − p|² + soft2)^−1.5``."""
    out = np.empty((q.shape[0], values.shape[1]))
    for i in range(q.shape[0]):
        wsum = 0.0
        acc0 = 0.0
        acc1 = 0.0
        for j in range(points.shape[0]):
            dx = q[i, 0] - points[j, 0]
            dy = q[i, 1] - points[j, 1]
            d2 = dx * dx + dy * dy + soft2
            wgt = 1.0 / (d2 * np.sqrt(d2))
            wsum += wgt
            acc0 += wgt * values[j, 0]
            acc1 += wgt * values[j, 1]
        out[i, 0] = acc0 / wsum
        out[i, 1] = acc1 / wsum
    return out


def _distance_outside(q: np.ndarray, poly: np.ndarray, size: tuple[int, int], scale: int = 4) -> np.ndarray:
    """Distance (px) of grid points ``q [n, 2]`` (multiples of ``scale``, within ``size = (w, h)``) outside the polygon ``poly``.

    0 inside. A distance transform of the polygon filled at ``1/scale`` resolution: within a few
    pixels of the exact distance (``cv2.pointPolygonTest``) — the field fades over about a hundred —
    at a fraction of a per-point test's cost.
    """
    w, h = size
    outside = np.full((h // scale + 1, w // scale + 1), 255, np.uint8)
    cv2.fillPoly(outside, [np.round(poly * (16 / scale)).astype(np.int32)], 0, lineType=cv2.LINE_8, shift=4)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_5)
    return dist[(q[:, 1] // scale).astype(np.int64), (q[:, 0] // scale).astype(np.int64)].astype(np.float64) * scale


def warp_frame(frame: np.ndarray, r: Raster, target: np.ndarray, src_lm: np.ndarray, fh: float, falloff: float) -> np.ndarray:
    """``frame`` (landmarks ``src_lm``) warped onto ``target`` over the whole image (:func:`base_map`), in ``frame``'s dtype."""
    return cv2.remap(frame, base_map(r, target, src_lm, fh, falloff), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def warp_region(r: Raster, frame: np.ndarray, src_lm: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` (landmarks ``src_lm``) warped onto the mesh ``r`` inside ``box = (x0, y0, x1, y1)`` (within ``r.box``).

    Returns ``(patch [h, w, 3] float32, valid [h, w] float32)``: valid is 1 where the mesh covers the pixel.
    """
    sub_r = r.crop(box)
    src = sub_r.interpolate(src_lm[:, :2])
    valid = sub_r.mask.astype(np.float32)
    patch = cv2.remap(frame, src[..., 0], src[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    return patch, valid
