"""Image fidelity on aligned face crops: PSNR, SSIM, LPIPS against the real clip.

Metric cards
------------
Each frame of the clip and of the real clip is warped (similarity transform) so that its eye
centres, nose tip and mouth corners land on ArcFace's 5-point template, giving a ``224×224`` face
crop aligned by its own landmarks (:func:`evaluation.extractors.landmarks.align_crops`). Frames
are paired by index (both at 25 fps); at most 200 evenly spaced pairs are scored per clip.

- ``psnr`` (dB, ↑): ``skimage.metrics.peak_signal_noise_ratio`` (data range 255) per pair,
  averaged; identical crops are capped at 100 dB.
- ``ssim`` (0–1, ↑): ``skimage.metrics.structural_similarity`` (RGB, ``channel_axis=2``), averaged.
- ``lpips`` (↓): LPIPS v0.1 with the AlexNet trunk (``lpips`` 0.1.4), inputs scaled to [−1, 1].
  Needs torchvision's ImageNet AlexNet weights ``alexnet-owt-7be5be79.pth``: the file given as
  ``lpips_backbone`` or the one in torch's hub cache (``$TORCH_HOME/hub/checkpoints/``, default
  ``~/.cache/torch/hub/checkpoints/``). It is never downloaded; without it LPIPS is unavailable.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from evaluation.types import Direction, Kind, MetricSpec, MetricUnavailable, MetricValue

log = logging.getLogger(__name__)

FAMILY = "image"
MAX_PAIRS = 200
PSNR_CAP_DB = 100.0
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
_NEEDS = ("video", "face", "reference")

SPECS = [
    MetricSpec("psnr", FAMILY, Kind.METRIC, Direction.HIGHER, "dB", _NEEDS,
               "PSNR of aligned 224² face crops vs the real frames (scikit-image)"),
    MetricSpec("ssim", FAMILY, Kind.METRIC, Direction.HIGHER, "0–1", _NEEDS,
               "SSIM of aligned 224² face crops vs the real frames (scikit-image, RGB)"),
    MetricSpec("lpips", FAMILY, Kind.METRIC, Direction.LOWER, "–", _NEEDS + ("lpips_backbone",),
               "LPIPS v0.1 (AlexNet) of aligned 224² face crops vs the real frames"),
]

_LPIPS_CACHE: dict[tuple[str, bool], object] = {}


def default_alexnet_path() -> Path:
    """Where torchvision keeps the AlexNet ImageNet weights (``$TORCH_HOME/hub/checkpoints``)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE


def lpips_model(backbone: str | Path | None = None, *, random_backbone: bool = False):
    """An ``lpips.LPIPS(net="alex")`` whose trunk is loaded from a local file, never downloaded.

    ``random_backbone=True`` keeps a randomly initialised trunk (tests of the code path only).
    Raises :class:`MetricUnavailable` naming the file and where to put it when it is missing.
    """
    import torch

    path = None if random_backbone else Path(backbone).expanduser() if backbone else default_alexnet_path()
    key = (str(path), random_backbone)
    if key in _LPIPS_CACHE:
        return _LPIPS_CACHE[key]
    if path is not None and not path.is_file():
        raise MetricUnavailable(
            f"LPIPS needs torchvision's AlexNet ImageNet weights {ALEXNET_FILE}; put the file at {default_alexnet_path()} "
            f"(or pass its path with --lpips-backbone); it is not downloaded automatically")
    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
        if path is not None:
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                # the trunk is torchvision's alexnet.features; lpips keeps its layers under their indices
                for i in range(1, 6):
                    for name, module in getattr(model.net, f"slice{i}").named_children():
                        params = {k: state[f"features.{name}.{k}"] for k, _ in module.named_parameters()}
                        module.load_state_dict(params, strict=True)
            except Exception as exc:
                raise MetricUnavailable(f"{path} is not torchvision's AlexNet state dict ({type(exc).__name__}: {exc})") from exc
    model.eval()
    _LPIPS_CACHE[key] = model
    return model


