"""FACIAL-GAN networks: the generator :class:`FacialGAN` and the sequence :class:`Discriminator`.

Shapes (B batch, T frames of one group, W×D audio window per frame, P = 7 + K parameters):

```
audio [B, T, W, D] ──centre steps──► [B, T, s·D] ─Conv1d×n─► 1-D U-Net ─┐
first [B, P] ────────────── repeated over T ─────────────────────────────┴► Conv1d ► context [B, T, 32]
audio [B·T, W, D] ─► stride-2 Conv1d stack ─► FC ─► tanh ─► frame [B·T, 32]
[frame | context | style] ─► MLP ─► params [B, T, P]   (normalised: see below)
```

The network works in normalised parameter space: pose z-scored per clip (per speaker profile),
blink and expression z-scored with training-set statistics (buffers ``param_mean``/``param_std``).
:meth:`FacialGAN.normalise` / :meth:`FacialGAN.denormalise` convert. Other buffers:
``mouth_basis [K, M, 3]`` (the expression basis at the mouth points, for the mouth-landmark loss),
``mouth_scale`` (RMS mouth displacement of the training set), ``pose_gain [6]`` (per-axis gain
that restores the speaker's pose variance, calibrated after training), ``typical_pose_rel_std [6]``
(median per-clip pose std, translations relative to scale, used for profiles too short to have
their own statistics).
"""
from __future__ import annotations

import copy
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from facial.hub.checkpoint import TorchCheckpointMixin
from facial import hashing
from facial import layout as layout_mod
from facial.audio2face.config import FacialGANConfig

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_TYPE = "facial-gan"
#: Environment variable naming the checkpoint ``FacialGAN.from_pretrained(None)`` loads instead of the packaged one.
CHECKPOINT_ENV = "FACIAL_AUDIO2FACE"
N_MOUTH_POINTS = 40  # len(face_model.MOUTH); checked against the basis when it is set


def default_checkpoint_dir() -> Path:
    """The generic pretrained checkpoint shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "assets" / "audio2face"


def _groups(channels: int, wanted: int) -> int:
    return math.gcd(channels, wanted) or 1


def _norm(channels: int, groups: int) -> nn.Module:
    return nn.GroupNorm(_groups(channels, groups), channels)


class UNet1d(nn.Module):
    """1-D U-Net over time (pix2pix style): stride-2 Conv1d down, ConvTranspose1d up, skip joins.

    Any length works: the input is padded (replicate) to a multiple of ``2**levels`` and cropped back.
    """

    def __init__(self, channels: int, base: int, levels: int, max_mult: int, groups: int, slope: float):
        super().__init__()
        self.levels = levels
        widths = [base * min(2 ** i, max_mult) for i in range(levels)]
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        c_in = channels
        for i, w in enumerate(widths):
            self.down.append(nn.Sequential(nn.Conv1d(c_in, w, 4, 2, 1), _norm(w, groups) if i > 0 else nn.Identity(),
                                           nn.LeakyReLU(slope)))
            c_in = w
        for i in reversed(range(levels)):
            c_from = widths[i] if i == levels - 1 else widths[i] * 2
            c_to = widths[i - 1] if i > 0 else channels
            last = i == 0
            self.up.append(nn.Sequential(nn.ConvTranspose1d(c_from, c_to, 4, 2, 1),
                                         nn.Tanh() if last else nn.Sequential(_norm(c_to, groups), nn.ReLU())))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[-1]
        multiple = 2 ** self.levels
        padded = int(math.ceil(t / multiple) * multiple)
        if padded != t:
            x = F.pad(x, (0, padded - t), mode="replicate")
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips.pop()
        for layer in self.up:
            x = layer(x)
            if skips:
                x = torch.cat([x, skips.pop()], dim=1)
        return x[..., :t]


class FrameEncoder(nn.Module):
    """One frame's ``[W, D]`` audio window → ``frame_dim`` features (stride-2 Conv1d over the window's steps)."""

    def __init__(self, cfg: FacialGANConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, length = cfg.audio.dim, cfg.audio.window
        pad = cfg.frame_kernel // 2
        for c in cfg.frame_channels:
            layers += [nn.Conv1d(c_in, c, cfg.frame_kernel, 2, pad), _norm(c, cfg.norm_groups), nn.LeakyReLU(cfg.negative_slope)]
            c_in = c
            length = (length + 2 * pad - cfg.frame_kernel) // 2 + 1
        if length < 1:
            raise ValueError(f"audio window {cfg.audio.window} too short for {len(cfg.frame_channels)} stride-2 layers")
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * length, cfg.frame_dim)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:  # [N, W, D] → [N, frame_dim]
        x = self.convs(windows.transpose(1, 2))
        return torch.tanh(self.fc(x.flatten(1)))


class ContextEncoder(nn.Module):
    """The group's audio (+ first frame) → a contextual latent per frame."""

    def __init__(self, cfg: FacialGANConfig):
        super().__init__()
        self.steps = cfg.context_steps
        self.window = cfg.audio.window
        c = cfg.context_channels
        layers: list[nn.Module] = []
        c_in = cfg.context_steps * cfg.audio.dim
        for _ in range(cfg.context_layers):
            layers += [nn.Conv1d(c_in, c, 3, 1, 1), _norm(c, cfg.norm_groups), nn.LeakyReLU(cfg.negative_slope)]
            c_in = c
        self.encoder = nn.Sequential(*layers)
        self.unet = UNet1d(c, cfg.unet_channels, cfg.unet_levels, cfg.unet_max_mult, cfg.norm_groups, cfg.negative_slope)
        self.join = nn.Sequential(
            nn.Conv1d(c + cfg.param_dim, c, 3, 1, 1), _norm(c, cfg.norm_groups), nn.LeakyReLU(cfg.negative_slope),
            nn.Conv1d(c, cfg.context_dim, 3, 1, 1), nn.Tanh())

    def forward(self, audio: torch.Tensor, first: torch.Tensor) -> torch.Tensor:  # → [B, T, context_dim]
        b, t, w, d = audio.shape
        start = (w - self.steps) // 2
        centre = audio[:, :, start:start + self.steps, :].reshape(b, t, self.steps * d).transpose(1, 2)
        x = self.unet(self.encoder(centre))
        x = torch.cat([x, first[:, :, None].expand(b, first.shape[1], t)], dim=1)
        return self.join(x).transpose(1, 2)


