"""SyncNet (``syncnet-python``) scoring, without its shell pipeline.

The steps follow ``SyncNetInstance.evaluate`` of joonson/syncnet_python (as packaged in
``syncnet-python`` 0.2.3) with the inputs prepared in memory:

1. video at 25 fps; a face box per frame — from S3FD (``sfd_face.pth``, when given; the largest
   box at scale 0.25, confidence 0.9, gaps interpolated) or else from the FaceMesh landmarks
   (their bounding box); boxes median-filtered over 13 frames and cropped as ``syncnet_pipeline``
   does (crop_scale 0.4, 110-grey padding), resized to 224×224, BGR;
2. audio at 16 kHz, int16 scale, 13 MFCC at 100 Hz (``python_speech_features``);
3. 5-frame video windows against 20-step MFCC windows, the L2 distance of their embeddings at
   offsets −vshift…+vshift (vshift 15), averaged over windows → ``mdist``;
4. LSE-D = min(mdist), LSE-C = median(mdist) − min(mdist), offset = vshift − argmin
   (SyncNet's sign: positive when the audio leads the video).

Weights are read only from files the user names (a path, a folder holding the file, or
``owner/repo[/file]`` already in the local Hugging Face cache); nothing is downloaded. They are
loaded with ``torch.load(weights_only=True)``: plain state dicts of tensors only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.types import MetricUnavailable

log = logging.getLogger(__name__)

SYNCNET_FILE = "syncnet_v2.model"
S3FD_FILE = "sfd_face.pth"
CROP_SCALE = 0.4
CROP_SIZE = 224
BOX_MEDIAN = 13
SAMPLE_RATE = 16000
FPS = 25.0

_MODELS: dict[tuple, object] = {}


def resolve_weights(spec: str | Path, default_filename: str) -> Path:
    """A local weights file from a path, a folder holding ``default_filename``, or
    ``owner/repo[/path/in/repo]`` in the local Hugging Face cache (never downloaded)."""
    text = str(spec)
    p = Path(text).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        if (p / default_filename).is_file():
            return p / default_filename
        raise MetricUnavailable(f"{p} holds no {default_filename}")
    parts = text.strip("/").split("/")
    if len(parts) >= 2 and not text.startswith((".", "/", "~")):
        repo, filename = "/".join(parts[:2]), "/".join(parts[2:]) or default_filename
        try:
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(repo_id=repo, filename=filename, local_files_only=True))
        except Exception as exc:
            raise MetricUnavailable(
                f"{text}: no such file, and {filename} of the Hugging Face repo {repo} is not in the local cache "
                f"({type(exc).__name__}); download it yourself (e.g. `hf download {repo} {filename}`) — weights are never "
                "downloaded by this tool") from exc
    raise MetricUnavailable(f"{text}: no such weights file")


def _load_state(path: Path):
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MetricUnavailable(f"{path} could not be read as a plain state dict of tensors ({type(exc).__name__}: {exc})") from exc


def load_syncnet(weights: Path | None, *, seed: int = 0, device: str = "cpu"):
    """SyncNet ``S`` in eval mode with ``weights`` (a state dict file) or, when None, random
    weights drawn with ``seed`` (for tests of the code path only)."""
    import torch
    from syncnet_python.SyncNetModel import S

    key = ("syncnet", str(weights), seed, device)
    if key not in _MODELS:
        torch.manual_seed(seed)
        net = S(num_layers_in_fc_layers=1024)
        if weights is not None:
            try:
                net.load_state_dict(_load_state(weights))
            except RuntimeError as exc:
                raise MetricUnavailable(f"{weights} does not hold SyncNet v2 weights ({exc})") from exc
        _MODELS[key] = net.to(device).eval()
    return _MODELS[key]


def load_s3fd(weights: Path, *, device: str = "cpu"):
    """The S3FD face detector of ``syncnet-python`` with ``weights`` (``sfd_face.pth``)."""
    from syncnet_python.detectors.s3fd import S3FD
    from syncnet_python.detectors.s3fd.nets import S3FDNet

    key = ("s3fd", str(weights), device)
    if key not in _MODELS:
        net = S3FDNet(device=device)
        try:
            net.load_state_dict(_load_state(weights))
        except RuntimeError as exc:
            raise MetricUnavailable(f"{weights} does not hold S3FD weights ({exc})") from exc
        _MODELS[key] = S3FD(net=net.eval(), device=device)
    return _MODELS[key]


def facemesh_boxes(landmarks: np.ndarray) -> np.ndarray:
    """``[T, 478, ≥2]`` → ``[T, 4]`` (x0, y0, x1, y1) bounding boxes of the landmarks."""
    lm = np.asarray(landmarks, dtype=np.float64)[..., :2]
    return np.concatenate([lm.min(axis=1), lm.max(axis=1)], axis=1)


def s3fd_boxes(video: Path, detector, n_frames: int) -> np.ndarray:
    """Largest S3FD box per frame (``facedet_scale`` 0.25, confidence 0.9), gaps interpolated."""
    from facial import media

    boxes = np.full((n_frames, 4), np.nan)
    t = 0
    for chunk in media.iter_video(video, FPS):
        for frame in chunk:
            if t >= n_frames:
                break
            det = detector.detect_faces(frame, conf_th=0.9, scales=[0.25])
            if len(det):
                areas = (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1])
                boxes[t] = det[int(np.argmax(areas)), :4]
            t += 1
    ok = ~np.isnan(boxes[:, 0])
    if not ok.any():
        raise MetricUnavailable("S3FD found no face in the clip")
    idx = np.flatnonzero(ok)
    for j in range(4):
        boxes[:, j] = np.interp(np.arange(n_frames), idx, boxes[idx, j])
    return boxes


def crop_windows(boxes: np.ndarray) -> np.ndarray:
    """Per-frame crop parameters ``[T, 3]`` (half-size, centre x, centre y) after the 13-frame
    median filter of ``syncnet_pipeline._crop``."""
    from scipy.signal import medfilt

    b = np.asarray(boxes, dtype=np.float64)
    s = np.maximum(b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]) / 2
    x = (b[:, 0] + b[:, 2]) / 2
    y = (b[:, 1] + b[:, 3]) / 2
    k = BOX_MEDIAN if len(b) >= BOX_MEDIAN else (len(b) // 2) * 2 + 1 if len(b) > 1 else 1
    return np.stack([medfilt(v, k) if k > 1 else v for v in (s, x, y)], axis=1)


def crop_face(frame_rgb: np.ndarray, window: np.ndarray) -> np.ndarray:
    """One 224×224 BGR face crop, geometry as ``syncnet_pipeline._crop``."""
    import cv2

    bs, x, y = (float(v) for v in window)
    bs = max(bs, 1.0)
    pad = int(bs * (1 + 2 * CROP_SCALE))
    img = cv2.copyMakeBorder(frame_rgb[..., ::-1], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(110, 110, 110))
    my, mx = y + pad, x + pad
    y1, y2 = int(my - bs), int(my + bs * (1 + 2 * CROP_SCALE))
    x1, x2 = int(mx - bs * (1 + CROP_SCALE)), int(mx + bs * (1 + CROP_SCALE))
    return cv2.resize(img[y1:y2, x1:x2], (CROP_SIZE, CROP_SIZE))


def face_crops(video: Path, boxes: np.ndarray) -> np.ndarray:
    """``[T, 224, 224, 3]`` uint8 BGR crops of ``video`` at 25 fps (T = len(boxes))."""
    from facial import media

    windows = crop_windows(boxes)
    out = np.empty((len(boxes), CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    t = 0
    for chunk in media.iter_video(video, FPS):
        for frame in chunk:
            if t >= len(boxes):
                break
            out[t] = crop_face(frame, windows[t])
            t += 1
    return out[:t]


def mfcc(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``[13, N]`` MFCC at 100 Hz of float audio in [−1, 1], computed at int16 scale as SyncNet was trained."""
    import python_speech_features

    pcm = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0) * 32767.0
    return np.asarray(python_speech_features.mfcc(pcm.astype(np.int16).astype(np.float64), sample_rate)).T


