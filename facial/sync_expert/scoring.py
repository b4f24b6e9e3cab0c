"""Scoring a clip with the expert: AV offset, confidence and distance over ±15 frame shifts.

For every 5-frame video window ``t`` and every shift ``s ∈ [−vshift, vshift]`` the distance
``D[t, s] = 1 − cos(visual(t), audio(t + s))`` is computed (undefined where the audio window
would leave the speech). Then

- **curve** ``c[s] = mean_t D[t, s]`` (the mean over the windows that have audio at shift s);
- **offset** = ``argmin_s c[s]`` in frames; **positive: the audio is late** (the sound of what
  the lips do at frame t is heard at t + offset), the sign of ``av_offset``;
- **conf** = ``median_s c[s] − min_s c[s]`` — SyncNet's LSE-C form: how far the best shift's mean
  distance stands below the typical one;
- **window_conf** = ``median_t (median_s D[t, s] − min_s D[t, s])`` — the same per window, then
  the median (kept in the details: every window finds *some* shift that fits by chance, so it
  barely separates real clips from a held frame or another person's speech, see
  docs/EVALUATION.md);
- **dist** = ``mean_t min_s D[t, s]`` (LSE-D-like, per window).

A clip needs at least ``window + vshift`` frames (so that every shift has a window); shorter
clips raise :class:`ClipTooShort`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facial.sync_expert import features as feat
from facial.sync_expert.config import SyncExpertConfig


class ClipTooShort(ValueError):
    """The clip has fewer frames than the expert's window plus the searched shifts."""


@dataclass
class SyncScores:
    """Result of :func:`score_inputs`. ``curve [2·vshift+1]``: mean distance per shift;
    ``per_window [N, 2·vshift+1]`` (NaN where undefined)."""

    offset: int
    conf: float
    dist: float
    shifts: np.ndarray
    curve: np.ndarray
    per_window: np.ndarray
    window_conf: float = float("nan")

    @property
    def n_windows(self) -> int:
        return len(self.per_window)

    @property
    def curve_min(self) -> float:
        """SyncNet's LSE-D form: the minimum of the mean-distance curve."""
        return float(np.nanmin(self.curve))

    def to_dict(self) -> dict:
        return {"offset": int(self.offset), "conf": float(self.conf), "dist": float(self.dist),
                "window_conf": float(self.window_conf), "curve_min": self.curve_min, "n_windows": self.n_windows, "curve": np.round(self.curve, 4).tolist()}


def min_frames(config: SyncExpertConfig, vshift: int | None = None) -> int:
    """Shortest clip (frames) the expert scores: one window at every shift."""
    return config.window + (config.vshift if vshift is None else vshift)


def prepare_visual(x: np.ndarray, config: SyncExpertConfig) -> np.ndarray:
    """A whole clip's visual inputs in network units: lips × the clip's gain (``lip_norm``) ÷ ``landmark_scale``; crops → [-1, 1] (centre ``crop_size``)."""
    if config.visual_input == "landmarks":
        x = np.asarray(x, np.float32)
        return (x * feat.lip_gain(x, config) / config.landmark_scale).astype(np.float32)
    x = np.asarray(x)
    if x.shape[-1] > config.crop_size:  # stored crops with the jitter margin: take the centre
        m = (x.shape[-1] - config.crop_size) // 2
        x = x[..., m:m + config.crop_size, m:m + config.crop_size]
    return (x.astype(np.float32) / 127.5 - 1.0).astype(np.float32)


