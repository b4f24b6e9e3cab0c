"""The training-free warp renderer: speaker footage re-timed and warped to predicted faces (CPU).

For every output frame ``t`` with predicted landmarks ``L_t`` (from :class:`FaceParams` through
the face model):

1. **Source frame along a smooth path.** A dynamic programme over the speaker's frames picks
   ``s_t`` minimising the pose difference to the predicted pose plus transition costs: playing
   on (forwards or backwards) is free, holding a frame, reversing direction and jumping to a
   frame that looks alike cost more (:meth:`WarpRenderer.plan`). So head motion, hair and
   shoulders come from real, continuous footage, looping back and forth as needed.
2. **Mesh warp.** Frame ``s_t`` is warped so its tracked landmarks land on ``L_t``: inside the
   face (FaceMesh triangles + explicit mouth/eye interiors) by barycentric mapping with a
   z-buffer, outside by the boundary displacement decaying with distance (no seam at the jaw).
3. **Mouth and eyes from the best-matching frames.** The mouth region comes from the frame whose
   mouth shape matches the prediction (a second, coherent path), the eyes from a frame whose
   blink matches when ``s_t``'s does not; each patch is warped onto ``L_t`` with the same mesh,
   colour-matched on its feather zone and blended with a soft mask (:mod:`.blend`).
4. **Synthesis when footage lacks it** (one photo, or a mouth never opened that wide): a
   procedural mouth interior and a lash line for closed lids (:mod:`.synth`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
import cv2
import numpy as np

from facial import layout, media
from facial.face_render import blend, eye_map, mesh, synth
from facial.face_render.progress import ProgressArg, progress_reporter
from facial.face_render.raster import Raster, rasterize
from facial.speaker import face_model as fm
from facial.types import FaceParams, SpeakerProfile, VideoFrames

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
    eye_threshold: float = 0.15  # blink difference below which the base frame's eyes are kept
    eye_sigma: float = 0.1
    feather: float = 0.045  # × face height: width of soft blend borders
    mouth_margin: tuple[float, float] = (1.45, 1.9)  # mouth patch = outer lips scaled (x, y)
    eye_patch_scale: float = 1.7  # eye patch = eye ellipse scaled
    falloff: float = 0.55  # × face height: outside the face the warp decays over this distance
    colour_match: bool = True
    synthesize: bool = True
    max_source_frames: int = 1500  # frames of the clip kept in memory (the first ones)


@dataclass
class RenderPlan:
    """Which speaker frames make each output frame (indices into the profile's frames)."""

    source: np.ndarray
    mouth: np.ndarray
    eyes: np.ndarray  # -1 = keep the source frame's eyes
    eye_weight: np.ndarray
    mouth_synthesis: np.ndarray  # weight of the procedural mouth interior
    lash: np.ndarray  # strength of the synthetic lash line
    cost: float = 0.0
    jumps: int = 0
    notes: list[str] = field(default_factory=list)


def pose_features(pose: np.ndarray, config: WarpConfig) -> np.ndarray:
    """``[T, 6]`` poses → ``[T, 6]`` features whose Euclidean distance is the pose cost unit."""
    p = np.asarray(pose, dtype=np.float64)
    s = np.maximum(layout.scale(p), 1e-6)
    rot_sigma = np.array([config.rotation_sigma, config.rotation_sigma, config.roll_sigma])  # yaw, pitch, roll
    return np.concatenate([layout.rotation(p) / rot_sigma, layout.translation(p) / (s[:, None] * config.translation_sigma),
                           (np.log(s) / config.scale_sigma)[:, None]], axis=1)


def _pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def smooth_path(unary: np.ndarray, frames: np.ndarray, config: WarpConfig, jump_dist: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """Dynamic programme over source frames (see the module docstring).

    ``unary [T, S]`` is the cost of showing pool entry ``s`` at output frame ``t``; ``frames [S]``
    the clip frame index of each pool entry (play/reverse only between consecutive frames);
    ``jump_dist [S, S]`` the extra cost of jumping between entries (None: no jumps). States are
    (entry, direction). Returns ``(pool indices [T], total cost, number of jumps)``.
    """
    t_len, s_len = unary.shape
    inf = np.float64(1e18)
    nxt = np.zeros(s_len, dtype=bool)
    nxt[:-1] = np.diff(frames) == 1  # entry s+1 follows s in the clip
    prev = np.stack([unary[0], unary[0]]).astype(np.float64)  # [dir(+1, -1), S]
    back = np.zeros((t_len, 2, s_len), dtype=np.int32)
    idx = np.arange(s_len)
    knn_src = knn_dst = knn_cost = None
    if jump_dist is not None and s_len > 1:
        k = min(config.jump_neighbours, s_len - 1)
        d = jump_dist.copy()
        far = np.abs(frames[:, None] - frames[None, :]) < config.min_jump_gap
        d[far] = np.inf
        order = np.argsort(d, axis=1)[:, :k]
        knn_src = np.repeat(idx, k)
        knn_dst = order.ravel()
        knn_cost = config.jump_cost + d[knn_src, knn_dst]
        ok = np.isfinite(knn_cost)
        knn_src, knn_dst, knn_cost = knn_src[ok], knn_dst[ok], knn_cost[ok]
    jumps_total = 0
    for t in range(1, t_len):
        cur = np.full((2, s_len), inf)
        arg = np.zeros((2, s_len), dtype=np.int64)
        # state id = dir * S + s
        # forward (+1) arrives at s from s-1 by playing (+1) or reversing (was -1)
        cand = [(np.where(nxt[idx - 1] & (idx > 0), prev[0][idx - 1], inf), 0 * s_len + idx - 1),
                (np.where(nxt[idx - 1] & (idx > 0), prev[1][idx - 1] + config.reverse_cost, inf), 1 * s_len + idx - 1),
                (prev[0] + config.hold_cost, 0 * s_len + idx)]
        best, barg = cand[0]
        best = best.copy()
        barg = np.where(np.isfinite(best) & (best < inf), barg, 0)
        for c, a in cand[1:]:
            better = c < best
            best = np.where(better, c, best)
            barg = np.where(better, a, barg)
        cur[0], arg[0] = best, barg
        # backward (-1) arrives at s from s+1
        ip1 = np.minimum(idx + 1, s_len - 1)
        valid_b = nxt[idx] & (idx < s_len - 1)
        cand = [(np.where(valid_b, prev[1][ip1], inf), 1 * s_len + ip1),
                (np.where(valid_b, prev[0][ip1] + config.reverse_cost, inf), 0 * s_len + ip1),
                (prev[1] + config.hold_cost, 1 * s_len + idx)]
        best, barg = cand[0]
        best = best.copy()
        for c, a in cand[1:]:
            better = c < best
            best = np.where(better, c, best)
            barg = np.where(better, a, barg)
        cur[1], arg[1] = best, barg
        if knn_src is not None:
            pbest = np.minimum(prev[0], prev[1])
            pdir = np.where(prev[0] <= prev[1], 0, 1)
            jc = pbest[knn_src] + knn_cost
            order = np.lexsort((jc, knn_dst))
            first = np.ones(len(order), dtype=bool)
            first[1:] = knn_dst[order][1:] != knn_dst[order][:-1]
            sel = order[first]
            dst, val = knn_dst[sel], jc[sel]
            src_state = pdir[knn_src[sel]] * s_len + knn_src[sel]
            for d in (0, 1):
                better = val < cur[d][dst]
                cur[d][dst[better]] = val[better]
                arg[d][dst[better]] = src_state[better]
        cur += unary[t][None, :]
        back[t] = arg
        prev = cur
    state = int(np.argmin(prev.ravel()))
    total = float(prev.ravel()[state])
    path = np.zeros(t_len, dtype=np.int64)
    for t in range(t_len - 1, -1, -1):
        path[t] = state % s_len
        if t > 0:
            p_state = int(back[t, state // s_len, state % s_len])
            if abs(frames[p_state % s_len] - frames[path[t]]) > 1:
                jumps_total += 1
            state = p_state
    return path, total, jumps_total


def coherent_choice(cost: np.ndarray, frames: np.ndarray, n_candidates: int, switch_cost: float, hold_cost: float) -> np.ndarray:
    """Per output frame pick a pool entry from the ``n_candidates`` cheapest of ``cost [T, S]``,
    preferring to continue the previous pick (next clip frame free, same frame ``hold_cost``,
    anything else ``switch_cost``) — a Viterbi pass over the candidates. Returns ``[T]`` indices."""
    t_len, s_len = cost.shape
    k = min(n_candidates, s_len)
    cand = np.argpartition(cost, k - 1, axis=1)[:, :k] if k < s_len else np.tile(np.arange(s_len), (t_len, 1))
    c = np.take_along_axis(cost, cand, 1)
    acc = c[0].copy()
    back = np.zeros((t_len, k), dtype=np.int64)
    for t in range(1, t_len):
        fp = frames[cand[t - 1]]  # [k] previous frames
        fc = frames[cand[t]]
        trans = np.full((k, k), switch_cost)
        trans[fc[None, :] - fp[:, None] == 1] = 0.0
        trans[fc[None, :] == fp[:, None]] = hold_cost
        tot = acc[:, None] + trans
        back[t] = np.argmin(tot, axis=0)
        acc = tot[back[t], np.arange(k)] + c[t]
    j = int(np.argmin(acc))
    out = np.zeros(t_len, dtype=np.int64)
    for t in range(t_len - 1, -1, -1):
        out[t] = cand[t, j]
        j = int(back[t, j])
    return out


def load_speaker_frames(profile: SpeakerProfile, max_frames: int | None = None) -> np.ndarray:
    """The profile's frames ``[S, H, W, 3]`` uint8 at the profile's fps and size (first ``max_frames``)."""
    if profile.video is None:
        raise ValueError("the speaker profile has no video (frames.mp4); re-create it with `facial track CLIP -o DIR`")
    n = profile.n_frames if max_frames is None else min(profile.n_frames, max_frames)
    frames = media.read_video(profile.video, fps=None if media.is_image(profile.video) else profile.fps, max_frames=n).frames
    w, h = profile.size
    if frames.shape[1:3] != (h, w):
        frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    if len(frames) < n:
        log.warning("%s has %d frames, the profile %d; the missing ones repeat the last frame", profile.video, len(frames), n)
        frames = np.concatenate([frames, np.repeat(frames[-1:], n - len(frames), axis=0)])
    return frames[:n]


class WarpRenderer:
    """Training-free renderer over a speaker's own footage (see the module docstring).

    ``pool`` restricts the source frames (clip frame indices), e.g. to the first 90 % for a
    held-out comparison. A one-frame profile (a photo) works: the single frame is warped and the
    mouth interior and closed eyes are synthesised.
    """

    def __init__(self, profile: SpeakerProfile, config: WarpConfig | None = None, *, basis: fm.ExpressionBasis | None = None,
                 pool: np.ndarray | range | None = None, frames: np.ndarray | None = None):
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
        self._src_pose_feat = pose_features(pp.pose[self.pool], self.config)
        self._src_mouth = self._mouth_features(pp.expression[self.pool])
        self._src_blink = pp.blink[self.pool].astype(np.float64)
        self._src_opening = self._model_opening(pp.expression[self.pool])

    # ------------------------------------------------------------------ helpers
    @property
    def frames(self) -> np.ndarray:
        """Speaker frames (decoded on first use)."""
        if self._frames is None:
            self._frames = load_speaker_frames(self.profile, int(self.pool.max()) + 1)
        return self._frames

    def _mouth_features(self, expression: np.ndarray) -> np.ndarray:
        shape = self.basis.expand(expression)[:, fm.MOUTH, :2]
        return shape.reshape(len(expression), -1).astype(np.float64)

    def _model_opening(self, expression: np.ndarray) -> np.ndarray:
        canon = self.profile.identity[None] + self.basis.expand(expression)
        return fm.mouth_opening(canon)

    def landmarks(self, params: FaceParams) -> np.ndarray:
        """Predicted landmarks ``[T, 478, 3]`` in the speaker's pixel frame."""
        return mesh.posed_landmarks(self.profile, params, self.basis)

    # ------------------------------------------------------------------ planning
    def plan(self, params: FaceParams) -> RenderPlan:
        """Choose source, mouth and eye frames for every output frame (no pixels touched)."""
        cfg = self.config
        frames = self.pool
        tgt_pose = pose_features(params.pose, cfg)
        pose_cost = _pairwise_sq(tgt_pose, self._src_pose_feat)  # [T, S]
        notes: list[str] = []
        if len(frames) == 1:
            src_i = np.zeros(len(params), dtype=np.int64)
            total, jumps = float(pose_cost.sum()), 0
        else:
            jd = _pairwise_sq(self._src_pose_feat, self._src_pose_feat) if cfg.jump_cost < np.inf else None
            src_i, total, jumps = smooth_path(pose_cost, frames, cfg, jd)
        # mouth: shape match (+ a little pose), coherent over time, base frame preferred
        tgt_mouth = self._mouth_features(params.expression)
        n_pts = tgt_mouth.shape[1] / 2
        mouth_cost = _pairwise_sq(tgt_mouth, self._src_mouth) / n_pts / cfg.mouth_sigma ** 2 + cfg.mouth_pose_weight * pose_cost
        mouth_cost[np.arange(len(params)), src_i] -= cfg.mouth_base_bonus
        mouth_i = coherent_choice(mouth_cost, frames, cfg.mouth_candidates, cfg.mouth_switch_cost, 0.3) if len(frames) > 1 else src_i
        # synthetic mouth interior where the chosen footage opens much less than predicted
        tgt_open = self._model_opening(params.expression)
        src_open = self._src_opening[mouth_i]
        ratio = src_open / np.maximum(tgt_open, 1e-4)
        synth_w = np.clip((0.6 - ratio) / 0.4, 0.0, 1.0) * (tgt_open > 0.012) if cfg.synthesize else np.zeros(len(params))
        # eyes: keep the base frame's unless its blink differs
        blink = params.blink.astype(np.float64)
        diff = np.abs(self._src_blink[src_i] - blink)
        eye_cost = ((self._src_blink[None, :] - blink[:, None]) / cfg.eye_sigma) ** 2 + 0.3 * pose_cost
        eye_i = np.argmin(eye_cost, axis=1)
        for t in range(1, len(params)):  # continue the previous eye frame when it is about as good
            nxt = np.searchsorted(frames, frames[eye_i[t - 1]] + 1)
            if nxt < len(frames) and frames[nxt] == frames[eye_i[t - 1]] + 1 and eye_cost[t, nxt] <= eye_cost[t, eye_i[t]] + 1.0:
                eye_i[t] = nxt
        gain = np.abs(self._src_blink[src_i] - blink) - np.abs(self._src_blink[eye_i] - blink)
        eye_w = np.clip((diff - cfg.eye_threshold) / 0.1, 0.0, 1.0) * (gain > 0.05)
        eyes = np.where(eye_w > 0, frames[eye_i], -1)
        # closed lids the footage cannot show: draw a lash line
        shown = np.where(eye_w > 0, self._src_blink[eye_i], self._src_blink[src_i])
        lash = np.clip((blink - shown - 0.3) / 0.4, 0.0, 1.0) if cfg.synthesize else np.zeros(len(params))
        if synth_w.max() > 0:
            notes.append(f"mouth interior synthesised in {int((synth_w > 0).sum())} frames")
        if lash.max() > 0:
            notes.append(f"closed lids synthesised in {int((lash > 0).sum())} frames")
        return RenderPlan(frames[src_i], frames[mouth_i], eyes, eye_w.astype(np.float32), synth_w.astype(np.float32),
                          lash.astype(np.float32), total, jumps, notes)

    # ------------------------------------------------------------------ rendering
    def render(self, params: FaceParams, *, progress: ProgressArg = None, plan: RenderPlan | None = None) -> VideoFrames:
        """Render ``params`` into :class:`VideoFrames` at the profile's size and ``params.fps``.

        ``progress``: True for a progress bar, or a callable receiving the fraction done.
        """
        plan = plan or self.plan(params)
        for n in plan.notes:
            log.info("warp renderer: %s", n)
        lms = self.landmarks(params)
        closing = np.flatnonzero(plan.lash > 0)
        lms_open = {}
        if len(closing):  # where lids must be synthesised: where would the open eye be?
            sub = FaceParams(params.pose[closing], params.expression[closing], np.zeros(len(closing), np.float32), params.fps)
            lms_open = dict(zip(closing.tolist(), self.landmarks(sub)))
        w, h = self.profile.size
        out = np.empty((len(params), h, w, 3), dtype=np.uint8)
        report, bar = progress_reporter(progress, len(params), "warp render")
        try:
            for t in range(len(params)):
                out[t] = self.render_frame(lms[t], plan, t, open_target=lms_open.get(t))
                if t % 5 == 4 or t == len(params) - 1:
                    report((t + 1) / len(params))
        finally:
            if bar is not None:
                bar.close()
        return VideoFrames(out, params.fps)

    def render_frame(self, target: np.ndarray, plan: RenderPlan, t: int, *, open_target: np.ndarray | None = None) -> np.ndarray:
        """One output frame for target landmarks ``target [478, 3]`` and row ``t`` of ``plan``.

        ``open_target``: the same face with open eyes (needed where ``plan.lash[t] > 0``: the lids
        are then synthesised over the open eye's area).
        """
        cfg = self.config
        prof = self.profile
        w, h = prof.size
        frames = self.frames
        s = int(plan.source[t])
        src_lm = prof.landmarks[s]
        fh = float(mesh.face_height(target))
        feather = max(1.5, cfg.feather * fh)
        r = rasterize(target, self.triangles, (w, h))
        map_x, map_y = self._base_map(r, target, src_lm, fh)
        img = cv2.remap(frames[s], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        if r.triangle.size == 0:
            return np.clip(img + 0.5, 0, 255).astype(np.uint8)
        # mouth region from the best-matching mouth frame
        m = int(plan.mouth[t])
        mouth_poly = self._mouth_region(target)
        if m != s:
            img = self._paste_from(img, r, frames[m], prof.landmarks[m], [mouth_poly], feather, 1.0)
        if plan.mouth_synthesis[t] > 0:
            img = self._synth_mouth(img, target, mouth_poly, float(plan.mouth_synthesis[t]))
        e = int(plan.eyes[t])
        if e >= 0 and plan.eye_weight[t] > 0:
            polys = self._eye_regions(target)
            img = self._paste_from(img, r, frames[e], prof.landmarks[e], polys, feather * 0.6, float(plan.eye_weight[t]))
        if plan.lash[t] > 0:
            if open_target is not None:
                img = self._close_lids(img, open_target, float(plan.lash[t]))
            img = self._lash(img, target, float(plan.lash[t]))
        return np.clip(img + 0.5, 0, 255).astype(np.uint8)

    def _base_map(self, r: Raster, target: np.ndarray, src_lm: np.ndarray, fh: float) -> tuple[np.ndarray, np.ndarray]:
        """Backward map of the whole frame: exact inside the mesh, decaying boundary displacement outside."""
        cfg = self.config
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
        fall = np.exp(-(outside / max(cfg.falloff * fh, 1.0)) ** 2)
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

    def _mouth_region(self, target: np.ndarray) -> np.ndarray:
        lips = target[fm.LIPS_OUTER, :2].astype(np.float64)
        c = lips.mean(0)
        sx, sy = self.config.mouth_margin
        out = c + (lips - c) * np.array([sx, sy])
        # keep the region below the nose: clip its top to between the nose tip and the lip top
        nose_y = float(target[2, 1])  # FaceMesh 2: below the nose tip
        top = 0.5 * (nose_y + lips[:, 1].min())
        out[:, 1] = np.maximum(out[:, 1], top)
        return out

    def _eye_regions(self, target: np.ndarray) -> list[np.ndarray]:
        polys = []
        for cx, cy, a, b, ang in eye_map.eye_ellipses(target[None])[0]:
            pts = cv2.ellipse2Poly((int(cx * 4), int(cy * 4)), (int(a * self.config.eye_patch_scale * 4), int(b * self.config.eye_patch_scale * 4)),
                                   int(np.degrees(ang)), 0, 360, 15)
            polys.append(pts.astype(np.float64) / 4.0)
        return polys

    def _paste_from(self, img: np.ndarray, r: Raster, frame: np.ndarray, src_lm: np.ndarray, polys: list[np.ndarray],
                    feather: float, weight: float) -> np.ndarray:
        """Warp ``frame`` (landmarks ``src_lm``) onto the target mesh inside ``polys`` and blend it into ``img``."""
        h, w = img.shape[:2]
        pts = np.concatenate(polys)
        pad = int(np.ceil(2 * feather)) + 2
        rx0, ry0, rx1, ry1 = r.box
        x0 = int(max(rx0, np.floor(pts[:, 0].min()) - pad))
        y0 = int(max(ry0, np.floor(pts[:, 1].min()) - pad))
        x1 = int(min(rx1, np.ceil(pts[:, 0].max()) + pad + 1))
        y1 = int(min(ry1, np.ceil(pts[:, 1].max()) + pad + 1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return img
        sub = (slice(y0 - r.y0, y1 - r.y0), slice(x0 - r.x0, x1 - r.x0))
        sub_r = Raster(r.triangle[sub], r.bary[sub], r.depth[sub], x0, y0, r.size, r.triangles)
        src = sub_r.interpolate(src_lm[:, :2])
        valid = sub_r.mask.astype(np.float32)
        patch = cv2.remap(frame, src[..., 0], src[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        alpha = blend.soft_polygon_mask(polys, (y1 - y0, x1 - x0), feather, offset=(x0, y0)) * weight
        img[y0:y1, x0:x1] = blend.paste(img[y0:y1, x0:x1], patch, alpha, colour_match=self.config.colour_match, valid=valid)
        return img

    def _synth_mouth(self, img: np.ndarray, target: np.ndarray, region: np.ndarray, weight: float) -> np.ndarray:
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
        colour, alpha = synth.mouth_interior(target, box.shape[:2], skin, offset=(x0, y0))
        img[y0:y1, x0:x1] = blend.feather_blend(box, colour, alpha * weight)
        return img

    def _close_lids(self, img: np.ndarray, open_target: np.ndarray, strength: float) -> np.ndarray:
        """Cover where the open eye would be with lid skin cloned from just above it (one-shot blinks)."""
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
            img[y0:y1, x0:x1] = blend.paste(img[y0:y1, x0:x1], src, alpha, colour_match=self.config.colour_match)
        return img

    def _lash(self, img: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
        h, w = img.shape[:2]
        pts = target[fm.EYE_REGION, :2]
        pad = int(0.1 * float(mesh.face_height(target))) + 2
        x0, y0 = int(max(0, pts[:, 0].min() - pad)), int(max(0, pts[:, 1].min() - pad))
        x1, y1 = int(min(w, pts[:, 0].max() + pad)), int(min(h, pts[:, 1].max() + pad))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return img
        box = img[y0:y1, x0:x1]
        skin = box.reshape(-1, 3).mean(0)
        colour, alpha = synth.lash_line(target, box.shape[:2], skin, strength, offset=(x0, y0))
        img[y0:y1, x0:x1] = blend.feather_blend(box, colour, alpha)
        return img
