"""Training/inference tensors for the neural renderer: mesh renders, eye maps, targets, reference.

Everything lives in one square crop of the speaker's frame (:func:`facial.face_render.render.face_box`)
resized to ``config.size``. Frames are kept as uint8 and turned into [-1, 1] floats per batch, so a
minute of 512² video fits in a few GB of (GPU) memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from facial.face_render.render import MeshRenderer, crop_frames
from facial.types import RenderedFaces


@dataclass
class RenderTensors:
    """``images [T, 3, S, S]`` uint8, ``eye [T, 1, S, S]`` uint8 (blink × 255), ``mask [T, 1, S, S]`` bool on ``device``."""

    images: torch.Tensor
    eye: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]

    @classmethod
    def from_rendered(cls, rendered: RenderedFaces, device: str | torch.device = "cpu") -> "RenderTensors":
        """Pack :class:`RenderedFaces` as uint8/bool tensors on ``device``."""
        images = torch.from_numpy(np.ascontiguousarray(rendered.images.transpose(0, 3, 1, 2))).to(device)
        eye = torch.from_numpy(np.round(np.clip(rendered.eye_map, 0, 1) * 255).astype(np.uint8)[:, None]).to(device)
        mask = torch.from_numpy(np.ascontiguousarray(rendered.mask[:, None])).to(device)
        return cls(images, eye, mask)

    def window_batch(self, centres: torch.Tensor | np.ndarray, window: int, target_index: int, lo: int = 0, hi: int | None = None) -> torch.Tensor:
        """Generator inputs ``[B, window·4, S, S]`` in [-1, 1] for output frames ``centres``.

        Window frame ``k`` is ``centre + k − target_index``, clamped to ``[lo, hi)`` (edges repeat).
        """
        hi = len(self) if hi is None else hi
        centres = torch.as_tensor(np.asarray(centres), dtype=torch.long, device=self.images.device)
        offs = torch.arange(window, device=centres.device) - target_index
        idx = torch.clamp(centres[:, None] + offs[None, :], lo, hi - 1)  # [B, W]
        img = self.images[idx]  # [B, W, 3, S, S]
        eye = self.eye[idx]  # [B, W, 1, S, S]
        x = torch.cat([img, eye], 2).float() / 127.5 - 1.0
        return x.flatten(1, 2)

    def soft_mask(self, centres: torch.Tensor | np.ndarray, radius: int = 2) -> torch.Tensor:
        """Mesh coverage of frames ``centres`` as ``[B, 1, S, S]`` floats, softened over ``radius`` pixels."""
        centres = torch.as_tensor(np.asarray(centres), dtype=torch.long, device=self.images.device)
        m = self.mask[centres].float()
        k = 2 * radius + 1
        return torch.nn.functional.avg_pool2d(m, k, 1, radius, count_include_pad=False) * m

    def composite(self, centres: torch.Tensor | np.ndarray, reference: torch.Tensor) -> torch.Tensor:
        """The mesh render of frames ``centres`` pasted on ``reference [B, 3, S, S]`` (soft mask), in [-1, 1]."""
        centres_t = torch.as_tensor(np.asarray(centres), dtype=torch.long, device=self.images.device)
        m = self.soft_mask(centres_t)
        render = self.images[centres_t].float() / 127.5 - 1.0
        return m * render + (1 - m) * reference

    def condition(self, centres: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Discriminator condition ``[B, 4, S, S]``: the target frame's render and eye map."""
        centres = torch.as_tensor(np.asarray(centres), dtype=torch.long, device=self.images.device)
        return torch.cat([self.images[centres], self.eye[centres]], 1).float() / 127.5 - 1.0


def to_tensor_images(frames: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """``[T, S, S, 3]`` uint8 → ``[T, 3, S, S]`` uint8 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))).to(device)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., 3, S, S]`` → float in [-1, 1]."""
    return images.float() / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float ``[B, 3, S, S]`` in [-1, 1] → uint8 ``[B, S, S, 3]`` numpy."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def speaker_targets(frames: np.ndarray, box, size: int) -> np.ndarray:
    """Real frames cropped to ``box`` and resized to ``size`` × ``size``."""
    return crop_frames(frames, tuple(box) if box is not None else None, (size, size))


def mesh_renderer(profile, config) -> MeshRenderer:
    """The mesh renderer matching a trained config (same box, size and texture frame)."""
    return MeshRenderer(profile, config.size, box=tuple(config.box) if config.box else None, texture_index=config.texture_index)