class FacialGAN(TorchCheckpointMixin, nn.Module):
    """FACIAL-GAN generator: audio windows of a group of frames + its first frame → normalised FaceParams.

    Use :func:`facial.audio2face.animate` for audio → :class:`~facial.types.FaceParams`; ``forward``
    is the raw network on normalised tensors.
    """

    model_type = MODEL_TYPE
    config_class = FacialGANConfig
    checkpoint_what = "FACIAL-GAN"
    train_hint = "train one with `facial train audio2face --data DATA -o facial/assets/audio2face`"

    def __init__(self, config: FacialGANConfig | None = None):
        super().__init__()
        self.config = config or FacialGANConfig()
        cfg = self.config
        p = cfg.param_dim
        self.context = ContextEncoder(cfg)
        self.frame = FrameEncoder(cfg)
        self.style = nn.Embedding(max(1, cfg.n_styles), cfg.style_dim)
        nn.init.zeros_(self.style.weight)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Sequential(nn.Linear(cfg.frame_dim + cfg.context_dim + cfg.style_dim, cfg.head_hidden),
                                  nn.LeakyReLU(cfg.negative_slope), nn.Linear(cfg.head_hidden, p))
        self.register_buffer("param_mean", torch.zeros(p))
        self.register_buffer("param_std", torch.ones(p))
        self.register_buffer("mouth_basis", torch.zeros(cfg.n_expression, N_MOUTH_POINTS, 3))
        self.register_buffer("mouth_scale", torch.ones(()))
        self.register_buffer("pose_gain", torch.ones(layout_mod.POSE_DIM))
        self.register_buffer("typical_pose_rel_std", torch.full((layout_mod.POSE_DIM,), 0.02))
        self.checkpoint_id: str = ""

    # ------------------------------------------------------------------ network
    def forward(self, audio: torch.Tensor, first: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """``audio [B, T, W, D]``, ``first [B, P]`` (normalised), ``style [B]`` (long) → ``[B, T, P]`` normalised."""
        if audio.ndim != 4:
            raise ValueError(f"audio must be [B, T, W, D], got {tuple(audio.shape)}")
        b, t, w, d = audio.shape
        cfg = self.config
        if (w, d) != (cfg.audio.window, cfg.audio.dim):
            raise ValueError(f"audio windows are {w}×{d}, this model expects {cfg.audio.window}×{cfg.audio.dim}")
        if first.shape != (b, cfg.param_dim):
            raise ValueError(f"first must be [B, {cfg.param_dim}], got {tuple(first.shape)}")
        if style is None:
            style = torch.zeros(b, dtype=torch.long, device=audio.device)
        ctx = self.dropout(self.context(audio, first))  # [B, T, C]
        frame = self.dropout(self.frame(audio.reshape(b * t, w, d)).reshape(b, t, -1))
        sty = self.style(style)[:, None, :].expand(b, t, -1)
        return self.head(torch.cat([frame, ctx, sty], dim=-1))

    # ------------------------------------------------------------------ normalisation
    @property
    def layout(self) -> layout_mod.ParamLayout:
        return self.config.layout

    def normalise(self, params: np.ndarray, pose_mean: np.ndarray, pose_std: np.ndarray) -> np.ndarray:
        """Raw ``[T, P]`` layout array → network space (pose z-scored with this clip's statistics)."""
        mean, std = self._stats(pose_mean, pose_std)
        return ((np.asarray(params, np.float32) - mean) / std).astype(np.float32)

    def denormalise(self, z: np.ndarray, pose_mean: np.ndarray, pose_std: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalise` (pose de-normalised with the target speaker's statistics)."""
        mean, std = self._stats(pose_mean, pose_std)
        return (np.asarray(z, np.float32) * std + mean).astype(np.float32)

    def _stats(self, pose_mean: np.ndarray, pose_std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = self.param_mean.detach().cpu().numpy().copy()
        std = self.param_std.detach().cpu().numpy().copy()
        lay = self.layout
        mean[lay.pose] = np.asarray(pose_mean, np.float32)
        std[lay.pose] = np.asarray(pose_std, np.float32)
        return mean, std

    def set_statistics(self, param_mean: np.ndarray, param_std: np.ndarray, mouth_basis: np.ndarray, mouth_scale: float,
                       typical_pose_rel_std: np.ndarray | None = None) -> None:
        """Store the training-set normalisation (pose entries are ignored: pose is normalised per clip)."""
        lay = self.layout
        mean = np.asarray(param_mean, np.float32).copy()
        std = np.asarray(param_std, np.float32).copy()
        mean[lay.pose], std[lay.pose] = 0.0, 1.0
        if mouth_basis.shape != tuple(self.mouth_basis.shape):
            raise ValueError(f"mouth_basis must be {tuple(self.mouth_basis.shape)}, got {mouth_basis.shape}")
        with torch.no_grad():
            self.param_mean.copy_(torch.from_numpy(mean))
            self.param_std.copy_(torch.from_numpy(np.maximum(std, 1e-6)))
            self.mouth_basis.copy_(torch.from_numpy(np.asarray(mouth_basis, np.float32)))
            self.mouth_scale.fill_(float(max(mouth_scale, 1e-8)))
            if typical_pose_rel_std is not None:
                self.typical_pose_rel_std.copy_(torch.from_numpy(np.asarray(typical_pose_rel_std, np.float32)))

    # ------------------------------------------------------------------ checkpoints
    @classmethod
    def packaged_dir(cls) -> Path:
        """The checkpoint shipped in the package (looked up at call time)."""
        return default_checkpoint_dir()

    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path | None = None, revision: str | None = None, *, map_location: Any = "cpu"):
        """Load from a local folder or a Hugging Face repo id, in eval mode. ``None`` → the folder or
        repo id in the environment variable :data:`CHECKPOINT_ENV` when set (e.g. a speaker-disjoint
        fold checkpoint for ``facial-eval run``, benchmarks/speaker_disjoint.py), else the packaged one."""
        if path_or_repo is None and os.environ.get(CHECKPOINT_ENV):
            path_or_repo = os.environ[CHECKPOINT_ENV]
            log.info("FACIAL-GAN checkpoint from $%s: %s", CHECKPOINT_ENV, path_or_repo)
        return super().from_pretrained(path_or_repo, revision, map_location=map_location)

    def copy(self) -> "FacialGAN":
        """Deep copy (weights, buffers, config and checkpoint id)."""
        out = copy.deepcopy(self)
        out.config = copy.deepcopy(self.config)
        return out

    def weights_id(self) -> str:
        """Content id of the current weights (stable across save/load)."""
        if self.checkpoint_id:
            return self.checkpoint_id
        return hashing.sha256_arrays(((k, v.detach().cpu().numpy()) for k, v in sorted(self.state_dict().items())), length=12)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class Discriminator(nn.Module):
    """PatchGAN over a parameter sequence stacked along time with its temporal differences (LSGAN).

    Input ``[B, T, P]`` normalised parameters → ``[B, 1, 2T−1, P]`` image → patch scores.
    """

    def __init__(self, config: FacialGANConfig):
        super().__init__()
        c = config.disc_channels
        slope = config.negative_slope
        layers: list[nn.Module] = [nn.Conv2d(1, c, 3, 2, 1), nn.LeakyReLU(slope)]
        c_in = c
        for i in range(1, config.disc_layers):
            c_out = c * min(2 ** i, 8)
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), _norm(c_out, config.norm_groups), nn.LeakyReLU(slope)]
            c_in = c_out
        layers += [nn.Conv2d(c_in, c_in, 3, 1, 1), _norm(c_in, config.norm_groups), nn.LeakyReLU(slope),
                   nn.Conv2d(c_in, 1, 3, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        x = torch.cat([params, params[:, 1:] - params[:, :-1]], dim=1)[:, None]
        return self.net(x)
