"""Audio–video offsets of footage: find them and take them out before FACIAL-GAN learns from it.

Several dev clips carry their own constant audio–video offset (re-encoded speeches, demo videos):
the lips move up to 5–6 frames before or after the speech that drives them. A network trained on
them learns a blurred timing, and a clip with an offset scores low however good the model is.

Convention: an offset ``L > 0`` means the face is ``L`` frames *late* — the mouth at frame ``t + L``
goes with the speech of frame ``t``; :func:`shift_clip` pairs them by dropping ``|L|`` frames.

The offset of a clip is the lag that maximises the correlation between a *predicted* mouth opening
(from the speech alone) and the tracked one, kept only when it beats lag 0 by ``min_gain``. The
predictor must not have seen the clip's speaker:

- pretraining (:func:`probe_offsets`): a ridge regression from the clip's audio windows to the
  mouth opening, fitted on the *other* speakers' clips (speaker-grouped cross-fitting);
- personalisation and evaluation: the generic FACIAL-GAN's zero-shot prediction
  (:func:`model_offset`).
"""
from __future__ import annotations

import logging
import zlib
from typing import Sequence

import numpy as np

from facial.audio2face.data import ClipData
from facial.layout import from_array

log = logging.getLogger(__name__)

PROBE_STEPS = np.arange(-12, 13, 2)  # audio steps (10 ms) around each frame's centre that the ridge probe reads
PROBE_FOLDS = 5
PROBE_RIDGE = 1000.0


def opening_direction(mouth_basis: np.ndarray) -> np.ndarray:
    """``[K]`` from the expression basis at the 40 mouth points (``[K, 40, 3]``: :func:`facial.audio2face.face.mouth_basis_from`,
    or a FACIAL-GAN's ``mouth_basis`` buffer): how much each coefficient opens the inner lips
    (canonical frame, vertical). ``expression @ direction`` is the lip gap up to a constant."""
    from facial.speaker import face_model as fm

    mouth = [int(i) for i in fm.MOUTH]
    mb = np.asarray(mouth_basis, np.float64)
    return (mb[:, mouth.index(fm.LOWER_LIP_INNER), 1] - mb[:, mouth.index(fm.UPPER_LIP_INNER), 1]).astype(np.float32)


