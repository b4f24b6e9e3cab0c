"""A weights-free audio-visual sync measure: mouth opening against the speech envelope.

Metric cards
------------
- ``av_offset`` (frames, →0): the audio delay that best lines the speech up with the mouth.
  **Sign convention: ``av_offset = k > 0`` means the audio is late by k frames** — the sound of
  what the lips do at frame t is heard at frame t + k (a clip whose audio track was delayed by k
  frames reports k more than the original). SyncNet's ``lse_offset`` uses the opposite sign.
- ``av_corr`` (−1–1, ↑): the Pearson correlation at that offset.

Signals, on the 25 fps grid: the mouth opening (inner-lip gap / face height from FaceMesh,
:func:`facial.speaker.face_model.mouth_opening`) and the speech envelope (RMS of the 640 audio
samples of each frame). Each is high-passed by subtracting its 9-frame (0.36 s) moving average,
so that the syllable rhythm, not slow loudness drifts, is compared. The correlation is computed
for offsets −15…+15 frames (±0.6 s, as SyncNet's vshift = 15) over the overlapping frames; the
maximum gives both values. A clip whose mouth does not move (std of the opening < 0.002 of the
face height) has ``av_corr = 0`` (nothing correlates) and no ``av_offset``.

On the real clips we checked, shifting the audio by ±5 or +2 frames moved ``av_offset`` by
exactly that in 40 of 42 cases; the offset of a single short clip is still a noisy estimate (the
syllable rhythm repeats every ~5–8 frames), so read it in aggregate.
"""
from __future__ import annotations

import numpy as np

from evaluation.types import Direction, Kind, MetricSpec, MetricValue

FAMILY = "av_sync"
HIGHPASS_FRAMES = 9
STILL_MOUTH_STD = 0.002

SPECS = [
    MetricSpec("av_offset", FAMILY, Kind.MEASUREMENT, Direction.TARGET, "frames", ("video", "audio", "face"),
               "audio delay (k > 0: audio late) maximising corr(mouth opening, speech envelope), ±15 frames",
               target=0.0),
    MetricSpec("av_corr", FAMILY, Kind.MEASUREMENT, Direction.HIGHER, "−1–1", ("video", "audio", "face"),
               "Pearson correlation of high-passed mouth opening and speech envelope at av_offset"),
]


def _highpass(x: np.ndarray, window: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d

    x = np.asarray(x, dtype=np.float64)
    return x - uniform_filter1d(x, window, mode="nearest") if window > 1 else x - x.mean()


def sync_curve(mouth: np.ndarray, envelope: np.ndarray, vshift: int = 15,
               highpass: int = HIGHPASS_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``[-vshift … vshift]`` and the correlation at each (audio delayed by the offset)."""
    m = _highpass(mouth, highpass)
    e = _highpass(envelope, highpass)
    n = min(len(m), len(e))
    m, e = m[:n], e[:n]
    offsets = np.arange(-vshift, vshift + 1)
    corr = np.full(len(offsets), np.nan)
    for i, d in enumerate(offsets):
        a, b = (m[: n - d], e[d:]) if d >= 0 else (m[-d:], e[: n + d])
        if len(a) < 3:
            continue
        a = a - a.mean()
        b = b - b.mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        corr[i] = (a * b).sum() / den if den > 0 else np.nan
    return offsets, corr


def av_sync(mouth: np.ndarray, envelope: np.ndarray, vshift: int = 15) -> dict[str, object]:
    """``{"offset", "corr", "corr_at_0", "confidence", "curve"}``; offset None for a still mouth."""
    mouth = np.asarray(mouth, dtype=np.float64)
    if mouth.std() < STILL_MOUTH_STD:
        return {"offset": None, "corr": 0.0, "corr_at_0": 0.0, "confidence": 0.0, "curve": [], "still_mouth": True}
    offsets, corr = sync_curve(mouth, envelope, vshift)
    if not np.any(np.isfinite(corr)):
        return {"offset": None, "corr": float("nan"), "corr_at_0": float("nan"), "confidence": float("nan"), "curve": []}
    i = int(np.nanargmax(corr))
    return {"offset": int(offsets[i]), "corr": float(corr[i]), "corr_at_0": float(corr[vshift]),
            "confidence": float(corr[i] - np.nanmedian(corr)), "curve": np.round(corr, 4).tolist(),
            "still_mouth": False}


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """``av_offset`` / ``av_corr`` of the clip in ``ctx``."""
    from evaluation.extractors.audio import frame_envelope

    face = ctx.face("video")
    speech = ctx.speech()
    mouth = face.mouth_opening()
    env = frame_envelope(speech.samples, speech.sample_rate, len(mouth), face.fps)
    if not np.any(env > 1e-6):
        reason = "the audio is silent"
        return {n: MetricValue.unavailable(n, reason) for n in names}
    res = av_sync(mouth, env, ctx.config.vshift)
    details = {k: res[k] for k in ("corr_at_0", "confidence", "curve") if k in res}
    details["convention"] = "offset k > 0: audio late by k frames"
    out: dict[str, MetricValue] = {}
    if "av_offset" in names:
        if res["offset"] is None:
            why = "the mouth does not move" if res.get("still_mouth") else "no valid correlation"
            out["av_offset"] = MetricValue.unavailable("av_offset", why)
        else:
            out["av_offset"] = MetricValue.ok("av_offset", res["offset"], **details)
    if "av_corr" in names:
        out["av_corr"] = MetricValue.ok("av_corr", res["corr"], still_mouth=bool(res.get("still_mouth")), **details)
    return out
