"""Eye blinks: how often and how long.

Metric cards
------------
- ``blink_rate_per_min`` (blinks/min, ·): number of blink events / clip duration in minutes.
  Shown next to the human conversational band **10.5–32.5 /min** (Doughty 2001, 95 % range;
  Bentivoglio et al. 1997 report a mean of 26 /min in conversation, 17 at rest) and, in a
  benchmark, next to the real clip's own rate.
- ``blink_duration_s`` (s, ·): mean duration of the blink events (runs of frames above the
  threshold / fps). Unavailable when the clip has no blink.

Detection: eyelid aperture (lid gap / eye width, both eyes averaged) from FaceMesh, normalised per
speaker to [0, 1] (0 = this speaker's usual open eye, the 90th percentile of the aperture over the
clip; 1 = closed, the lower of the 1st percentile and 35 % of open), threshold 0.5 (i.e. the
aperture drops below about two thirds of the usual open value); runs separated by one frame are
merged; runs over 1 s are eye closures, not blinks. Calibrating on the clip itself makes the
threshold speaker- and renderer-specific, so a generated clip is judged by its own eyes' range;
a clip whose eyes never move has no blink.
"""
from __future__ import annotations

import numpy as np

from evaluation.types import Direction, Kind, MetricSpec, MetricValue

FAMILY = "blink"
HUMAN_BAND_PER_MIN = (10.5, 32.5)

SPECS = [
    MetricSpec("blink_rate_per_min", FAMILY, Kind.MEASUREMENT, Direction.NONE, "1/min", ("video", "face"),
               "blinks per minute (per-speaker calibrated lid aperture); human conversation 10.5–32.5",
               band=HUMAN_BAND_PER_MIN),
    MetricSpec("blink_duration_s", FAMILY, Kind.MEASUREMENT, Direction.NONE, "s", ("video", "face"),
               "mean duration of the blinks (frames above threshold / fps)"),
]


def blink_stats(blink: np.ndarray, fps: float, threshold: float = 0.5) -> dict[str, object]:
    """Rate (per minute), mean duration (s) and events of a ``[T]`` normalised blink track."""
    from evaluation.extractors.eyes import blink_events

    events = blink_events(blink, fps, threshold)
    minutes = len(blink) / fps / 60.0
    durations = [(e - s) / fps for s, e in events]
    return {
        "n_blinks": len(events),
        "rate_per_min": len(events) / minutes if minutes > 0 else float("nan"),
        "duration_s": float(np.mean(durations)) if durations else float("nan"),
        "events": [[int(s), int(e)] for s, e in events],
    }


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """Blink rate and duration of the clip in ``ctx``."""
    from evaluation.extractors.eyes import blink_track

    face = ctx.face("video")
    blink, calibration = blink_track(face.eye_aperture())
    stats = blink_stats(blink, face.fps, ctx.config.blink_threshold)
    details = {"n_blinks": stats["n_blinks"], "events": stats["events"], "duration_s": round(face.duration, 3),
               "calibration_open": round(calibration[0], 5), "calibration_closed": round(calibration[1], 5),
               "threshold": ctx.config.blink_threshold}
    out: dict[str, MetricValue] = {}
    if "blink_rate_per_min" in names:
        rate = float(stats["rate_per_min"])
        lo, hi = HUMAN_BAND_PER_MIN
        out["blink_rate_per_min"] = MetricValue.ok("blink_rate_per_min", rate, human_band=[lo, hi],
                                                   in_human_band=bool(lo <= rate <= hi), **details)
    if "blink_duration_s" in names:
        if stats["n_blinks"]:
            out["blink_duration_s"] = MetricValue.ok("blink_duration_s", float(stats["duration_s"]), **details)
        else:
            out["blink_duration_s"] = MetricValue.unavailable("blink_duration_s", "no blink in the clip", **details)
    return out
