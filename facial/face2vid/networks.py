"""Rendering-to-Video networks: a U-Net generator and a multi-scale PatchGAN discriminator.

The generator maps a temporal window of mesh renders (RGB + eye attention map per frame, FACIAL's
10-frame window with the target as the 7th) plus a fixed reference frame of the speaker to the
photo-real target frame. The original uses pix2pixHD's global + local generator; a U-Net with
skip connections (pix2pix) gives the same receptive field with fewer parameters and trains
faster on one speaker. The discriminator is pix2pix's PatchGAN on the conditioning render plus
the image, applied at ``n_scales`` resolutions; it also returns its intermediate features for
the feature-matching loss.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class Face2VidConfig:
    """Sizes and training settings of the neural renderer (saved as config.json).

    ``size`` is the square output resolution; ``window`` the number of consecutive renders fed
    to the generator and ``target_index`` the position of the output frame inside it (FACIAL:
    10 and 6, i.e. 6 past and 3 future frames). ``box`` (set by training) is the square region of
    the speaker's frame the renderer covers.

    Two additions to the paper that make short training runs useful (both can be switched off):
    ``compose`` — the generator predicts a residual over the target frame's mesh render pasted
    (soft mask) on the reference frame, so lips and pose move from step 0; ``face_weight`` —
    the L1 loss counts pixels covered by the mesh ``1 + face_weight`` times.
    """

    size: int = 256
    window: int = 10
    target_index: int = 6
    ngf: int = 32
    n_down: int = 6
    max_channels_mult: int = 8
    ndf: int = 32
    d_layers: int = 3
    d_scales: int = 2
    use_reference: bool = True
    compose: bool = True
    face_weight: float = 2.0
    lambda_l1: float = 50.0
    lambda_gan: float = 1.0
    lambda_fm: float = 2.0
    lambda_perceptual: float = 10.0
    lr: float = 2e-4
    lr_decay_start: float = 0.6  # fraction of the budget after which the lr decays linearly to 0
    beta1: float = 0.5
    batch_size: int = 4
    holdout: float = 0.1
    eval_frames: int = 48
    box: list[int] | None = None
    texture_index: int | None = None
    speaker_fps: float = 25.0
    extra: dict = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        """Generator input channels: 4 per window frame (RGB render + eye map) + 3 for the reference."""
        return self.window * 4 + (3 if self.use_reference else 0)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (config.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Face2VidConfig":
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def preset(cls, size: int = 256, **overrides) -> "Face2VidConfig":
        """Defaults per output size: 512 (paper resolution, GPU), 256 (GPU or patient CPU), ≤128 (CPU, tests)."""
        if size >= 512:
            base = dict(size=size, ngf=32, n_down=7, ndf=32, d_scales=3, batch_size=4)
        elif size >= 256:
            base = dict(size=size, ngf=32, n_down=6, ndf=32, d_scales=2, batch_size=4)
        elif size >= 128:
            base = dict(size=size, ngf=16, n_down=5, ndf=16, d_scales=2, batch_size=4)
        else:
            base = dict(size=size, ngf=8, n_down=4, ndf=8, d_scales=1, d_layers=2, batch_size=2)
        base.update(overrides)
        return cls(**base)


def _norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=True)


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, norm: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)
        self.norm = _norm(cout) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.norm1 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = _norm(cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = torch.cat([x, skip], 1)
        x = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(x)))


class UNetGenerator(nn.Module):
    """U-Net: ``n_down`` stride-2 encoders, bilinear-upsampling decoders with skips, tanh RGB output.

    With a ``base`` image (the reference frame, or the mesh render composited on it, see
    :class:`Face2VidConfig`) the output is ``base + residual`` and the last layer starts at zero,
    so training starts from a sensible image and converges much faster on a single speaker.
    """

    def __init__(self, config: Face2VidConfig):
        super().__init__()
        self.config = config
        c = config.ngf
        chans = [min(c * 2 ** i, c * config.max_channels_mult) for i in range(config.n_down + 1)]
        self.stem = nn.Sequential(nn.Conv2d(config.in_channels, chans[0], 3, 1, 1), nn.LeakyReLU(0.2))
        self.downs = nn.ModuleList(_Down(chans[i], chans[i + 1], norm=i < config.n_down - 1) for i in range(config.n_down))
        self.ups = nn.ModuleList(_Up(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(config.n_down)))
        self.head = nn.Conv2d(chans[0], 3, 3, 1, 1)
        if config.use_reference or config.compose:  # start as the base image: sensible from step 0
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """``x [B, in_channels, S, S]`` in [-1, 1] (+ ``base [B, 3, S, S]``) → ``[B, 3, S, S]`` in [-1, 1]."""
        h = self.stem(x)
        skips = [h]
        for down in self.downs:
            h = down(h)
            skips.append(h)
        skips.pop()
        for up in self.ups:
            h = up(h, skips.pop())
        out = self.head(h)
        if base is not None:
            return torch.clamp(base + out, -1.0, 1.0)
        return torch.tanh(out)


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN (``d_layers`` stride-2 convs) returning every layer's activation."""

    def __init__(self, in_channels: int, ndf: int, n_layers: int):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2))]
        c = ndf
        for i in range(1, n_layers):
            c2 = min(c * 2, ndf * 8)
            layers.append(nn.Sequential(nn.Conv2d(c, c2, 4, 2, 1, bias=False), _norm(c2), nn.LeakyReLU(0.2)))
            c = c2
        c2 = min(c * 2, ndf * 8)
        layers.append(nn.Sequential(nn.Conv2d(c, c2, 4, 1, 1, bias=False), _norm(c2), nn.LeakyReLU(0.2)))
        layers.append(nn.Conv2d(c2, 1, 4, 1, 1))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