def lpips_distance(model, a: np.ndarray, b: np.ndarray, batch: int = 16) -> np.ndarray:
    """Per-pair LPIPS of uint8 ``[N, H, W, 3]`` RGB crops."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(a), batch):
            ta = torch.from_numpy(a[i:i + batch]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
            tb = torch.from_numpy(b[i:i + batch]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
            out.append(model(ta, tb).reshape(-1).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def psnr_ssim(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair PSNR (dB, capped) and SSIM of uint8 ``[N, H, W, 3]`` crops (``b`` is the real one)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    psnr = np.empty(len(a))
    ssim = np.empty(len(a))
    for i, (x, y) in enumerate(zip(a, b)):
        if np.array_equal(x, y):
            psnr[i] = PSNR_CAP_DB
        else:
            psnr[i] = min(PSNR_CAP_DB, peak_signal_noise_ratio(y, x, data_range=255))
        ssim[i] = structural_similarity(y, x, channel_axis=2, data_range=255)
    return psnr, ssim


def _frames(path: Path, fps: float, wanted: set[int]):
    from facial import media

    t = 0
    for chunk in media.iter_video(path, fps):
        for frame in chunk:
            if t in wanted:
                yield t, frame
            t += 1
            if t > max(wanted):
                return


def paired_crops(gen_path: Path, ref_path: Path, gen_face, ref_face, fps: float, size: int,
                 max_pairs: int = MAX_PAIRS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aligned crops of up to ``max_pairs`` evenly spaced frame pairs: ``(gen, real, frame indices)``."""
    from evaluation.extractors.landmarks import align_crops

    n = min(len(gen_face), len(ref_face))
    idx = np.unique(np.linspace(0, n - 1, min(n, max_pairs)).round().astype(int))
    wanted = set(idx.tolist())
    gen = dict(_frames(gen_path, fps, wanted))
    ref = dict(_frames(ref_path, fps, wanted))
    idx = np.array([i for i in idx if i in gen and i in ref])
    if idx.size == 0:
        raise MetricUnavailable("no decodable frame pairs")
    g = align_crops(np.stack([gen[i] for i in idx]), gen_face.landmarks[idx], size)
    r = align_crops(np.stack([ref[i] for i in idx]), ref_face.landmarks[idx], size)
    return g, r, idx


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """PSNR / SSIM / LPIPS of the clip in ``ctx`` against its reference."""
    cfg = ctx.config
    gen_face = ctx.face("video")
    ref_face = ctx.face("reference")
    g, r, idx = paired_crops(ctx.inputs.video, ctx.inputs.reference, gen_face, ref_face, cfg.fps, cfg.crop_size)
    details = {"n_pairs": int(idx.size), "crop": f"{cfg.crop_size}² aligned by own 5 landmarks (ArcFace template)"}
    if len(gen_face) != len(ref_face):
        details["note"] = f"frame counts differ ({len(gen_face)} vs {len(ref_face)} real)"
    out: dict[str, MetricValue] = {}
    if "psnr" in names or "ssim" in names:
        psnr, ssim = psnr_ssim(g, r)
        if "psnr" in names:
            out["psnr"] = MetricValue.ok("psnr", float(psnr.mean()), **details)
        if "ssim" in names:
            out["ssim"] = MetricValue.ok("ssim", float(ssim.mean()), **details)
    if "lpips" in names:
        try:
            model = lpips_model(cfg.lpips_backbone, random_backbone=cfg.lpips_random_backbone)
        except MetricUnavailable as exc:
            out["lpips"] = MetricValue.unavailable("lpips", str(exc))
        else:
            d = lpips_distance(model, g, r)
            backbone = "RANDOM trunk (code-path test only)" if cfg.lpips_random_backbone else "alexnet imagenet"
            out["lpips"] = MetricValue.ok("lpips", float(d.mean()), backbone=backbone, **details)
    return out
