"""Stage (4): the trained neural renderer (FACIAL's Rendering-to-Video) as one object.

:class:`NeuralRenderer` holds a :class:`~facial.face2vid.networks.UNetGenerator`, its config and the
speaker's reference frame; it is stored as ``config.json`` + ``model.safetensors`` (usually in
``PROFILE_DIR/face2vid/``, written by :func:`facial.face2vid.train.train_renderer`).

- :meth:`NeuralRenderer.render` turns :class:`RenderedFaces` (made at the renderer's ``size``
  over its ``box``) into frames of that crop;
- :meth:`NeuralRenderer.render_params` goes from :class:`FaceParams` to full speaker-size frames
  (mesh render → network → crop pasted back over the reference frame with a soft border).
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import torch

from facial import atomic
from facial.face2vid.data import RenderTensors, mesh_renderer, to_uint8
from facial.face2vid.networks import Face2VidConfig, UNetGenerator
from facial.face_render.progress import progress_reporter
from facial.types import FaceParams, RenderedFaces, SpeakerProfile, VideoFrames

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MIN_SECONDS = 2.0


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``/None → CUDA when available, else CPU; anything else as given."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class NeuralRenderer:
    """A trained Rendering-to-Video generator for one speaker (see the module docstring)."""

    def __init__(self, config: Face2VidConfig, generator: UNetGenerator | None = None, reference: np.ndarray | None = None,
                 *, reference_full: np.ndarray | None = None, device: str | torch.device = "cpu"):
        self.config = config
        self.device = resolve_device(device)
        self.generator = (generator or UNetGenerator(config)).to(self.device).eval()
        s = config.size
        self.reference = reference if reference is not None else np.zeros((s, s, 3), np.uint8)  # [S, S, 3]
        self.reference_full = reference_full  # the speaker's reference frame at full size (background for pasting)

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (generator weights and reference frames) atomically."""
        from safetensors.torch import save_file

        directory = Path(directory)
        tmp = directory.with_name(f".{directory.name}.partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            tensors = {f"generator.{k}": v.detach().float().cpu().contiguous() for k, v in self.generator.state_dict().items()}
            tensors["reference"] = torch.from_numpy(np.ascontiguousarray(self.reference))
            if self.reference_full is not None:
                tensors["reference_full"] = torch.from_numpy(np.ascontiguousarray(self.reference_full))
            save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "facial-face2vid-1"})
            (tmp / CONFIG_FILE).write_text(json.dumps({"model_type": "facial-face2vid", **self.config.to_dict()}, indent=2))
            return atomic.replace_dir(tmp, directory)  # config.json, then model.safetensors
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def from_pretrained(cls, directory: str | Path, *, device: str | torch.device = "auto", revision: str | None = None) -> "NeuralRenderer":
        """Load from a folder (or a Hugging Face repo id) holding ``config.json`` + ``model.safetensors``."""
        from safetensors.torch import load_file

        from facial.hub import resolve_dir

        path = resolve_dir(directory, (CONFIG_FILE, WEIGHTS_FILE), revision=revision)
        cfg = json.loads((path / CONFIG_FILE).read_text())
        if cfg.get("model_type") != "facial-face2vid":
            raise ValueError(f"{path} holds a {cfg.get('model_type')!r} checkpoint, not a neural renderer (facial-face2vid)")
        cfg.setdefault("compose", False)  # checkpoints saved before the composite base existed
        cfg.setdefault("face_weight", 0.0)
        config = Face2VidConfig.from_dict(cfg)
        tensors = load_file(str(path / WEIGHTS_FILE))
        gen = UNetGenerator(config)
        gen.load_state_dict({k[len("generator."):]: v for k, v in tensors.items() if k.startswith("generator.")})
        ref = tensors["reference"].numpy()
        full = tensors["reference_full"].numpy() if "reference_full" in tensors else None
        return cls(config, gen, ref, reference_full=full, device=device)

    # ------------------------------------------------------------------ inference
    def reference_tensor(self, batch: int) -> torch.Tensor:
        """The reference frame as ``[batch, 3, S, S]`` in [-1, 1] on the renderer's device."""
        cached = getattr(self, "_ref_tensor", None)
        if cached is None or cached.device != self.device:
            ref = torch.from_numpy(np.ascontiguousarray(self.reference.transpose(2, 0, 1))).to(self.device).float() / 127.5 - 1.0
            self._ref_tensor = cached = ref[None]
        return cached.expand(batch, -1, -1, -1)

    def inputs(self, data: RenderTensors, centres: np.ndarray, lo: int = 0, hi: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generator input ``[B, in_channels, S, S]`` and base image (or None) for output frames ``centres``."""
        cfg = self.config
        x = data.window_batch(centres, cfg.window, cfg.target_index, lo, hi)
        ref = self.reference_tensor(len(centres)) if (cfg.use_reference or cfg.compose) else None
        if cfg.use_reference:
            x = torch.cat([x, ref], 1)
        base = data.composite(centres, ref) if cfg.compose else ref
        return x, base

    def generate(self, data: RenderTensors, centres: np.ndarray, lo: int = 0, hi: int | None = None) -> torch.Tensor:
        """Generator output ``[B, 3, S, S]`` in [-1, 1] for output frames ``centres`` of ``data``."""
        x, base = self.inputs(data, centres, lo, hi)
        return self.generator(x, base)

    @torch.no_grad()
    def render(self, rendered: RenderedFaces, *, progress=None, batch_size: int = 8) -> VideoFrames:
        """Mesh renders (at this renderer's ``size``) → real-looking frames of the same size."""
        s = self.config.size
        if rendered.images.shape[1:3] != (s, s):
            raise ValueError(f"this neural renderer works at {s}×{s}; render the mesh at that size "
                             f"(got {rendered.images.shape[2]}×{rendered.images.shape[1]}); use render_params()")
        self.generator.eval()
        data = RenderTensors.from_rendered(rendered, self.device)
        n = len(data)
        out = np.empty((n, s, s, 3), np.uint8)
        report, bar = progress_reporter(progress, n, "neural render")
        try:
            for i in range(0, n, batch_size):
                idx = np.arange(i, min(n, i + batch_size))
                out[idx] = to_uint8(self.generate(data, idx))
                report(min(n, i + batch_size) / n)
        finally:
            if bar is not None:
                bar.close()
        return VideoFrames(out, rendered.fps)

    def render_params(self, profile: SpeakerProfile, params: FaceParams, *, progress=None) -> VideoFrames:
        """FaceParams → full-size frames of the speaker (crop output pasted over the reference frame)."""
        rendered = mesh_renderer(profile, self.config).render(params)
        crop = self.render(rendered, progress=progress)
        return VideoFrames(self.paste(crop.frames, profile.size), params.fps)

    def paste(self, crops: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Put ``crops [T, S, S, 3]`` back at ``config.box`` of a ``size`` frame over the reference frame."""
        w, h = size
        box = self.config.box or [0, 0, w, h]
        x0, y0, x1, y1 = box
        if (x0, y0, x1, y1) == (0, 0, w, h):
            if crops.shape[1:3] == (h, w):
                return crops
            return np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC) for c in crops])
        bg = self.reference_full if self.reference_full is not None and self.reference_full.shape[:2] == (h, w) else None
        if bg is None:
            bg = np.zeros((h, w, 3), np.uint8)
        bw, bh = x1 - x0, y1 - y0
        ramp = max(2.0, 0.04 * bw)
        ys, xs = np.arange(bh, dtype=np.float32)[:, None], np.arange(bw, dtype=np.float32)[None, :]
        d = np.full((bh, bw), np.inf, np.float32)
        # feather only the box edges inside the frame (edges on the frame border stay sharp)
        if x0 > 0:
            d = np.minimum(d, xs + 0.5)
        if x1 < w:
            d = np.minimum(d, bw - xs - 0.5)
        if y0 > 0:
            d = np.minimum(d, ys + 0.5)
        if y1 < h:
            d = np.minimum(d, bh - ys - 0.5)
        a = np.clip(d / ramp, 0.0, 1.0)
        out = np.empty((len(crops), h, w, 3), np.uint8)
        for t, c in enumerate(crops):
            big = cv2.resize(c, (bw, bh), interpolation=cv2.INTER_CUBIC).astype(np.float32)
            frame = bg.astype(np.float32).copy()
            frame[y0:y1, x0:x1] = big * a[..., None] + frame[y0:y1, x0:x1] * (1 - a[..., None])
            out[t] = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
        return out
