"""Mesh warping: move a speaker frame's pixels so its tracked landmarks land on target landmarks.

Inside the face the FaceMesh triangles (with explicit mouth and eye interiors), rasterised at the
target landmarks with a z-buffer (:func:`~facial.face_render.raster.rasterize`), map every pixel
barycentrically back into the source frame. Outside, the face-oval boundary displacement is
spread by inverse-distance weighting and decays with the distance from the face, so there is no
seam at the jaw and hair and shoulders follow the head.
"""
from __future__ import annotations

import cv2
import numpy as np

from facial.face_render import mesh
from facial.face_render.raster import Raster


def base_map(r: Raster, target: np.ndarray, src_lm: np.ndarray, fh: float, falloff: float) -> tuple[np.ndarray, np.ndarray]:
    """Backward map of the whole frame: exact inside the mesh, decaying boundary displacement outside.

    ``r``: the mesh rasterised at ``target [478, ≥2]`` over the whole image; ``src_lm``: the
    source frame's landmarks; ``fh``: the target face height (px); ``falloff``: × ``fh``, the
    distance over which the displacement fades outside the face. Returns ``(map_x, map_y)`` for
    :func:`cv2.remap`.
    """
    w, h = r.size
    step = 8
    gy, gx = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float32)
    oval_t = target[mesh.FACE_OVAL, :2].astype(np.float64)
    disp = (src_lm[mesh.FACE_OVAL, :2] - target[mesh.FACE_OVAL, :2]).astype(np.float64)
    q = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float64)
    d2 = ((q[:, None, :] - oval_t[None]) ** 2).sum(-1) + (0.03 * fh) ** 2
    wgt = 1.0 / d2 ** 1.5
    field = (wgt @ disp) / wgt.sum(1, keepdims=True)
    contour = oval_t.astype(np.float32).reshape(-1, 1, 2)
    dist = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in q])
    outside = np.maximum(-dist, 0.0)
    fall = np.exp(-(outside / max(falloff * fh, 1.0)) ** 2)
    field *= fall[:, None]
    fx = cv2.resize(field[:, 0].reshape(gx.shape).astype(np.float32), None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)[:h, :w]
    fy = cv2.resize(field[:, 1].reshape(gx.shape).astype(np.float32), None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)[:h, :w]
    # cv2.resize aligns pixel centres; re-grid exactly: value at pixel (x, y) ≈ field at (x, y)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x, map_y = xx + fx, yy + fy
    if r.triangle.size:
        x0, y0, x1, y1 = r.box
        src = r.interpolate(src_lm[:, :2])
        inner = r.mask.astype(np.float32)
        k = max(3, int(round(0.02 * fh)) | 1)
        inner = cv2.erode(inner, np.ones((k, k), np.uint8))
        inner = cv2.GaussianBlur(inner, (2 * k + 1, 2 * k + 1), k / 2.0) * r.mask
        mx, my = map_x[y0:y1, x0:x1], map_y[y0:y1, x0:x1]
        map_x[y0:y1, x0:x1] = inner * src[..., 0] + (1 - inner) * mx
        map_y[y0:y1, x0:x1] = inner * src[..., 1] + (1 - inner) * my
    return map_x, map_y


def warp_frame(frame: np.ndarray, r: Raster, target: np.ndarray, src_lm: np.ndarray, fh: float, falloff: float) -> np.ndarray:
    """``frame`` (landmarks ``src_lm``) warped onto ``target`` over the whole image (:func:`base_map`); float32."""
    map_x, map_y = base_map(r, target, src_lm, fh, falloff)
    return cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)


def warp_region(r: Raster, frame: np.ndarray, src_lm: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` (landmarks ``src_lm``) warped onto the mesh ``r`` inside ``box = (x0, y0, x1, y1)`` (within ``r.box``).

    Returns ``(patch [h, w, 3] float32, valid [h, w] float32)``: valid is 1 where the mesh covers the pixel.
    """
    sub_r = r.crop(box)
    src = sub_r.interpolate(src_lm[:, :2])
    valid = sub_r.mask.astype(np.float32)
    patch = cv2.remap(frame, src[..., 0], src[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    return patch, valid
