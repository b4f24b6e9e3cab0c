"""Stage (3): rasterise the posed face mesh with the speaker's texture → :class:`RenderedFaces`.

The texture is one reference frame of the speaker clip (:func:`reference_frame_index`: frontal,
eyes open, mouth closed, among frames with a detected face); each mesh vertex's texture
coordinate is its tracked position in that frame. For every output frame the posed mesh
(:func:`facial.face_render.mesh.posed_landmarks`) is rasterised with a z-buffer at the output
resolution and the texture is sampled through the barycentric coordinates.

Explicit handling of the mesh's holes: the mouth opening is filled with a flat dark colour
(:data:`MOUTH_COLOUR`) so the opening is unmistakable; the eyes are textured from the reference
frame (squashed as the lids close) and the blink itself travels in the separate eye attention
map (:func:`facial.face_render.eye_map.make_eye_map`). Background is black; ``mask`` marks the
pixels the mesh covers.

``box`` renders a sub-rectangle of the speaker's frame (e.g. the square face crop the neural
renderer works on) at ``size``.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

from facial import layout
from facial.face_render import mesh
from facial.face_render.eye_map import make_eye_map
from facial.face_render.progress import progress_reporter
from facial.face_render.raster import rasterize
from facial.speaker import face_model as fm
from facial.types import FaceParams, RenderedFaces, SpeakerProfile

log = logging.getLogger(__name__)

MOUTH_COLOUR = np.array([40, 16, 20], dtype=np.uint8)


def reference_frame_index(profile: SpeakerProfile, frames: np.ndarray | range | None = None) -> int:
    """The frame used as the speaker's texture: frontal, eyes open, mouth closed (among ``frames``)."""
    idx = np.arange(profile.n_frames) if frames is None else np.asarray(list(frames))
    valid = np.asarray(profile.valid, bool)[idx]
    if valid.any():
        idx = idx[valid]
    pose = profile.params.pose[idx]
    opening = fm.mouth_opening(profile.landmarks[idx])
    cost = (np.abs(layout.pose_column(pose, "yaw")) + np.abs(layout.pose_column(pose, "pitch"))) / 0.1 + profile.params.blink[idx] / 0.2 + opening / 0.02
    return int(idx[int(np.argmin(cost))])


def face_box(profile: SpeakerProfile, margin: float = 0.75, frames: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """A fixed square ``(x0, y0, x1, y1)`` around the face over the whole clip, clipped to the frame.

    The side is the face's extent over all frames plus ``margin`` × face height (room for hair,
    neck and motion). When the square would not fit in the frame it is shrunk to fit.
    """
    lm = profile.landmarks if frames is None else profile.landmarks[frames]
    xs, ys = lm[..., 0], lm[..., 1]
    fh = float(np.median(mesh.face_height(lm)))
    x0, x1 = float(np.percentile(xs.min(1), 2)), float(np.percentile(xs.max(1), 98))
    y0, y1 = float(np.percentile(ys.min(1), 2)), float(np.percentile(ys.max(1), 98))
    side = max(x1 - x0, y1 - y0) + margin * fh
    w, h = profile.size
    side = int(round(min(side, w, h)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.05 * fh
    bx0 = int(round(min(max(cx - side / 2, 0), w - side)))
    by0 = int(round(min(max(cy - side / 2, 0), h - side)))
    return bx0, by0, bx0 + side, by0 + side


def to_box(landmarks: np.ndarray, box: tuple[int, int, int, int] | None, size: tuple[int, int], full: tuple[int, int]) -> np.ndarray:
    """Map profile-pixel landmarks ``[..., 3]`` into the output image of ``size`` covering ``box``."""
    x0, y0, x1, y1 = box if box is not None else (0, 0, full[0], full[1])
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    out = np.array(landmarks, dtype=np.float32, copy=True)
    out[..., 0] = (out[..., 0] - x0) * sx
    out[..., 1] = (out[..., 1] - y0) * sy
    out[..., 2] = out[..., 2] * sx
    return out


def crop_frames(frames: np.ndarray, box: tuple[int, int, int, int] | None, size: tuple[int, int]) -> np.ndarray:
    """Crop ``frames [T, H, W, 3]`` to ``box`` and resize to ``size`` (area filter when shrinking)."""
    if box is not None:
        x0, y0, x1, y1 = box
        frames = frames[:, y0:y1, x0:x1]
    if frames.shape[2] == size[0] and frames.shape[1] == size[1]:
        return np.ascontiguousarray(frames)
    interp = cv2.INTER_AREA if frames.shape[2] > size[0] else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, tuple(size), interpolation=interp) for f in frames])