def embed_clip(model, visual: np.ndarray, mel: np.ndarray, *, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of every video window ``[Nv, E]`` and every audio window ``[Na, E]`` of a clip
    (``visual [T, ...]`` raw lips or crops, ``mel [S, n_mels]``)."""
    import torch

    cfg = model.config
    w = cfg.window
    n_v = len(visual) - w + 1
    n_a = feat.audio_frames(len(mel), cfg) - w + 1
    vis = prepare_visual(visual, cfg)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ev, ea = [], []
            for i in range(0, max(n_v, 0), batch):
                starts = np.arange(i, min(i + batch, n_v))
                ev.append(model.embed_visual(torch.from_numpy(feat.video_windows(vis, starts, w))).numpy())
            for i in range(0, max(n_a, 0), batch):
                starts = np.arange(i, min(i + batch, n_a))
                ea.append(model.embed_audio(torch.from_numpy(np.ascontiguousarray(feat.audio_windows(mel, starts, cfg)))).numpy())
    finally:
        model.train(was_training)
    e = cfg.embed_dim
    return (np.concatenate(ev) if ev else np.zeros((0, e), np.float32), np.concatenate(ea) if ea else np.zeros((0, e), np.float32))


def distance_table(ev: np.ndarray, ea: np.ndarray, vshift: int, audio_delay: int = 0) -> np.ndarray:
    """``D [Nv, 2·vshift+1]``: 1 − cos of video window t and audio window t + audio_delay + s (NaN outside)."""
    shifts = np.arange(-vshift, vshift + 1)
    idx = np.arange(len(ev))[:, None] + audio_delay + shifts[None]
    ok = (idx >= 0) & (idx < len(ea))
    sims = np.einsum("te,tse->ts", ev, ea[np.clip(idx, 0, max(len(ea) - 1, 0))]) if len(ea) else np.zeros(idx.shape)
    return np.where(ok, 1.0 - sims, np.nan)


def scores_from_table(d: np.ndarray, vshift: int) -> SyncScores:
    """Offset / conf / dist / window_conf (module docstring) from a distance table."""
    shifts = np.arange(-vshift, vshift + 1)
    with np.errstate(invalid="ignore"), _quiet():
        curve = np.nanmean(d, axis=0)
        rows = np.isfinite(d).sum(1) >= 2
        per_min = np.nanmin(d[rows], axis=1)
        per_med = np.nanmedian(d[rows], axis=1)
    if not np.any(np.isfinite(curve)) or not rows.any():
        raise ClipTooShort("no video window has audio at two or more shifts")
    offset = int(shifts[int(np.nanargmin(curve))])
    conf = float(np.nanmedian(curve) - np.nanmin(curve))
    return SyncScores(offset, conf, float(np.mean(per_min)), shifts, curve, d, float(np.median(per_med - per_min)))


class _quiet:
    """Silence numpy's all-NaN-slice warnings inside a block."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def score_inputs(model, inputs: feat.ClipInputs, vshift: int | None = None) -> SyncScores:
    """Score one clip's :class:`~facial.sync_expert.features.ClipInputs` (lips or crops per the model)."""
    cfg = model.config
    vshift = cfg.vshift if vshift is None else int(vshift)
    visual = inputs.visual(cfg.visual_input)
    n = min(len(visual), feat.audio_frames(len(inputs.mel), cfg))
    need = min_frames(cfg, vshift)
    if n < need:
        raise ClipTooShort(f"the clip has {n} frames with both face and speech; the sync expert needs at least {need} "
                           f"({need / cfg.fps:.2f} s at {cfg.fps:g} fps: a {cfg.window}-frame window at every shift within ±{vshift})")
    ev, ea = embed_clip(model, visual, inputs.mel)
    return scores_from_table(distance_table(ev, ea, vshift), vshift)


def score_video(video: str | Path, model=None, *, audio: str | Path | None = None, cache_dir: str | Path | None = None,
                vshift: int | None = None, max_seconds: float | None = None) -> SyncScores:
    """Track ``video`` (cached), pair it with its own speech (or ``audio``) and score it
    (``model`` None → the shipped expert)."""
    from facial.sync_expert.model import SyncExpert

    model = model or SyncExpert.from_pretrained()
    inputs = feat.clip_inputs(video, model.config, audio=audio, cache_dir=cache_dir, max_seconds=max_seconds)
    return score_inputs(model, inputs, vshift)
