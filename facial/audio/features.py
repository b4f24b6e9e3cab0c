"""Stage (1): speech → per-video-frame audio windows.

:class:`LogMelEncoder` computes a log-mel spectrogram (librosa's definition, in numpy; 80 bins, 25 ms window, 10 ms hop,
16 kHz), normalises each bin over the utterance (mean 0, std 1 — robust to microphone and
loudness), and cuts one centred window of ``window`` mel steps per video frame: frame ``k``
covers ``[k/fps, (k+1)/fps)`` and its window is centred on ``(k + 0.5)/fps``. This is the
analogue of FACIAL's 16 × 29 DeepSpeech windows (0.32 s of context at the default 32 steps).

Any other encoder can be used if it follows the :class:`AudioEncoder` protocol.
"""
from __future__ import annotations

import functools
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
        if audio.sample_rate != self.sample_rate:
            import librosa

            samples = librosa.resample(audio.samples, orig_sr=audio.sample_rate, target_sr=self.sample_rate)
        else:
            samples = audio.samples
        hop = int(round(self.sample_rate * self.hop_ms / 1000))
        n_fft = int(round(self.sample_rate * self.win_ms / 1000))
        power = power_spectrogram(samples.astype(np.float32), n_fft, hop)
        mel = mel_filterbank(self.sample_rate, n_fft, self.n_mels, self.fmin, self.fmax) @ power
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


def power_spectrogram(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``[n_fft // 2 + 1, S]`` power spectrogram: periodic Hann window of ``n_fft``, frames centred on
    multiples of ``hop`` (zero padding at both ends).

    The same numbers as ``abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True)) ** 2``
    (tested), without importing librosa's feature modules (seconds at start-up).
    """
    y = np.pad(np.asarray(samples, dtype=np.float32), n_fft // 2)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    spec = np.fft.rfft(frames * window, axis=1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32).T


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """``[n_mels, n_fft // 2 + 1]`` float32 triangular mel filters, Slaney's mel scale and area
    normalisation: the same matrix as ``librosa.filters.mel(sr=…, n_fft=…, n_mels=…, fmin=…, fmax=…)`` (tested)."""
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        lin = f / (200.0 / 3)
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), lin)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3) * m)

    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def frame_envelope(samples: np.ndarray, sample_rate: int, n_frames: int, fps: float = 25.0) -> np.ndarray:
    """RMS amplitude of the speech in each video frame, ``[n_frames]`` float64 (zero-padded past the end).

    The one speech envelope of the project (drivers, tests and the ``av_sync`` metric): frame ``t``
    covers the samples ``[round(t·sr/fps), round((t+1)·sr/fps))`` — at 25 fps and 16 kHz, 640
    samples, the grid SyncNet uses.
    """
    hop = sample_rate / fps
    s = np.asarray(samples, dtype=np.float64).ravel()
    edges = np.round(np.arange(n_frames + 1) * hop).astype(int)
    need = edges[-1]
    if len(s) < need:
        s = np.pad(s, (0, need - len(s)))
    sq = np.concatenate([[0.0], np.cumsum(s[:need] ** 2)])
    counts = np.maximum(np.diff(edges), 1)
    return np.sqrt((sq[edges[1:]] - sq[edges[:-1]]) / counts)


def speech_envelope(audio: AudioClip, fps: float, n_frames: int | None = None) -> np.ndarray:
    """:func:`frame_envelope` of an :class:`AudioClip` as float32 ``[T]`` (for sync checks and plots)."""
    n_frames = n_frames if n_frames is not None else audio.n_frames(fps)
    return frame_envelope(audio.samples, audio.sample_rate, n_frames, fps).astype(np.float32)