def params_opening(params: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """``[T]`` lip-gap track of a raw parameter array ``[T, 7 + K]`` (:func:`facial.layout.to_array` layout)."""
    _, expression, _ = from_array(params)
    return np.asarray(expression, np.float64) @ np.asarray(direction, np.float64)


def lagged_pearson(pred: np.ndarray, real: np.ndarray, lag: int, valid: np.ndarray | None = None, min_frames: int = 2) -> float:
    """Pearson r of ``pred[t]`` with ``real[t + lag]`` over the frames where ``real`` is valid and finite
    (NaN with fewer than ``min_frames`` of them or a constant track)."""
    pred, real = np.asarray(pred, np.float64), np.asarray(real, np.float64)
    n = min(len(pred), len(real))
    valid = np.ones(n, bool) if valid is None else np.asarray(valid, bool)[:n]
    valid = valid & np.isfinite(real[:n])
    a, b, v = (pred[:n - lag], real[lag:n], valid[lag:n]) if lag >= 0 else (pred[-lag:n], real[:n + lag], valid[:n + lag])
    if v.sum() < max(min_frames, 2):
        return float("nan")
    x, y = a[v], b[v]
    return float(np.corrcoef(x, y)[0, 1]) if x.std() > 1e-12 and y.std() > 1e-12 else float("nan")


def lag_correlations(pred: np.ndarray, real: np.ndarray, valid: np.ndarray | None = None, max_lag: int = 8) -> np.ndarray:
    """:func:`lagged_pearson` for ``L = -max_lag … max_lag`` (NaN where under 10 frames are valid)."""
    return np.array([lagged_pearson(pred, real, lag, valid, min_frames=10) for lag in range(-max_lag, max_lag + 1)])


def estimate_offset(pred: np.ndarray, real: np.ndarray, valid: np.ndarray | None = None, *, max_lag: int = 8,
                    min_gain: float = 0.05) -> tuple[int, float, float]:
    """``(offset, r at offset, r at 0)``: the best lag within ``±max_lag`` frames, or 0 unless it beats
    lag 0 by ``min_gain`` (a weak or flat correlation does not move a clip)."""
    r = lag_correlations(pred, real, valid, max_lag)
    r0 = r[max_lag]
    if not np.isfinite(r).any():
        return 0, float("nan"), float("nan")
    best = int(np.nanargmax(r))
    lag = best - max_lag
    if not np.isfinite(r0) or r[best] - r0 >= min_gain:
        return lag, float(r[best]), float(r0)
    return 0, float(r0), float(r0)


def shift_clip(clip: ClipData, offset: int) -> ClipData:
    """``clip`` with its face moved ``offset`` frames earlier (``offset > 0``: the face was late),
    dropping the ``|offset|`` frames that lose their partner. Pose statistics stay the clip's."""
    if offset == 0:
        return clip
    n = len(clip)
    if abs(offset) >= n - 1:
        raise ValueError(f"{clip.name}: an offset of {offset} frames leaves nothing of {n} frames")
    if offset > 0:
        audio, face = slice(0, n - offset), slice(offset, n)
    else:
        audio, face = slice(-offset, n), slice(0, n + offset)
    return ClipData(f"{clip.name}[av {offset:+d}]", clip.speaker, clip.features[audio], clip.params[face], clip.fps, clip.pose_mean,
                    clip.pose_std, clip.style, None if clip.valid is None else clip.valid[face])


def _probe_features(clip: ClipData) -> np.ndarray:
    w = clip.features.shape[1]
    idx = np.clip(w // 2 + PROBE_STEPS, 0, w - 1)
    return clip.features[:, idx, :].reshape(len(clip), -1).astype(np.float64)


def probe_offsets(clips: Sequence[ClipData], direction: np.ndarray, *, max_lag: int = 8, min_gain: float = 0.05,
                  folds: int = PROBE_FOLDS) -> list[tuple[int, float, float]]:
    """Offset of every clip (:func:`estimate_offset`) against a ridge probe fitted on clips of other
    speakers only: speakers are split into ``folds`` groups (stable hash of the name) and each group's
    clips are scored by a probe fitted on the rest. Needs at least two speakers."""
    speakers = sorted({c.speaker for c in clips})
    if len(speakers) < 2:
        raise ValueError("finding audio-video offsets by cross-fitting needs clips of at least two speakers")
    group = {s: zlib.crc32(s.encode()) % min(folds, len(speakers)) for s in speakers}
    if len(set(group.values())) < 2:  # every speaker hashed into one group: split them in order instead
        group = {s: i % 2 for i, s in enumerate(speakers)}
    feats = [_probe_features(c) for c in clips]
    targets = []
    for c in clips:
        y = params_opening(c.params, direction)
        v = np.ones(len(c), bool) if c.valid is None else np.asarray(c.valid, bool)
        targets.append(((y - y[v].mean()) / (y[v].std() + 1e-9), v))
    out: list[tuple[int, float, float]] = [(0, float("nan"), float("nan"))] * len(clips)
    for g in sorted(set(group.values())):
        train = [i for i, c in enumerate(clips) if group[c.speaker] != g]
        x = np.concatenate([feats[i][targets[i][1]] for i in train])
        y = np.concatenate([targets[i][0][targets[i][1]] for i in train])
        mu, sd = x.mean(0), x.std(0) + 1e-3
        xn = (x - mu) / sd
        w = np.linalg.solve(xn.T @ xn + PROBE_RIDGE * np.eye(xn.shape[1]), xn.T @ y)
        for i, c in enumerate(clips):
            if group[c.speaker] == g:
                pred = ((feats[i] - mu) / sd) @ w
                out[i] = estimate_offset(pred, targets[i][0], targets[i][1], max_lag=max_lag, min_gain=min_gain)
    return out


def realign_clips(clips: Sequence[ClipData], basis, *, max_lag: int = 8, min_gain: float = 0.05) -> tuple[list[ClipData], dict[str, int]]:
    """Pretraining clips with their audio–video offsets taken out (:func:`probe_offsets`); also
    returns ``{clip name: offset}`` for the clips that moved."""
    from facial.audio2face.face import mouth_basis_from

    offsets = probe_offsets(clips, opening_direction(mouth_basis_from(basis)), max_lag=max_lag, min_gain=min_gain)
    moved = {c.name: lag for c, (lag, _, _) in zip(clips, offsets) if lag}
    if moved:
        log.info("audio-video offsets taken out of %d/%d clips (frames; > 0 = face late): %s", len(moved), len(clips),
                 ", ".join(f"{k} {v:+d}" for k, v in moved.items()))
    return [shift_clip(c, lag) for c, (lag, _, _) in zip(clips, offsets)], moved


def model_offset(model, clip: ClipData, *, max_lag: int = 8, min_gain: float = 0.05) -> tuple[int, float, float]:
    """The clip's audio–video offset (:func:`estimate_offset`) against ``model``'s zero-shot prediction
    from the clip's audio alone (seeded with the clip's first frame, no smoothing)."""
    import torch

    from facial.audio2face.inference import predict_normalised

    first = model.normalise(clip.params[:1], clip.pose_mean, clip.pose_std)[0]
    with torch.no_grad():
        z = predict_normalised(model, clip.features, first)
    direction = opening_direction(model.mouth_basis.detach().cpu().numpy())
    predicted = params_opening(model.denormalise(z, clip.pose_mean, clip.pose_std), direction)
    return estimate_offset(predicted, params_opening(clip.params, direction), clip.valid, max_lag=max_lag, min_gain=min_gain)
