"""Seam-free compositing helpers: soft masks, colour matching and feathered blending.

A patch (say, the mouth of another frame already warped onto the output geometry) is pasted in
three steps: a soft ``alpha`` made by blurring a filled polygon (:func:`soft_polygon_mask`), a
colour transfer that matches the patch's mean and spread to the base image over the feather
zone where both are visible (:func:`match_colour`), and an alpha blend (:func:`feather_blend`).
Because the alpha ramps over several pixels and the colours agree on the ramp, no edge appears.
"""
from __future__ import annotations

import cv2
import numpy as np

GAIN_LIMITS = (0.75, 1.33)


def soft_polygon_mask(polygons: list[np.ndarray], shape: tuple[int, int], feather: float, *, offset=(0, 0)) -> np.ndarray:
    """``[h, w]`` float32 mask: filled ``polygons`` (pixel coords, shifted by ``-offset``) blurred by ``feather`` px.

    The mask is 0.5 on the polygon boundary and ramps to 1 (0) about ``feather`` px inside (outside).
    """
    h, w = shape
    m = np.zeros((h, w), dtype=np.uint8)
    for poly in polygons:
        pts = np.round((np.asarray(poly, dtype=np.float64)[:, :2] - np.asarray(offset)) * 4).astype(np.int32)
        cv2.fillPoly(m, [pts], 255, lineType=cv2.LINE_AA, shift=2)
    m = m.astype(np.float32) / 255.0
    if feather > 0.5:
        sigma = feather / 2.0
        k = int(2 * np.ceil(3 * sigma) + 1)
        m = np.clip(cv2.GaussianBlur(m, (k, k), sigma, borderType=cv2.BORDER_CONSTANT), 0.0, 1.0)
    return m


def match_colour(patch: np.ndarray, base: np.ndarray, zone: np.ndarray) -> np.ndarray:
    """Affine per-channel colour transfer of ``patch`` towards ``base`` (both ``[h, w, 3]`` float32, 0–255).

    Statistics are taken over ``zone [h, w]`` (where it is non-zero: the band where the patch meets
    the base); the gain is limited to :data:`GAIN_LIMITS` so a bad estimate cannot recolour the
    patch wildly. Returns the corrected patch (float32); ``patch`` itself when the zone is empty.
    """
    mask = (np.asarray(zone) > 0).astype(np.uint8)
    if not mask.any():
        return patch
    patch = np.ascontiguousarray(patch, dtype=np.float32)
    mp, sp = (a.ravel() for a in cv2.meanStdDev(patch, mask=mask))
    mb, sb = (a.ravel() for a in cv2.meanStdDev(np.ascontiguousarray(base, dtype=np.float32), mask=mask))
    gain = np.clip((sb + 1.0) / (sp + 1.0), *GAIN_LIMITS).astype(np.float32)
    return (patch - mp.astype(np.float32)) * gain + mb.astype(np.float32)


def feather_blend(base: np.ndarray, patch: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha·patch + (1 − alpha)·base`` with ``alpha [h, w]`` in [0, 1] (float32 result)."""
    a = np.clip(alpha, 0.0, 1.0)[..., None]
    return patch * a + base * (1.0 - a)


def ring_weight(alpha: np.ndarray, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """Weight of the feather zone of a soft mask (where ``low < alpha < high``), for colour statistics."""
    return ((alpha > low) & (alpha < high)).astype(np.float32)


def paste(base: np.ndarray, patch: np.ndarray, alpha: np.ndarray, *, colour_match: bool = True,
          valid: np.ndarray | None = None) -> np.ndarray:
    """Colour-match ``patch`` on the feather zone of ``alpha`` and blend it into ``base`` (float32, same shape).

    ``valid [h, w]`` (optional) marks patch pixels that exist (e.g. covered by the mesh); alpha is
    zero elsewhere.
    """
    base = base.astype(np.float32, copy=False)
    patch = patch.astype(np.float32, copy=False)
    if valid is not None:
        alpha = alpha * valid
    if colour_match:
        patch = match_colour(patch, base, ring_weight(alpha) * (valid if valid is not None else 1.0))
    return feather_blend(base, patch, alpha)
