"""Procedural mouth interior and closed-eye lash line, for when the speaker footage lacks them.

A single photo (or a clip that never opens the mouth wide) has no teeth or mouth cavity to copy.
:func:`mouth_interior` paints a plausible one inside the predicted inner-lip contour: a dark,
reddish cavity shaded darker towards its middle with a tongue tint towards the lower lip, an upper
tooth row under the upper lip and a fainter lower row, both fading towards the mouth corners,
with colours scaled to the skin. Teeth appear only through lips parted by more than 6 % of the
mouth width (fully from 16 %), and only between the lips: nearly closed or crossing lips get a
dark slit, never white bars at the corners (issue #14). :func:`lash_line` darkens the line where
closed lids meet. Both return a colour layer and an alpha (see :mod:`facial.face_render.blend`).

Into a frame (float32 ``[H, W, 3]``, modified in place and returned): :func:`paint_mouth_interior`
and :func:`paint_lash_line` blend those layers over the face, and :func:`close_lids` covers where
the open eye would be with lid skin cloned from just above it (a photo never shows closed eyes),
its alpha a fixed response (:func:`lid_alpha`) to the eye attention map of the missing blink.
"""
from __future__ import annotations

import cv2
import numpy as np

from facial.face_render import blend, eye_map, mesh
from facial.speaker import face_model as fm

