"""Lip-sync error with SyncNet: LSE-C, LSE-D and SyncNet's AV offset.

Metric cards
------------
As in Wav2Lip's ``calculate_scores_real_videos`` on top of joonson/syncnet_python, with
``vshift = 15``; the clip is resampled to 25 fps and its audio to 16 kHz first (SyncNet's frame =
640 samples). Steps in :mod:`evaluation.extractors.syncnet`.

- ``lse_c`` (↑): median minus minimum, over offsets, of the mean embedding distance.
- ``lse_d`` (↓): the minimum mean distance.
- ``lse_offset`` (frames, →0): ``vshift − argmin``; SyncNet's sign — positive when the audio
  leads (is early); ``av_offset`` uses the opposite sign.

Needs SyncNet v2 weights (``syncnet_v2.model``) given by path or ``owner/repo`` in the local
Hugging Face cache (``--syncnet-weights``); S3FD weights (``sfd_face.pth``, ``--s3fd-weights``)
are optional: without them faces are cropped from the FaceMesh landmark boxes, and every value
says which crop was used (LSE numbers depend on the crop; compare like with like). Without
SyncNet weights the three metrics are reported unavailable — never a made-up number.
"""
from __future__ import annotations

import numpy as np

from evaluation.types import Direction, Kind, MetricSpec, MetricUnavailable, MetricValue

FAMILY = "sync"
_NEEDS = ("video", "audio", "syncnet_weights")

SPECS = [
    MetricSpec("lse_c", FAMILY, Kind.MEASUREMENT, Direction.HIGHER, "–", _NEEDS,
               "SyncNet confidence: median − min over offsets ±15 of the mean embedding distance"),
    MetricSpec("lse_d", FAMILY, Kind.MEASUREMENT, Direction.LOWER, "–", _NEEDS,
               "SyncNet distance: min over offsets ±15 of the mean embedding distance"),
    MetricSpec("lse_offset", FAMILY, Kind.MEASUREMENT, Direction.TARGET, "frames", _NEEDS,
               "SyncNet's AV offset (vshift − argmin; positive: audio early)", target=0.0),
]

NO_WEIGHTS = ("LSE needs SyncNet weights syncnet_v2.model (joonson/syncnet_python); pass --syncnet-weights PATH "
              "(or owner/repo already in your Hugging Face cache) — they are never downloaded")


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """LSE-C / LSE-D / offset of the clip in ``ctx``."""
    from evaluation.extractors import syncnet as sn

    cfg = ctx.config
    if cfg.syncnet_random_init:
        weights, label = None, "RANDOM init (code-path test only; not a score)"
    elif cfg.syncnet_weights:
        weights = sn.resolve_weights(cfg.syncnet_weights, sn.SYNCNET_FILE)
        label = str(weights)
    else:
        raise MetricUnavailable(NO_WEIGHTS)
    if abs(cfg.fps - sn.FPS) > 1e-6:
        raise MetricUnavailable(f"SyncNet needs 25 fps; this evaluation runs at {cfg.fps} fps")
    net = sn.load_syncnet(weights, device=cfg.device)
    if cfg.s3fd_weights:
        detector = sn.load_s3fd(sn.resolve_weights(cfg.s3fd_weights, sn.S3FD_FILE), device=cfg.device)
        n = len(ctx.face("video")) if _has_face(ctx) else _n_frames(ctx)
        boxes, crop = sn.s3fd_boxes(ctx.inputs.video, detector, n), "s3fd"
    else:
        boxes, crop = sn.facemesh_boxes(ctx.face("video").landmarks), "facemesh-box"
    crops = sn.face_crops(ctx.inputs.video, boxes)
    speech = ctx.speech()
    if speech.sample_rate != sn.SAMPLE_RATE:
        raise MetricUnavailable(f"SyncNet needs 16 kHz audio, got {speech.sample_rate} Hz")
    scores = sn.sync_scores(net, crops, speech.samples, vshift=cfg.vshift, device=cfg.device)
    details = {"crop": crop, "weights": label, "vshift": cfg.vshift, "n_windows": scores.n_windows,
               "dists": np.round(scores.dists, 4).tolist()}
    values = {"lse_c": scores.confidence, "lse_d": scores.min_dist, "lse_offset": scores.offset}
    return {n: MetricValue.ok(n, values[n], **details) for n in names}


def _has_face(ctx) -> bool:
    try:
        ctx.face("video")
        return True
    except Exception:
        return False


def _n_frames(ctx) -> int:
    from facial import media

    info = media.probe(ctx.inputs.video)
    return int(round(info.duration * 25.0))
