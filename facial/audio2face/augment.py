"""Audio-feature augmentation for training FACIAL-GAN (SpecAugment-style, on normalised log-mel windows)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class AugmentConfig:
    """Audio-feature augmentation for training (SpecAugment-style, on the normalised log-mel windows).

    - ``mel_shift``: roll every window of a sample by up to ± this many mel bins (a crude
      vocal-tract-length change, so that the mapping does not latch onto one voice);
    - ``freq_masks`` × up to ``freq_mask_width`` bins set to 0 (the utterance mean) per sample;
    - ``noise``: std of Gaussian noise added to the features.
    """

    mel_shift: int = 2
    freq_masks: int = 2
    freq_mask_width: int = 8
    noise: float = 0.1


def augment_audio(audio: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Augment a batch of windows ``[B, T, W, D]`` (each sample differently)."""
    b, _, _, d = audio.shape
    out = audio.clone()
    if cfg.mel_shift > 0:
        shifts = torch.randint(-cfg.mel_shift, cfg.mel_shift + 1, (b,), generator=generator)
        for i, k in enumerate(shifts.tolist()):
            if k:
                out[i] = torch.roll(out[i], k, dims=-1)
                if k > 0:
                    out[i, ..., :k] = 0.0
                else:
                    out[i, ..., k:] = 0.0
    for _ in range(cfg.freq_masks):
        widths = torch.randint(0, cfg.freq_mask_width + 1, (b,), generator=generator)
        starts = torch.randint(0, d, (b,), generator=generator)
        for i in range(b):
            out[i, ..., starts[i]:starts[i] + widths[i]] = 0.0
    if cfg.noise > 0:
        out = out + cfg.noise * torch.randn(out.shape, generator=generator)
    return out
