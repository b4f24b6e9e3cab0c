"""Stage (1): speech → per-video-frame audio windows.

:class:`LogMelEncoder` computes a log-mel spectrogram (librosa, 80 bins, 25 ms window, 10 ms hop,
16 kHz), normalises each bin over the utterance (mean 0, std 1 — robust to microphone and
loudness), and cuts one centred window of ``window`` mel steps per video frame: frame ``k``
covers ``[k/fps, (k+1)/fps)`` and its window is centred on ``(k + 0.5)/fps``. This is the
analogue of FACIAL's 16 × 29 DeepSpeech windows (0.32 s of context at the default 32 steps).

Any other encoder can be used if it follows the :class:`AudioEncoder` protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from facial.types import AudioClip, AudioFeatures


@runtime_checkable
class AudioEncoder(Protocol):
    """Turns an :class:`AudioClip` into :class:`AudioFeatures` with exactly ``n_frames`` windows."""

    name: str
    dim: int
    window: int

    def __call__(self, audio: AudioClip, fps: float, n_frames: int | None = None) -> AudioFeatures: ...


@dataclass
class LogMelEncoder:
    sample_rate: int = 16000
    n_mels: int = 80
    hop_ms: float = 10.0
    win_ms: float = 25.0
    window: int = 32
    fmin: float = 55.0
    fmax: float = 7600.0
    name: str = "logmel80"

    @property
    def dim(self) -> int:
        return self.n_mels

    def spectrogram(self, audio: AudioClip) -> np.ndarray:
        """``[S, n_mels]`` normalised log-mel frames at ``hop_ms`` steps."""
        import librosa

        if audio.sample_rate != self.sample_rate:
            samples = librosa.resample(audio.samples, orig_sr=audio.sample_rate, target_sr=self.sample_rate)
        else:
            samples = audio.samples
        hop = int(round(self.sample_rate * self.hop_ms / 1000))
        n_fft = int(round(self.sample_rate * self.win_ms / 1000))
        mel = librosa.feature.melspectrogram(y=samples.astype(np.float32), sr=self.sample_rate, n_fft=n_fft, hop_length=hop,
                                             win_length=n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax, center=True)
        logmel = np.log(mel + 1e-6).T
        mu, sd = logmel.mean(0, keepdims=True), logmel.std(0, keepdims=True)
        return ((logmel - mu) / (sd + 1e-3)).astype(np.float32)

    def __call__(self, audio: AudioClip, fps: float, n_frames: int | None = None) -> AudioFeatures:
        n_frames = n_frames if n_frames is not None else audio.n_frames(fps)
        spec = self.spectrogram(audio)
        steps_per_s = 1000.0 / self.hop_ms
        centres = np.round((np.arange(n_frames) + 0.5) / fps * steps_per_s).astype(int)
        offsets = np.arange(self.window) - self.window // 2
        idx = np.clip(centres[:, None] + offsets[None, :], 0, len(spec) - 1)
        return AudioFeatures(spec[idx], fps, self.name)


def speech_envelope(audio: AudioClip, fps: float, n_frames: int | None = None) -> np.ndarray:
    """RMS energy per video frame ``[T]`` (for sync checks and plots)."""
    n_frames = n_frames if n_frames is not None else audio.n_frames(fps)
    spf = audio.sample_rate / fps
    out = np.zeros(n_frames, dtype=np.float32)
    for k in range(n_frames):
        seg = audio.samples[int(k * spf):int((k + 1) * spf)]
        out[k] = float(np.sqrt(np.mean(seg ** 2))) if len(seg) else 0.0
    return out