@dataclass
class SyncScores:
    """SyncNet's output on one clip (``dists``: mean distance per offset −vshift…+vshift)."""

    offset: int
    confidence: float
    min_dist: float
    dists: np.ndarray
    n_windows: int


def sync_scores(net, crops_bgr: np.ndarray, samples: np.ndarray, *, vshift: int = 15, batch: int = 20,
                device: str = "cpu") -> SyncScores:
    """Score BGR face crops ``[T, 224, 224, 3]`` against 16 kHz ``samples`` (``SyncNetInstance.evaluate``)."""
    import torch
    from syncnet_python.SyncNetInstance import calc_pdist

    cc = mfcc(samples)
    min_length = min(len(crops_bgr), int(np.floor(len(samples) / 640)))
    lastframe = min_length - 5
    if lastframe < 1:
        raise MetricUnavailable(f"clip too short for SyncNet ({min_length} frames; needs at least 6)")
    im_feat, cc_feat = [], []
    with torch.no_grad():
        for i in range(0, lastframe, batch):
            frames = range(i, min(lastframe, i + batch))
            vid = np.stack([crops_bgr[v:v + 5] for v in frames])  # [B, 5, H, W, 3]
            vid = torch.from_numpy(vid).permute(0, 4, 1, 2, 3).float().to(device)  # [B, 3, 5, H, W]
            im_feat.append(net.forward_lip(vid).cpu())
            aud = np.stack([cc[:, 4 * v:4 * v + 20] for v in frames])[:, None]  # [B, 1, 13, 20]
            cc_feat.append(net.forward_aud(torch.from_numpy(aud).float().to(device)).cpu())
    im = torch.cat(im_feat, 0)
    au = torch.cat(cc_feat, 0)
    dists = calc_pdist(im, au, vshift=vshift)
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    return SyncScores(offset=int(vshift - int(minidx)), confidence=float(torch.median(mdist) - minval),
                      min_dist=float(minval), dists=mdist.numpy(), n_windows=int(lastframe))