class MeshRenderer:
    """Textured mesh renders of a speaker at ``size`` = (w, h) over ``box`` of the speaker's frame.

    ``texture``/``texture_landmarks`` default to the clip's reference frame
    (:func:`reference_frame_index`), decoded on first use.
    """

    def __init__(self, profile: SpeakerProfile, size: tuple[int, int] | int | None = None, *,
                 box: tuple[int, int, int, int] | None = None, basis: fm.ExpressionBasis | None = None,
                 texture: np.ndarray | None = None, texture_index: int | None = None):
        self.profile = profile
        self.box = tuple(int(v) for v in box) if box is not None else None
        if size is None:
            size = (box[2] - box[0], box[3] - box[1]) if box is not None else profile.size
        self.size = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
        self.basis = basis or mesh.default_basis()
        self.texture_index = reference_frame_index(profile) if texture_index is None else int(texture_index)
        self._texture = texture
        self.triangles, self.labels = mesh.all_triangles()

    @property
    def texture(self) -> np.ndarray:
        """The texture image (the reference frame, full speaker resolution)."""
        if self._texture is None:
            from facial.face_render.footage import load_speaker_frames

            self._texture = load_speaker_frames(self.profile, self.texture_index + 1)[self.texture_index]
        return self._texture

    def landmarks(self, params: FaceParams) -> np.ndarray:
        """Posed landmarks ``[T, 478, 3]`` in output pixels."""
        return to_box(mesh.posed_landmarks(self.profile, params, self.basis), self.box, self.size, self.profile.size)

    def render(self, params: FaceParams, *, progress=None) -> RenderedFaces:
        """Render every frame of ``params`` (see the module docstring)."""
        lms = self.landmarks(params)
        w, h = self.size
        t_len = len(params)
        images = np.zeros((t_len, h, w, 3), dtype=np.uint8)
        masks = np.zeros((t_len, h, w), dtype=bool)
        uv = self.profile.landmarks[self.texture_index, :, :2].astype(np.float32)
        tex = self.texture
        mouth_tris = np.flatnonzero(self.labels == mesh.MOUTH_INTERIOR)
        report, bar = progress_reporter(progress, t_len, "mesh render")
        try:
            for t in range(t_len):
                r = rasterize(lms[t], self.triangles, (w, h))
                if r.triangle.size == 0:
                    continue
                x0, y0, x1, y1 = r.box
                src = r.interpolate(uv)
                patch = cv2.remap(tex, src[..., 0], src[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                m = r.mask
                patch[~m] = 0
                patch[np.isin(r.triangle, mouth_tris)] = MOUTH_COLOUR
                images[t, y0:y1, x0:x1] = patch
                masks[t, y0:y1, x0:x1] = m
                if t % 10 == 9 or t == t_len - 1:
                    report((t + 1) / t_len)
        finally:
            if bar is not None:
                bar.close()
        eye = make_eye_map(lms, params.blink, (w, h))
        return RenderedFaces(images, eye, masks, params.fps)


def render_mesh(profile: SpeakerProfile, params: FaceParams, size: tuple[int, int] | int | None = None, *,
                box: tuple[int, int, int, int] | None = None, basis: fm.ExpressionBasis | None = None,
                progress=None) -> RenderedFaces:
    """Rasterise the posed, textured face mesh for ``params`` at ``size`` (default: the profile's size).

    Returns :class:`RenderedFaces` (images, eye attention map, coverage mask). ``box`` selects the
    region of the speaker's frame that the output covers (default: the whole frame).
    """
    return MeshRenderer(profile, size, box=box, basis=basis).render(params, progress=progress)
