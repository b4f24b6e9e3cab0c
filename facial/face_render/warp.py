"""The training-free warp renderer: speaker footage re-timed and warped to predicted faces (CPU).

For every output frame ``t`` with predicted landmarks ``L_t`` (from :class:`FaceParams` through
the face model):

1. **Source frame along a smooth path.** A dynamic programme over the speaker's frames picks
   ``s_t`` minimising the pose difference to the predicted pose plus transition costs: playing
   on (forwards or backwards) is free, holding a frame, reversing direction and jumping to a
   frame that looks alike cost more (:meth:`WarpRenderer.plan`, :mod:`.path_planning`). So head
   motion, hair and shoulders come from real, continuous footage, looping back and forth as needed.
2. **Mesh warp.** Frame ``s_t`` is warped so its tracked landmarks land on ``L_t``: inside the
   face (FaceMesh triangles + explicit mouth/eye interiors) by barycentric mapping with a
   z-buffer, outside by the boundary displacement decaying with distance (no seam at the jaw)
   (:mod:`.mesh_warp`).
3. **Mouth and eyes from the best-matching frames.** The mouth region comes from the frame whose
   mouth shape matches the prediction (a second, coherent path), the eyes from a frame whose
   blink matches when ``s_t``'s does not; each patch is warped onto ``L_t`` with the same mesh,
   colour-matched on its feather zone and blended with a soft mask — for the eyes, the eye
   attention map :func:`~facial.face_render.eye_map.make_eye_map` (:mod:`.transplant`, :mod:`.blend`).
4. **Synthesis when footage lacks it** (one photo, or a mouth never opened that wide): a
   procedural mouth interior, faded in with the predicted opening, and closed lids drawn over the
   eye attention map of the blink no frame shows (:mod:`.synth`).

This module holds the renderer and its knobs (:class:`WarpConfig`); :class:`RenderPlan` (from
:mod:`.path_planning`) and :func:`load_speaker_frames` (from :mod:`.footage`) are re-exported.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np

from facial.face_render import mesh, mesh_warp, synth, transplant
from facial.face_render.footage import StreamedFrames, load_speaker_frames
from facial.face_render.path_planning import RenderPlan, frame_features, plan_frames
from facial.face_render.progress import ProgressArg, progress_reporter
from facial.face_render.raster import rasterize
from facial.speaker import face_model as fm
from facial.types import FaceParams, SpeakerProfile, VideoFrames

__all__ = ["RenderPlan", "WarpConfig", "WarpRenderer", "load_speaker_frames"]

log = logging.getLogger(__name__)


@dataclass
class WarpConfig:
    """Knobs of :class:`WarpRenderer` (defaults measured on the dev clips, see docs/RENDERING.md)."""

    rotation_sigma: float = 0.05  # rad: yaw/pitch difference worth one unit of cost
    roll_sigma: float = 0.10  # rad: roll is warped well, so it matters less
    translation_sigma: float = 0.25  # × scale (canonical units): translation is warped too
    scale_sigma: float = 0.08  # log-scale difference worth one unit
    hold_cost: float = 0.8  # showing the same source frame again
    reverse_cost: float = 2.5  # turning the playback direction
    jump_cost: float = 10.0  # cutting to a similar-looking frame elsewhere in the clip
    jump_neighbours: int = 6
    min_jump_gap: int = 12  # frames: a jump must go at least this far
    mouth_sigma: float = 0.025  # canonical units: RMS mouth-shape difference worth one unit
    mouth_pose_weight: float = 0.2
    mouth_candidates: int = 12
    mouth_switch_cost: float = 1.5
    mouth_base_bonus: float = 0.5  # preference for the base frame's own mouth (no patch)
    eye_threshold: float = 0.15  # blink difference from which another frame's eyes are blended in (from half of it, faded)
    eye_sigma: float = 0.1
    feather: float = 0.045  # × face height: width of soft blend borders
    mouth_margin: tuple[float, float] = (1.45, 1.9)  # mouth patch = outer lips scaled (x, y)
    falloff: float = 0.55  # × face height: outside the face the warp decays over this distance
    colour_match: bool = True
    synthesize: bool = True
    max_source_frames: int = 1500  # frames of the clip kept in memory (the first ones)


class WarpRenderer:
    """Training-free renderer over a speaker's own footage (see the module docstring).

    ``pool`` restricts the source frames (clip frame indices), e.g. to the first 90 % for a
    held-out comparison. ``workers``: frames rendered at once on that many threads (the entry
    point decides, e.g. from ``--threads``); the output is the same for any number. A one-frame profile (a photo) works: the single frame is warped and the
    mouth interior and closed eyes are synthesised.
    """

    def __init__(self, profile: SpeakerProfile, config: WarpConfig | None = None, *, basis: fm.ExpressionBasis | None = None,
                 pool: np.ndarray | range | None = None, frames: np.ndarray | None = None, workers: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be ≥ 1, got {workers}")
        self.workers = int(workers)
        self.profile = profile
        self.config = config or WarpConfig()
        self.basis = basis or mesh.default_basis()
        n_keep = min(profile.n_frames, self.config.max_source_frames)
        if profile.n_frames > n_keep:
            log.info("using the first %d of %d speaker frames as sources (WarpConfig.max_source_frames)", n_keep, profile.n_frames)
        pool_idx = np.arange(n_keep) if pool is None else np.asarray(list(pool), dtype=np.int64)
        pool_idx = pool_idx[(pool_idx >= 0) & (pool_idx < n_keep)]
        valid = np.asarray(profile.valid, dtype=bool)[pool_idx]
        if valid.any():
            pool_idx = pool_idx[valid]
        if len(pool_idx) == 0:
            raise ValueError("no usable speaker frames to render from")
        self.pool = pool_idx
        self._frames = frames[: n_keep] if frames is not None else None
        self.triangles, self.labels = mesh.all_triangles()
        pp = profile.params
        self._sources = frame_features(pp.pose[self.pool], pp.expression[self.pool], pp.blink[self.pool], profile.identity,
                                       self.basis, self.config)

    @property
    def frames(self) -> np.ndarray:
        """Speaker frames (decoded on first use)."""
        if self._frames is None:
            self._frames = load_speaker_frames(self.profile, int(self.pool.max()) + 1)
        return self._frames

    def landmarks(self, params: FaceParams) -> np.ndarray:
        """Predicted landmarks ``[T, 478, 3]`` in the speaker's pixel frame."""
        return mesh.posed_landmarks(self.profile, params, self.basis)

    def plan(self, params: FaceParams) -> RenderPlan:
        """Choose source, mouth and eye frames for every output frame (no pixels touched)."""
        target = frame_features(params.pose, params.expression, params.blink, self.profile.identity, self.basis, self.config)
        return plan_frames(target, self._sources, self.pool, self.config)

    def render(self, params: FaceParams, *, progress: ProgressArg = None, plan: RenderPlan | None = None) -> VideoFrames:
        """Render ``params`` into :class:`VideoFrames` at the profile's size and ``params.fps``.

        ``progress``: True for a progress bar, or a callable receiving the fraction done.
        """
        w, h = self.profile.size
        out = np.empty((len(params), h, w, 3), dtype=np.uint8)
        for t, frame in enumerate(self.iter_frames(params, progress=progress, plan=plan)):
            out[t] = frame
        return VideoFrames(out, params.fps)

    def iter_frames(self, params: FaceParams, *, progress: ProgressArg = None, plan: RenderPlan | None = None) -> Iterator[np.ndarray]:
        """The frames of :meth:`render` one by one (``[H, W, 3]`` uint8), e.g. straight into an encoder."""
        plan = plan or self.plan(params)
        for n in plan.notes:
            log.info("warp renderer: %s", n)
        lms = self.landmarks(params)
        closing = np.flatnonzero(synth.lid_alpha(plan.lids) > 0)
        lms_open = {}
        if len(closing):  # where lids must be synthesised: where would the open eye be?
            sub = FaceParams(params.pose[closing], params.expression[closing], np.zeros(len(closing), np.float32), params.fps)
            lms_open = dict(zip(closing.tolist(), self.landmarks(sub)))
        report, bar = progress_reporter(progress, len(params), "warp render")

        # footage not decoded yet: decode just the frames the plan uses, in the background, and
        # render each output frame as soon as its source frames have arrived
        streamed = None
        if self._frames is None:
            eyes = plan.eyes[plan.eyes >= 0]
            streamed = StreamedFrames(self.profile, np.concatenate([plan.source, plan.mouth, eyes]).astype(np.int64))
        source = self._frames if streamed is None else streamed

        def frame(t: int) -> np.ndarray:
            return self.render_frame(lms[t], plan, t, open_target=lms_open.get(t), frames=source)

        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="facial-warp") if self.workers > 1 else None
        try:
            if pool is None:
                frames = map(frame, range(len(params)))
            else:  # frames in order, up to 2 per worker in flight (the compiled kernels and OpenCV release the GIL)
                frames = _ordered(pool, frame, len(params), 2 * self.workers)
            for t, img in enumerate(frames):
                yield img
                if t % 5 == 4 or t == len(params) - 1:
                    report((t + 1) / len(params))
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if streamed is not None:
                streamed.close()
            if bar is not None:
                bar.close()

    def render_frame(self, target: np.ndarray, plan: RenderPlan, t: int, *, open_target: np.ndarray | None = None,
                     frames=None) -> np.ndarray:
        """One output frame for target landmarks ``target [478, 3]`` and row ``t`` of ``plan``.

        ``open_target``: the same face with open eyes (needed where ``plan.lids[t]`` asks for
        synthetic lids: they are drawn over the open eye's area). ``frames``: where the speaker's
        frames come from (default :attr:`frames`, all decoded).
        """
        cfg = self.config
        prof = self.profile
        w, h = prof.size
        frames = self.frames if frames is None else frames
        s = int(plan.source[t])
        src_lm = prof.landmarks[s]
        fh = float(mesh.face_height(target))
        feather = max(1.5, cfg.feather * fh)
        r = rasterize(target, self.triangles, (w, h))
        img = mesh_warp.warp_frame(frames[s], r, target, src_lm, fh, cfg.falloff)  # uint8, whole frame
        if r.triangle.size == 0:
            return img
        # mouth, eyes and synthesis only touch the face: edit a float copy of the face's box (with a
        # margin), in its own coordinates, and write it back
        x0, y0, x1, y1 = _face_canvas_box(r, fh, (w, h))
        canvas = img[y0:y1, x0:x1].astype(np.float32)
        shift = np.array([x0, y0, 0][: target.shape[1]], dtype=target.dtype)
        target = target - shift
        open_target = None if open_target is None else open_target - shift
        r = dataclasses.replace(r, x0=r.x0 - x0, y0=r.y0 - y0, size=(x1 - x0, y1 - y0))
        # mouth region from the best-matching mouth frame
        m = int(plan.mouth[t])
        mouth_poly = transplant.mouth_region(target, cfg.mouth_margin)
        if m != s:
            canvas = transplant.paste_from(canvas, r, frames[m], prof.landmarks[m], [mouth_poly], feather, 1.0,
                                           colour_match=cfg.colour_match)
        if plan.mouth_synthesis[t] > 0:
            canvas = synth.paint_mouth_interior(canvas, target, mouth_poly, float(plan.mouth_synthesis[t]),
                                                float(plan.mouth_band[t]))
        # eyes: blended over the eye attention map (make_eye_map), as the neural renderer sees them
        e = int(plan.eyes[t])
        if e >= 0 and plan.eye_weight[t] > 0:
            canvas = transplant.paste_eyes(canvas, r, frames[e], prof.landmarks[e], target, float(plan.eye_weight[t]),
                                           colour_match=cfg.colour_match)
        lid = float(synth.lid_alpha(plan.lids[t]))
        if lid > 0:
            canvas = synth.close_lids(canvas, open_target if open_target is not None else target, float(plan.lids[t]),
                                      colour_match=cfg.colour_match)
            canvas = synth.paint_lash_line(canvas, target, lid)
        np.add(canvas, 0.5, out=canvas)
        img[y0:y1, x0:x1] = np.clip(canvas, 0, 255, out=canvas).astype(np.uint8)
        return img


def _ordered(pool: ThreadPoolExecutor, fn, n: int, ahead: int) -> Iterator[np.ndarray]:
    """``fn(0) … fn(n − 1)`` computed on ``pool``, yielded in order, at most ``ahead`` submitted beyond the one yielded."""
    pending: deque = deque()
    for t in range(n):
        pending.append(pool.submit(fn, t))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


CANVAS_MARGIN = 0.25  # × face height around the mesh's box: room for the edits' soft borders


def _face_canvas_box(r, fh: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Image box ``(x0, y0, x1, y1)`` the per-frame edits may touch: the mesh's box plus :data:`CANVAS_MARGIN`."""
    pad = int(np.ceil(CANVAS_MARGIN * fh)) + 2
    bx0, by0, bx1, by1 = r.box
    return max(bx0 - pad, 0), max(by0 - pad, 0), min(bx1 + pad, size[0]), min(by1 + pad, size[1])