CAVITY = np.array([0.42, 0.17, 0.17], dtype=np.float32)  # × skin colour
TONGUE = np.array([0.72, 0.33, 0.33], dtype=np.float32)  # × skin colour
TEETH = np.array([0.93, 0.90, 0.84], dtype=np.float32)  # × teeth luminance
LID_RESPONSE = (0.3, 0.8)  # eye-map value (missing blink) where the synthetic lid starts / is opaque
# the eye attention map drawn over the open eye (make_eye_map's own parameters; its default region
# reaches the lid crease and the brow, and skin cloned over all of it would double them): the
# ellipse's height is LID_HEIGHT × the open eye's lid gap
LID_SCALE, LID_HEIGHT, LID_FEATHER = 1.05, 1.5, 0.5
LID_SHIFT = 0.9  # × the ellipse's height: how far above the eye the lid skin is cloned from
TEETH_GAP = (0.06, 0.16)  # inner-lip gap / mouth width: no teeth below the first, fully shown above the second


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def mouth_interior(landmarks: np.ndarray, shape: tuple[int, int], skin: np.ndarray, *, offset=(0, 0),
                   teeth: np.ndarray | None = None, band: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic mouth interior over a ``shape`` = (h, w) box at ``offset`` = (x0, y0) of the image.

    ``landmarks [478, ≥2]`` are the output face's (image pixels); ``skin [3]`` is the mean skin
    colour near the mouth (0–255); ``teeth [3]``: the colour of the speaker's own teeth when the
    footage shows them (default: derived from the skin); ``band``: the fraction of the opening,
    centred between the lips, that is painted (the rest shows the footage's own lips and teeth,
    warped). Returns ``(colour [h, w, 3] float32, alpha [h, w] float32)``: alpha is 1 inside the
    inner-lip contour (within the band; soft by about a pixel) and 0 elsewhere.
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
    open_gap = y_lo - y_up  # local inner-lip gap (px); ≤ 0 where the predicted lips touch or cross
    gap = np.maximum(open_gap, 1e-3)
    rel = np.clip((v - y_up) / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower lip
    env = np.clip(np.sin(np.pi * np.clip(u, 0, 1)) * 1.8, 0.0, 1.0)
    # teeth show only through lips parted by more than TEETH_GAP × the mouth width: a nearly closed
    # mouth is a dark slit, never a white bar (issue #14)
    lo, hi = TEETH_GAP
    show = _smoothstep((open_gap / width - lo) / (hi - lo))
    h_up = np.minimum(0.09 * width, 0.4 * gap) * env
    h_lo = np.minimum(0.05 * width, 0.15 * gap) * env
    skin = np.asarray(skin, dtype=np.float32).reshape(3)
    lum = float(np.clip(skin.max() * 1.12, 150.0, 235.0))  # teeth a little brighter than the skin
    depth = 0.55 + 0.45 * np.abs(2 * rel - 1)  # lighter near the lips, darkest in the middle of the opening
    colour = (skin * CAVITY)[None, None, :] * depth[..., None].astype(np.float32)
    tongue = (_smoothstep((rel - 0.55) / 0.35) * 0.6 * env * show)[..., None]  # reddish, towards the lower lip
    colour = colour * (1 - tongue) + (skin * TONGUE)[None, None, :] * tongue
    teeth = TEETH * lum if teeth is None else np.asarray(teeth, np.float32).reshape(3)
    t_up = 1.0 - _smoothstep((v - y_up - h_up) / 1.2 + 0.5)
    t_lo = 1.0 - _smoothstep((y_lo - v - h_lo) / 1.2 + 0.5)
    t_up *= (h_up > 0.5) * show
    t_lo *= (h_lo > 0.5) * 0.6 * show
    shade = ((0.75 + 0.25 * env) * (0.7 + 0.3 * show))[..., None]
    for t in (t_up, t_lo):
        colour = colour * (1 - t[..., None]) + (teeth * shade) * t[..., None]
    colour = np.clip(cv2.GaussianBlur(colour.astype(np.float32), (3, 3), 0.6), 0.0, 255.0)
    poly = mesh.mouth_polygon(lm[None])[0]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    # where the predicted lips cross, the contour folds over itself and fillPoly fills the fold:
    # keep only pixels between the upper and the lower lip, inside the corners
    between = np.clip(open_gap, 0.0, 1.0) * (u >= 0) * (u <= 1)
    if band < 1.0:
        mid = 0.5 * (y_up + y_lo)
        between = between * (1.0 - _smoothstep((np.abs(v - mid) - 0.5 * band * gap) / 1.5 + 0.5))
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0 * between.astype(np.float32), (3, 3), 0.7)
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


def visible_teeth(box: np.ndarray, target: np.ndarray, offset=(0, 0)) -> np.ndarray | None:
    """Mean colour of the teeth already visible inside the inner lips of ``box`` (bright, whitish
    pixels; at least 20), or None: a photo with its teeth showing lends them to the synthetic rows."""
    inner = blend.soft_polygon_mask([mesh.mouth_polygon(target[None])[0]], box.shape[:2], 0.0, offset=offset) > 0.5
    if inner.sum() < 20:
        return None
    px = box[inner].astype(np.float32)
    luma = px @ np.array([0.299, 0.587, 0.114], np.float32)
    chroma = px.max(1) - px.min(1)
    teeth = (luma > 140) & (chroma < 0.25 * px.max(1))
    return px[teeth].mean(0) if teeth.sum() >= 20 else None


def paint_mouth_interior(img: np.ndarray, target: np.ndarray, region: np.ndarray, weight: float, band: float = 1.0) -> np.ndarray:
    """Blend :func:`mouth_interior` for landmarks ``target`` into ``img`` inside the mouth ``region``
    polygon, its colours scaled to the skin between the region and the lips (its teeth those
    already visible, if any); ``weight`` scales its alpha, ``band`` is the painted fraction of the opening."""
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
    colour, alpha = mouth_interior(target, box.shape[:2], skin, offset=(x0, y0), teeth=visible_teeth(box, target, (x0, y0)),
                                   band=band)
    img[y0:y1, x0:x1] = blend.feather_blend(box, colour, alpha * weight)
    return img


def lid_alpha(blink_map: np.ndarray | float) -> np.ndarray | float:
    """Opacity of the synthetic closed lid for a blink value the footage lacks (an eye-map value).

    The mesh warp already lowers the lids for any blink; skin is drawn over the eye only for the
    closing part of a blink: transparent below ``LID_RESPONSE[0]``, opaque from ``LID_RESPONSE[1]``.
    """
    lo, hi = LID_RESPONSE
    return _smoothstep((np.asarray(blink_map, dtype=np.float32) - lo) / (hi - lo))


def close_lids(img: np.ndarray, open_target: np.ndarray, blink: float, *, colour_match: bool = True) -> np.ndarray:
    """Cover the eyes of ``open_target`` with lid skin cloned from just above them (one-shot blinks).

    ``blink`` is the part of the predicted blink the footage cannot show. The alpha is the eye
    attention map (:func:`~facial.face_render.eye_map.make_eye_map`) of the open eyes with the
    value :func:`lid_alpha` ``(blink)``, its ellipse sized to the open eye (``LID_SCALE`` ×
    the corner distance, ``LID_HEIGHT`` × the lid gap) instead of the map's default region, which
    reaches the brow."""
    h, w = img.shape[:2]
    lm_all = np.asarray(open_target, np.float64)[:, :2]
    cover = eye_map.make_eye_map  # the one function that writes blink into an image
    # the map's ellipse is centred between the eye corners; the opening sits a little higher: move
    # the corners (a copy) to the opening's centre, so the ellipse covers the open eye
    lm_all = lm_all.copy()
    for side, corners in (("right", fm.RIGHT_EYE_CORNERS), ("left", fm.LEFT_EYE_CORNERS)):
        lids = mesh.eye_polygon(lm_all, side)
        lm_all[list(corners), 1] += lids[:, 1].mean() - lm_all[list(corners), 1].mean()
    for ellipse, side in zip(eye_map.eye_ellipses(lm_all[None], LID_SCALE)[0], ("right", "left")):
        cx, cy, a, _, _ = ellipse
        gap = float(np.ptp(mesh.eye_polygon(lm_all, side)[:, 1]))
        aspect = float(np.clip(0.5 * LID_HEIGHT * gap / max(a, 1e-6), 0.15, eye_map.EYE_ASPECT))
        b = aspect * a
        reach = a * (1 + LID_FEATHER) + 2
        x0, y0 = int(max(0, np.floor(cx - reach))), int(max(0, np.floor(cy - reach)))
        x1, y1 = int(min(w, np.ceil(cx + reach) + 1)), int(min(h, np.ceil(cy + reach) + 1))
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        lm = lm_all[None] - np.array([x0, y0], np.float64)
        size = (x1 - x0, y1 - y0)
        opts = {"scale": LID_SCALE, "aspect": aspect, "feather": LID_FEATHER}
        region = cover(lm, np.ones(1, np.float32), size, **opts)[0]
        if side == "right":  # one eye per box: drop the other ellipse if it reaches in
            region *= (np.arange(size[0])[None, :] + x0 <= 0.5 * (lm_all[fm.RIGHT_EYE_CORNERS[1], 0] + lm_all[fm.LEFT_EYE_CORNERS[1], 0]))
        else:
            region *= (np.arange(size[0])[None, :] + x0 > 0.5 * (lm_all[fm.RIGHT_EYE_CORNERS[1], 0] + lm_all[fm.LEFT_EYE_CORNERS[1], 0]))
        alpha = region * float(lid_alpha(blink))  # = make_eye_map(open eye, lid_alpha(blink)) over this eye
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        src = cv2.remap(img, xx, yy - LID_SHIFT * 2 * b, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        base = img[y0:y1, x0:x1]
        if colour_match:  # statistics on the map's soft border (skin)
            src = blend.match_colour(src, base, blend.ring_weight(region))
        img[y0:y1, x0:x1] = blend.feather_blend(base, src, alpha.astype(np.float32))
    return img


def paint_lash_line(img: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """Blend :func:`lash_line` for landmarks ``target`` into ``img`` (its colour from the mean skin around the eyes);
    the warp renderer passes ``strength = lid_alpha(blink)``, the closed lid's opacity."""
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
