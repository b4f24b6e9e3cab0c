"""Path planning of the warp renderer: which speaker frames make each output frame (no pixels).

- **Source frame along a smooth path.** A dynamic programme over the speaker's frames
  (:func:`smooth_path`) picks ``s_t`` minimising the pose difference to the predicted pose
  (:func:`pose_features`) plus transition costs: playing on (forwards or backwards) is free,
  holding a frame, reversing direction and jumping to a frame that looks alike cost more. So head
  motion, hair and shoulders come from real, continuous footage, looping back and forth as needed.
- **Mouth and eyes from the best-matching frames.** The mouth comes from the frame whose mouth
  shape matches the prediction, chosen coherently over time (:func:`coherent_choice`); the eyes
  from a frame whose blink matches when ``s_t``'s does not.
- **Synthesis where footage lacks it:** weights of the procedural mouth interior (the chosen
  footage opens much less than predicted) and the residual blink no frame shows (closed lids in a
  photo), which the renderer draws over the eye attention map.

:func:`plan_frames` puts these together into a :class:`RenderPlan`; the costs and weights are
knobs of :class:`~facial.face_render.warp.WarpConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from facial import layout
from facial.face_render.synth import lid_alpha
from facial.speaker import face_model as fm

if TYPE_CHECKING:
    from facial.face_render.warp import WarpConfig


@dataclass
class RenderPlan:
    """Which speaker frames make each output frame (indices into the profile's frames)."""

    source: np.ndarray
    mouth: np.ndarray
    eyes: np.ndarray  # -1 = keep the source frame's eyes
    eye_weight: np.ndarray  # opacity of the eye frame's patch: the eye-map value it is blended with
    mouth_synthesis: np.ndarray  # weight of the procedural mouth interior
    mouth_band: np.ndarray  # fraction of the opening (centred) it covers: what the footage lacks
    lids: np.ndarray  # blink no footage shows (0 … 1): synthesised over the eye attention map
    cost: float = 0.0
    jumps: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class FrameFeatures:
    """What the planner compares between predicted and speaker frames, one row per frame."""

    pose: np.ndarray  # [N, 6] pose_features
    mouth: np.ndarray  # [N, 2M] mouth_features
    blink: np.ndarray  # [N] float64
    opening: np.ndarray  # [N] model_opening


def pose_features(pose: np.ndarray, config: WarpConfig) -> np.ndarray:
    """``[T, 6]`` poses → ``[T, 6]`` features whose Euclidean distance is the pose cost unit."""
    p = np.asarray(pose, dtype=np.float64)
    s = np.maximum(layout.scale(p), 1e-6)
    rot_sigma = np.array([config.rotation_sigma, config.rotation_sigma, config.roll_sigma])  # yaw, pitch, roll
    return np.concatenate([layout.rotation(p) / rot_sigma, layout.translation(p) / (s[:, None] * config.translation_sigma),
                           (np.log(s) / config.scale_sigma)[:, None]], axis=1)


def mouth_features(expression: np.ndarray, basis: fm.ExpressionBasis) -> np.ndarray:
    """``[T, K]`` expression coefficients → ``[T, 2M]`` mouth shape (x, y of the mouth points, canonical units)."""
    shape = basis.expand(expression)[:, fm.MOUTH, :2]
    return shape.reshape(len(expression), -1).astype(np.float64)


def model_opening(expression: np.ndarray, identity: np.ndarray, basis: fm.ExpressionBasis) -> np.ndarray:
    """Mouth opening ``[T]`` of the speaker's model face with ``expression`` (canonical units)."""
    canon = identity[None] + basis.expand(expression)
    return fm.mouth_opening(canon)


def frame_features(pose: np.ndarray, expression: np.ndarray, blink: np.ndarray, identity: np.ndarray,
                   basis: fm.ExpressionBasis, config: WarpConfig) -> FrameFeatures:
    """:class:`FrameFeatures` of frames with these tracks, for the speaker with ``identity``."""
    return FrameFeatures(pose_features(pose, config), mouth_features(expression, basis), np.asarray(blink).astype(np.float64),
                         model_opening(expression, identity, basis))


def pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``[A, B]`` between the rows of ``a [A, D]`` and ``b [B, D]``."""
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


def plan_frames(target: FrameFeatures, sources: FrameFeatures, frames: np.ndarray, config: WarpConfig) -> RenderPlan:
    """Choose source, mouth and eye frames for every output frame (see the module docstring).

    ``target``: features of the predicted frames; ``sources``: of the pool entries, whose clip
    frame indices are ``frames`` (ascending).
    """
    cfg = config
    n = len(target.blink)
    pose_cost = pairwise_sq(target.pose, sources.pose)  # [T, S]
    notes: list[str] = []
    if len(frames) == 1:
        src_i = np.zeros(n, dtype=np.int64)
        total, jumps = float(pose_cost.sum()), 0
    else:
        jd = pairwise_sq(sources.pose, sources.pose) if cfg.jump_cost < np.inf else None
        src_i, total, jumps = smooth_path(pose_cost, frames, cfg, jd)
    # mouth: shape match (+ a little pose), coherent over time, base frame preferred
    n_pts = target.mouth.shape[1] / 2
    mouth_cost = pairwise_sq(target.mouth, sources.mouth) / n_pts / cfg.mouth_sigma ** 2 + cfg.mouth_pose_weight * pose_cost
    mouth_cost[np.arange(n), src_i] -= cfg.mouth_base_bonus
    mouth_i = coherent_choice(mouth_cost, frames, cfg.mouth_candidates, cfg.mouth_switch_cost, 0.3) if len(frames) > 1 else src_i
    # synthetic mouth interior where the chosen footage opens much less than predicted
    tgt_open = target.opening
    src_open = sources.opening[mouth_i]
    ratio = src_open / np.maximum(tgt_open, 1e-4)
    # faded in with the predicted opening (0 below 0.008, full from 0.02 of the face height): no
    # interior pops onto nearly closed lips
    fade = np.clip((tgt_open - 0.008) / 0.012, 0.0, 1.0)
    synth_w = np.clip((0.85 - ratio) / 0.3, 0.0, 1.0) * fade if cfg.synthesize else np.zeros(n)
    # painted in the middle of the opening only, over the part the footage lacks: its own lips and
    # teeth stay at the lips (an opaque band, not a translucent dark veil over real teeth)
    band = np.clip(1.0 - ratio, 0.0, 1.0)
    # eyes: keep the base frame's unless its blink differs. Blink is one value end to end: the
    # patch of the best-matching frame is blended (over the eye attention map's region) with the
    # fraction of the blink change it brings, so the eyes shown have blink ≈ the predicted one;
    # what no frame shows (closed lids in a photo) is the residual blink, synthesised over the
    # same map (synth.close_lids)
    blink = target.blink
    src_blink = sources.blink
    base_b = src_blink[src_i]
    diff = np.abs(base_b - blink)
    eye_cost = ((src_blink[None, :] - blink[:, None]) / cfg.eye_sigma) ** 2 + 0.3 * pose_cost
    eye_i = np.argmin(eye_cost, axis=1)
    for t in range(1, n):  # continue the previous eye frame when it is about as good
        nxt = np.searchsorted(frames, frames[eye_i[t - 1]] + 1)
        if nxt < len(frames) and frames[nxt] == frames[eye_i[t - 1]] + 1 and eye_cost[t, nxt] <= eye_cost[t, eye_i[t]] + 1.0:
            eye_i[t] = nxt
    step = src_blink[eye_i] - base_b  # blink change the eye frame brings
    # weight w with base + w·step as close as possible to the prediction; no patch for differences
    # under eye_threshold (faded in over its second half: no popping)
    frac = np.clip((blink - base_b) * step / np.maximum(step ** 2, 1e-6), 0.0, 1.0) * (np.abs(step) > 0.05)
    gate = np.clip((diff - 0.5 * cfg.eye_threshold) / (0.5 * cfg.eye_threshold), 0.0, 1.0)
    eye_w = frac * gate
    eyes = np.where(eye_w > 0, frames[eye_i], -1)
    shown = base_b + eye_w * step
    # the part of the predicted blink no footage shows
    lids = np.clip(blink - shown, 0.0, 1.0) if cfg.synthesize else np.zeros(n)
    if synth_w.max() > 0:
        notes.append(f"mouth interior synthesised in {int((synth_w > 0).sum())} frames")
    n_lids = int((lid_alpha(lids) > 0).sum())
    if n_lids:
        notes.append(f"closed lids synthesised in {n_lids} frames")
    return RenderPlan(frames[src_i], frames[mouth_i], eyes, eye_w.astype(np.float32), synth_w.astype(np.float32),
                      band.astype(np.float32), lids.astype(np.float32), total, jumps, notes)
