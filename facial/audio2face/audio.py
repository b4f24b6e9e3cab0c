"""Speech features of FACIAL-GAN that depend less on the voice than plain log-mel.

:class:`LifteredLogMelEncoder` — log-mel with the pitch removed: the per-utterance normalised
log-mel frame (:class:`facial.audio.features.LogMelEncoder`) is taken to the cepstrum (DCT over
the mel bins), every coefficient from ``lifter`` up (the fine harmonic ripple of the voice's pitch)
is dropped, the utterance's mean cepstrum (the speaker's average vocal-tract / channel colour) is
subtracted, and the result is brought back to ``n_mels`` smoothed bins and z-scored per bin again.
The windows keep the log-mel shape, so the network is unchanged; a checkpoint records the choice
in ``config.json`` (``audio.lifter``; 0 = plain log-mel).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facial.audio.features import LogMelEncoder
from facial.types import AudioClip


@dataclass
class LifteredLogMelEncoder(LogMelEncoder):
    lifter: int = 20
    name: str = "logmel80-lifter20"

    def spectrogram(self, audio: AudioClip) -> np.ndarray:
        from scipy.fft import dct, idct

        spec = super().spectrogram(audio).astype(np.float64)
        ceps = dct(spec, type=2, norm="ortho", axis=1)
        ceps[:, int(self.lifter):] = 0.0
        ceps -= ceps.mean(0, keepdims=True)  # cepstral mean normalisation (per utterance)
        smooth = idct(ceps, type=2, norm="ortho", axis=1)
        return ((smooth - smooth.mean(0, keepdims=True)) / (smooth.std(0, keepdims=True) + 1e-3)).astype(np.float32)
