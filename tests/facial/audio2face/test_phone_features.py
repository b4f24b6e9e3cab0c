"""Phone channels of FACIAL-GAN's speech features (facial.audio2face.audio): pocketsphinx's phone
recogniser on synthetic speech with known vowels, the soft posteriors, the config round trip and the
augmentation that must leave the phone channels alone."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from facial.audio2face.config import FacialGANConfig
from facial.types import AudioClip

pytest.importorskip("pocketsphinx", reason="the phone features need pocketsphinx (requirements.txt)")


def _speech(text: str, voice: str, tmp_path) -> AudioClip:
    from facial import media
    from facial.examples import synthesize_speech

    path = synthesize_speech(text, tmp_path / f"{voice}_{abs(hash(text))}.wav", voice=voice, wpm=110)
    clip = media.load_audio(path)
    if clip.sample_rate != 16000:
        import librosa

        clip = AudioClip(librosa.resample(clip.samples, orig_sr=clip.sample_rate, target_sr=16000).astype(np.float32), 16000)
    return clip


def _share(labels: np.ndarray, phones: set[str]) -> float:
    from facial.audio2face.audio import PHONES

    speech = labels[labels != 0]
    return float(np.isin(speech, [PHONES.index(p) for p in phones]).mean()) if len(speech) else 0.0


@pytest.mark.parametrize("voice", ["en-us+f3", "en-us+m3"])
def test_recogniser_hears_front_and_rounded_vowels_in_two_voices(voice, tmp_path):
    from facial.audio2face.audio import recognise_phones

    front = recognise_phones(_speech("see sea seed", voice, tmp_path).samples)
    rounded = recognise_phones(_speech("oh no, go slow", voice, tmp_path).samples)
    assert (front == 0).any() and (front != 0).any()  # silence around the words, phones inside
    iy, ow = {"IY", "IH", "EY"}, {"OW", "UW", "UH", "AO"}
    assert _share(front, iy) > 0.3 > _share(front, ow)
    assert _share(rounded, ow) > 0.3 > _share(rounded, iy)


def test_posteriors_are_soft_one_hot_rows_on_the_log_mel_grid():
    from facial.audio2face.audio import PHONES, phone_posteriors

    labels = np.array([0] * 10 + [5] * 20 + [0] * 10)
    post = phone_posteriors(labels, 45, sigma=1.5, shift=1)
    assert post.shape == (45, len(PHONES))
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-5)
    assert post[21].argmax() == 5 and post[21, 5] > 0.99  # inside the segment (shifted by one step)
    assert post[10].argmax() == 0 and 0.1 < post[11, 5] < 0.9  # a soft boundary
    assert post[40:].argmax(1).tolist() == [0] * 5  # padded with silence
    hard = phone_posteriors(labels, 30, sigma=0.0, shift=0)
    assert hard.shape == (30, len(PHONES)) and set(np.unique(hard)) == {0.0, 1.0}


def test_phones_option_round_trips_and_widens_the_network_input(tmp_path):
    from facial.audio2face import FacialGAN
    from facial.audio2face.audio import PHONES, PhoneLogMelEncoder

    base = FacialGANConfig(unet_levels=2, unet_channels=8, context_channels=16, frame_channels=(8, 8), seq_len=32)
    assert base.audio.phones  # the default for new checkpoints
    old = base.to_dict()
    del old["audio"]["phones"]  # a config.json from before the option: plain log-mel
    assert not FacialGANConfig.from_dict(old).audio.phones and FacialGANConfig.from_dict(old).audio.dim == 80
    cfg = FacialGANConfig.from_dict(base.to_dict())
    enc = cfg.audio.encoder()
    assert isinstance(enc, PhoneLogMelEncoder) and enc.dim == cfg.audio.dim == 80 + len(PHONES)
    feats = enc(_speech("oh no, go slow", "en-us+f3", tmp_path), 25.0)
    assert feats.windows.shape[1:] == (cfg.audio.window, cfg.audio.dim)
    np.testing.assert_allclose(feats.windows[..., 80:].sum(-1), 1.0, atol=1e-4)
    model = FacialGAN(cfg).eval()
    x = torch.from_numpy(feats.windows[None, :16])
    out = model(x, torch.zeros(1, cfg.param_dim))
    assert out.shape == (1, 16, cfg.param_dim)
    with pytest.raises(ValueError, match="expects"):
        model(x[..., :80], torch.zeros(1, cfg.param_dim))
    model.save_pretrained(tmp_path / "ckpt")
    again = FacialGAN.from_pretrained(tmp_path / "ckpt")
    assert again.config.audio.phones and isinstance(again.config.audio.encoder(), PhoneLogMelEncoder)


def test_augmentation_shifts_and_masks_only_the_log_mel_bins():
    from facial.audio2face.augment import AugmentConfig, augment_audio

    audio = torch.zeros(6, 4, 8, 120)
    audio[..., :80] = torch.linspace(-1, 1, 80)
    audio[..., 80 + 7] = 1.0  # one phone on everywhere
    out = augment_audio(audio, AugmentConfig(mel_shift=3, freq_masks=3, freq_mask_width=20, noise=0.0), torch.Generator().manual_seed(0),
                        spectral=80)
    assert torch.equal(out[..., 80:], audio[..., 80:])
    assert not torch.equal(out[..., :80], audio[..., :80])


def test_retime_keeps_each_face_frame_with_its_moment_of_speech():
    from facial.audio2face.data import ClipData, retime

    n, fps = 100, 25.0
    params = np.zeros((n, 7 + 4), np.float32)
    params[:, 7] = np.arange(n)  # expression 0 = the original frame number
    clip = ClipData("c", "s", np.zeros((n, 2, 3), np.float32), params, fps, np.zeros(6), np.ones(6))
    fast = retime(clip, 1.25, np.zeros((80, 2, 3), np.float32))  # 25 % faster: 100 frames → 80
    assert len(fast) == 80 and fast.speaker == "s"
    np.testing.assert_allclose(fast.params[:, 7], np.arange(80) * 1.25, atol=1e-5)  # frame k shows original time 1.25 k
    slow = retime(clip, 0.8, np.zeros((125, 2, 3), np.float32))
    np.testing.assert_allclose(slow.params[:, 7], np.minimum(np.arange(125) * 0.8, n - 1), atol=1e-5)


def test_voice_variant_speeds_up_the_speech_by_the_drawn_factor():
    from facial.audio2face.augment import VoiceAugment, voice_variant

    sr = 16000
    t = np.arange(2 * sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 200 * t) * (t < 1.0)).astype(np.float32)  # 1 s of 200 Hz, then 1 s of silence
    out, speed = voice_variant(tone, sr, VoiceAugment(speed=0.1, semitones=0.0, snr_db=(60.0, 60.0)), np.random.default_rng(3))
    assert 0.9 <= speed <= 1.1 and speed != 1.0
    assert abs(len(out) - len(tone) / speed) <= 2
    spectrum = np.abs(np.fft.rfft(out[: int(0.9 * sr / speed)]))
    peak = np.argmax(spectrum) * sr / (2 * (len(spectrum) - 1))
    assert abs(peak - 200 * speed) < 3  # tape speed: the pitch moves with the tempo
    loud = np.abs(out) > 0.1
    assert abs(np.flatnonzero(loud)[-1] / sr - 1.0 / speed) < 0.01  # the tone ends at 1 s / speed
