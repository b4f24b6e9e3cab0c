"""Pitch-free speech features (facial.audio2face.audio) and the checkpoint override variable."""
from __future__ import annotations

import numpy as np
import pytest

from facial.audio2face.config import AudioConfig, FacialGANConfig
from facial.types import AudioClip

SR = 16000


def _voiced(f0: float, seconds: float = 1.0) -> AudioClip:
    """An impulse train at ``f0`` through the same two 'formant' resonators: one vowel, two voices."""
    from scipy.signal import lfilter

    n = int(seconds * SR)
    src = np.zeros(n)
    src[:: int(SR / f0)] = 1.0
    y = src
    for freq, bw in ((700.0, 130.0), (1220.0, 70.0)):
        r = np.exp(-np.pi * bw / SR)
        y = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * freq / SR), r * r], y)
    return AudioClip((0.1 * y / np.abs(y).max()).astype(np.float32), SR)


def test_lifter_is_saved_with_the_checkpoint_config_and_defaults_to_plain_logmel():
    from facial.audio.features import LogMelEncoder
    from facial.audio2face.audio import LifteredLogMelEncoder

    plain = FacialGANConfig(audio=AudioConfig(phones=False))
    assert plain.audio.lifter == 0 and type(plain.audio.encoder()) is LogMelEncoder
    cfg = plain.replace(audio={**plain.to_dict()["audio"], "lifter": 20})
    again = FacialGANConfig.from_dict(cfg.to_dict())
    enc = again.audio.encoder()
    assert isinstance(enc, LifteredLogMelEncoder) and enc.lifter == 20 and enc.dim == 80
    feats = enc(_voiced(120.0), 25.0)
    assert feats.windows.shape == (25, enc.window, enc.n_mels) and np.isfinite(feats.windows).all()


def test_liftering_brings_two_voices_of_one_vowel_closer():
    cfg = FacialGANConfig(audio=AudioConfig(phones=False))
    plain = cfg.audio.encoder()
    lift = cfg.replace(audio={**cfg.to_dict()["audio"], "lifter": 12}).audio.encoder()

    def spectrum_profile(enc, clip):  # mean raw (un-normalised over time) log-mel shape of the vowel
        import librosa

        mel = librosa.feature.melspectrogram(y=clip.samples, sr=SR, n_fft=400, hop_length=160, n_mels=80, fmin=55, fmax=7600)
        x = np.log(mel + 1e-6).mean(1)
        if enc is lift:
            from scipy.fft import dct, idct

            c = dct(x, norm="ortho")
            c[lift.lifter:] = 0
            x = idct(c, norm="ortho")
        return (x - x.mean()) / x.std()

    low, high = _voiced(110.0), _voiced(210.0)
    d_plain = np.abs(spectrum_profile(plain, low) - spectrum_profile(plain, high)).mean()
    d_lift = np.abs(spectrum_profile(lift, low) - spectrum_profile(lift, high)).mean()
    assert d_lift < 0.7 * d_plain


def test_checkpoint_override_variable(monkeypatch, tmp_path):
    from facial.audio2face import FacialGAN
    from facial.audio2face.model import CHECKPOINT_ENV
    from facial.hub import CheckpointNotFound

    from a2f_synthetic import tiny_config

    FacialGAN(tiny_config(n_expression=5)).save_pretrained(tmp_path / "ck")
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "ck"))
    assert FacialGAN.from_pretrained().config.n_expression == 5
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "missing"))
    with pytest.raises(CheckpointNotFound):
        FacialGAN.from_pretrained()