class MultiScaleDiscriminator(nn.Module):
    """``d_scales`` PatchGANs on the input downsampled by 1, 2, 4, …; input = condition (4) + image (3)."""

    def __init__(self, config: Face2VidConfig):
        super().__init__()
        self.nets = nn.ModuleList(PatchDiscriminator(7, config.ndf, config.d_layers) for _ in range(config.d_scales))

    def forward(self, cond: torch.Tensor, image: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([cond, image], 1)
        out = []
        for i, net in enumerate(self.nets):
            if i:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            out.append(net(x))
        return out


def lsgan_loss(outputs: list[list[torch.Tensor]], real: bool) -> torch.Tensor:
    """Least-squares GAN loss over the final map of every scale."""
    target = 1.0 if real else 0.0
    return sum(F.mse_loss(o[-1].float(), torch.full_like(o[-1].float(), target)) for o in outputs) / len(outputs)


def feature_matching_loss(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between discriminator features of fake and real (pix2pixHD), averaged over layers and scales."""
    total, n = 0.0, 0
    for f_scale, r_scale in zip(fake, real):
        for f, r in zip(f_scale[:-1], r_scale[:-1]):
            total = total + F.l1_loss(f.float(), r.detach().float())
            n += 1
    return total / max(n, 1)


class VGGPerceptual(nn.Module):
    """VGG19 feature loss; built only from a local torchvision weight file (never downloaded)."""

    LAYERS = (3, 8, 17, 26, 35)
    WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)

    def __init__(self, weights_path: str):
        super().__init__()
        from torchvision.models import vgg19

        net = vgg19()
        net.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        self.features = net.features[: max(self.LAYERS) + 1].eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        x = ((fake + 1) / 2 - self.mean) / self.std
        y = ((real + 1) / 2 - self.mean) / self.std
        loss = 0.0
        for i, layer in enumerate(self.features):
            x, y = layer(x), layer(y)
            if i in self.LAYERS:
                loss = loss + self.WEIGHTS[self.LAYERS.index(i)] * F.l1_loss(x, y.detach())
        return loss
