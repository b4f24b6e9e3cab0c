"""Lip sync judged by the project's own expert: ``sync_offset``, ``sync_conf``, ``sync_dist``.

Metric cards
------------
The expert (:mod:`facial.sync_expert`, weights shipped in ``facial/assets/sync_expert``) embeds
every 5-frame window of the clip's lips (25 fps) and every 0.2 s window of its speech (log-mel);
``D[t, s] = 1 − cos`` of the video window ``t`` and the audio window ``t + s``, for shifts
``s = −15 … +15`` frames (``EvalConfig.vshift``).

- ``sync_offset`` (frames, →0): ``argmin_s mean_t D[t, s]``. **Same sign as ``av_offset``:
  positive = the audio is late** (delaying a clip's audio by k frames raises it by k);
  ``lse_offset`` (SyncNet) has the opposite sign.
- ``sync_conf`` (↑): ``median_s c[s] − min_s c[s]`` of the mean-distance curve
  ``c[s] = mean_t D[t, s]`` — SyncNet's LSE-C form. (The per-window form, ``median_t (median_s
  D[t, s] − min_s D[t, s])``, is in the details as ``conf_windows``: on the validation clips it
  did not separate real clips from the same face with another person's speech, 4 of 9, while the
  curve form did, 9 of 9.)
- ``sync_dist`` (↓): ``mean_t min_s D[t, s]`` — LSE-D-like; cosine distances in [0, 2]
  (SyncNet's own form, ``min_s c[s]``, is in the details as ``dist_curve``).

Numbers are on the expert's own scale: never compare them with SyncNet's LSE-C/LSE-D. Needs only
the package (no downloaded weights). A clip shorter than ``5 + vshift`` frames (0.8 s), without a
tracked face or without speech is reported unavailable with the reason — never a made-up number.
A mouth that does not move (std of the inner-lip gap < 0.002 of the face height, as ``av_offset``
decides it) has no offset to find: ``sync_offset`` is unavailable with that reason, while
``sync_conf`` (then ≈ 0) and ``sync_dist`` are still reported (flagged ``still_mouth``).
"""
from __future__ import annotations

import numpy as np

from evaluation.metrics.av_sync import STILL_MOUTH_STD  # the one rule for a still mouth
from evaluation.types import Direction, Kind, MetricSpec, MetricUnavailable, MetricValue

FAMILY = "sync_expert"
_NEEDS = ("video", "audio", "face")
SILENT_RMS = 1e-4

SPECS = [
    MetricSpec("sync_offset", FAMILY, Kind.MEASUREMENT, Direction.TARGET, "frames", _NEEDS,
               "our sync expert's AV offset (k > 0: audio late): argmin over shifts ±15 of mean distance", target=0.0),
    MetricSpec("sync_conf", FAMILY, Kind.MEASUREMENT, Direction.HIGHER, "–", _NEEDS,
               "our sync expert's confidence: median − min over shifts ±15 of the mean distance (LSE-C)"),
    MetricSpec("sync_dist", FAMILY, Kind.MEASUREMENT, Direction.LOWER, "–", _NEEDS,
               "our sync expert's distance: mean over windows of the min cosine distance over shifts ±15"),
]

_MODELS: dict[str, object] = {}


def load_expert():
    """The shipped expert, loaded once per process."""
    from facial.sync_expert.model import SyncExpert, default_checkpoint_dir

    key = str(default_checkpoint_dir())
    if key not in _MODELS:
        _MODELS[key] = SyncExpert.from_pretrained()
    return _MODELS[key]


def _visual(ctx, model, face) -> np.ndarray:
    """Lip shapes (landmark expert) or mouth crops (pixel expert) of the clip, one per tracked frame."""
    from facial.sync_expert import features as feat

    cfg = model.config
    if cfg.visual_input == "landmarks":
        return feat.lip_shapes(face.landmarks, face.valid)
    from facial import media

    frames = media.iter_video(ctx.inputs.video, cfg.fps, max_side=feat.MAX_SIDE, duration=ctx.config.max_seconds)
    first = next(frames)
    scale = first.shape[2] / max(face.size[0], 1)
    transforms = feat.crop_transforms(face.landmarks, cfg, scale=scale)

    def chain():
        yield first
        yield from frames

    return feat.mouth_crops(chain(), transforms, cfg.stored_crop)


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """``sync_offset`` / ``sync_conf`` / ``sync_dist`` of the clip in ``ctx``."""
    from facial import media
    from facial.speaker.landmarks import FaceTrackingError
    from facial.sync_expert import features as feat
    from facial.sync_expert import scoring

    model = load_expert()
    cfg = model.config
    if abs(ctx.config.fps - cfg.fps) > 1e-6:
        raise MetricUnavailable(f"the sync expert works at {cfg.fps:g} fps; this evaluation runs at {ctx.config.fps:g} fps")
    try:
        face = ctx.face("video")
    except FaceTrackingError as exc:
        raise MetricUnavailable(f"no usable face: {exc}") from None
    try:
        speech = ctx.speech()
    except media.MediaError as exc:
        raise MetricUnavailable(f"no speech: {exc}") from None
    if float(np.sqrt(np.mean(np.square(speech.samples, dtype=np.float64)))) < SILENT_RMS:
        raise MetricUnavailable("the audio is silent")
    need = scoring.min_frames(cfg, ctx.config.vshift)
    if len(face) < need:
        raise MetricUnavailable(f"the clip has {len(face)} frames at {cfg.fps:g} fps; the sync expert needs at least {need} "
                                f"({need / cfg.fps:.2f} s: a {cfg.window}-frame window at every shift within ±{ctx.config.vshift})")
    visual = _visual(ctx, model, face)
    if cfg.visual_input == "pixels":
        m = cfg.crop_margin
        visual = visual[:, m:m + cfg.crop_size, m:m + cfg.crop_size]
    inputs = feat.ClipInputs(visual if cfg.visual_input == "landmarks" else None,
                             visual if cfg.visual_input == "pixels" else None,
                             feat.log_mel(speech.samples, speech.sample_rate, cfg), cfg.fps)
    try:
        res = scoring.score_inputs(model, inputs, ctx.config.vshift)
    except scoring.ClipTooShort as exc:
        raise MetricUnavailable(str(exc)) from None
    details = {"expert": cfg.visual_input, "weights": model.weights_id(), "vshift": ctx.config.vshift,
               "n_windows": res.n_windows, "curve": np.round(res.curve, 4).tolist(),
               "conf_curve": round(res.conf, 5), "conf_windows": round(res.window_conf, 5),
               "dist_curve": round(res.curve_min, 5),
               "convention": "offset k > 0: audio late by k frames"}
    still = bool(np.std(face.mouth_opening()) < STILL_MOUTH_STD)
    details["still_mouth"] = still
    values = {"sync_offset": res.offset, "sync_conf": res.conf, "sync_dist": res.dist}
    out = {n: MetricValue.ok(n, values[n], **details) for n in names}
    if still and "sync_offset" in out:
        out["sync_offset"] = MetricValue.unavailable(
            "sync_offset", f"the mouth does not move (std of the lip gap < {STILL_MOUTH_STD} of the face height): no offset to find")
    return out
