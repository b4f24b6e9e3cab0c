"""The lip-sync expert network: a SyncNet-style two-stream embedding of 0.2 s of lips and speech.

```
visual: lips [B, W, 40, 3] ─flatten─► MLP ─┐                        (visual_input = "landmarks")
        crops [B, W, S, S] ─Conv2d×4 (frames as channels)─► FC ─┤   (visual_input = "pixels")
                                                                ├─► L2-normalised embedding [B, E]
audio:  log-mel [B, W·4, 80] ─Conv1d over time (stride 2)─► FC ─┘
distance(v, a) = 1 − cos(v, a)   ∈ [0, 2]   (in sync: small)
```
Saved as ``config.json`` + ``model.safetensors`` (:meth:`SyncExpert.save_pretrained`, never pickles);
:meth:`SyncExpert.from_pretrained` with no argument loads the checkpoint shipped in
``facial/assets/sync_expert``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from facial.hub.checkpoint import TorchCheckpointMixin
from facial import hashing
from facial.sync_expert.config import SyncExpertConfig

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_TYPE = "facial-sync-expert"
N_LIP_POINTS = 40


def default_checkpoint_dir() -> Path:
    """The expert shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "assets" / "sync_expert"


class AudioStream(nn.Module):
    """``[B, L, n_mels]`` log-mel window → ``[B, E]`` (not normalised)."""

    def __init__(self, cfg: SyncExpertConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, length = cfg.n_mels, cfg.mel_window
        for i, c in enumerate(cfg.audio_channels):
            stride = 1 if i == 0 else 2
            layers += [nn.Conv1d(c_in, c, 3, stride, 1), nn.BatchNorm1d(c), nn.ReLU()]
            c_in = c
            length = (length + 2 - 3) // stride + 1
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(c_in * length, cfg.hidden), nn.ReLU(),
                                nn.Linear(cfg.hidden, cfg.embed_dim))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(mel.transpose(1, 2)))


class LipStream(nn.Module):
    """``[B, W, 40, 3]`` lip displacements (network units) → ``[B, E]``."""

    def __init__(self, cfg: SyncExpertConfig):
        super().__init__()
        d = cfg.window * N_LIP_POINTS * 3
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(d, cfg.hidden), nn.BatchNorm1d(cfg.hidden), nn.ReLU(),
                                 nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, cfg.hidden), nn.BatchNorm1d(cfg.hidden),
                                 nn.ReLU(), nn.Linear(cfg.hidden, cfg.embed_dim))

    def forward(self, lips: torch.Tensor) -> torch.Tensor:
        return self.net(lips)


class PixelStream(nn.Module):
    """``[B, W, S, S]`` grayscale mouth crops (about [-1, 1]) → ``[B, E]``; the frames are channels."""

    def __init__(self, cfg: SyncExpertConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, side = cfg.window, cfg.crop_size
        for c in cfg.pixel_channels:
            layers += [nn.Conv2d(c_in, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, side = c, side // 2
        if side < 1:
            raise ValueError(f"crop_size {cfg.crop_size} too small for {len(cfg.pixel_channels)} pooling stages")
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(c_in * side * side, cfg.hidden), nn.ReLU(),
                                nn.Linear(cfg.hidden, cfg.embed_dim))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(crops))


class SyncExpert(TorchCheckpointMixin, nn.Module):
    """Two-stream lip-sync expert; ``distance(visual, audio) = 1 − cos`` of the embeddings."""

    model_type = MODEL_TYPE
    config_class = SyncExpertConfig
    checkpoint_what = "sync expert"
    train_hint = "train one with `facial train sync-expert --data MANIFEST.csv -o facial/assets/sync_expert`"

    def __init__(self, config: SyncExpertConfig | None = None):
        super().__init__()
        self.config = config or SyncExpertConfig()
        cfg = self.config
        self.visual = LipStream(cfg) if cfg.visual_input == "landmarks" else PixelStream(cfg)
        self.audio = AudioStream(cfg)
        self.checkpoint_id: str = ""

    def embed_visual(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, W, 40, 3]`` or ``[B, W, S, S]`` → unit-norm ``[B, E]``."""
        return F.normalize(self.visual(x), dim=-1)

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, W·mel_per_frame, n_mels]`` → unit-norm ``[B, E]``."""
        return F.normalize(self.audio(mel), dim=-1)

    @staticmethod
    def distance(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Cosine distance ``1 − cos`` of unit-norm embeddings (broadcasting over leading dims)."""
        return 1.0 - (v * a).sum(-1)

    def forward(self, visual: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """Distance of paired windows ``[B]``."""
        return self.distance(self.embed_visual(visual), self.embed_audio(mel))

    # ------------------------------------------------------------------ checkpoints
    @classmethod
    def packaged_dir(cls) -> Path:
        """The checkpoint shipped in the package (looked up at call time)."""
        return default_checkpoint_dir()

    def weights_id(self) -> str:
        """Content id of the current weights (the safetensors file's hash once saved or loaded)."""
        if self.checkpoint_id:
            return self.checkpoint_id
        return hashing.sha256_arrays(((k, v.detach().cpu().numpy()) for k, v in sorted(self.state_dict().items())), length=12)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
