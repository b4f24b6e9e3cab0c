"""Augmentation for training FACIAL-GAN: SpecAugment-style on the normalised feature windows, and new voices of a clip's speech."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


def augment_audio(audio: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator, spectral: int | None = None) -> torch.Tensor:
    """Augment a batch of windows ``[B, T, W, D]`` (each sample differently).

    Shifts and masks touch the first ``spectral`` channels only (the log-mel bins; default all D), so
    appended non-spectral channels (phones) are not rolled into the spectrum; noise touches all.
    """
    b, _, _, d_all = audio.shape
    d = d_all if spectral is None else min(int(spectral), d_all)
    out = audio.clone()
    if cfg.mel_shift > 0:
        shifts = torch.randint(-cfg.mel_shift, cfg.mel_shift + 1, (b,), generator=generator)
        for i, k in enumerate(shifts.tolist()):
            if k:
                out[i, ..., :d] = torch.roll(out[i, ..., :d], k, dims=-1)
                if k > 0:
                    out[i, ..., :k] = 0.0
                else:
                    out[i, ..., d + k:d] = 0.0
    for _ in range(cfg.freq_masks):
        widths = torch.randint(0, cfg.freq_mask_width + 1, (b,), generator=generator)
        starts = torch.randint(0, d, (b,), generator=generator)
        for i in range(b):
            out[i, ..., starts[i]:min(starts[i] + widths[i], d)] = 0.0
    if cfg.noise > 0:
        out = out + cfg.noise * torch.randn(out.shape, generator=generator)
    return out


# --------------------------------------------------------------------------- new voices from the same footage
@dataclass
class VoiceAugment:
    """Extra copies of every training clip in other "voices" (issue #13: make the footage go further).

    Each copy plays the clip's speech at a random speed ``s`` in ``[1 - speed, 1 + speed]`` (tape-speed
    resampling: tempo, pitch and formants move together, the "speed perturbation" of speech recognition),
    then shifts its pitch by up to ± ``semitones`` (phase vocoder; formants move with it) and adds white
    noise at an SNR drawn from ``snr_db``. The face tracks are resampled onto the new time base, so lips
    and speech stay paired (:func:`facial.audio2face.data.retime`).
    """

    variants: int = 2
    speed: float = 0.1
    semitones: float = 2.0
    snr_db: tuple[float, float] = (15.0, 35.0)


def voice_variant(samples: np.ndarray, sample_rate: int, cfg: VoiceAugment, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One new voice of ``samples`` → ``(samples, speed)``; the result lasts ``len(samples) / speed`` samples."""
    import librosa

    y = np.asarray(samples, np.float32)
    speed = float(rng.uniform(1.0 - cfg.speed, 1.0 + cfg.speed)) if cfg.speed > 0 else 1.0
    if speed != 1.0:
        y = librosa.resample(y, orig_sr=sample_rate * speed, target_sr=sample_rate, res_type="soxr_hq")
    if cfg.semitones > 0:
        y = librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=float(rng.uniform(-cfg.semitones, cfg.semitones)))
    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) or 1e-4
    snr = rng.uniform(*cfg.snr_db)
    y = y + rng.normal(0.0, rms * 10 ** (-snr / 20), size=y.shape)
    return np.clip(y, -1.0, 1.0).astype(np.float32), speed
