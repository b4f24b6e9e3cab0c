import numpy as np

from facial.audio import LogMelEncoder, speech_envelope
from facial.types import AudioClip


def test_window_shape_and_count(tone_clip):
    enc = LogMelEncoder()
    f = enc(tone_clip, fps=25)
    assert f.windows.shape == (50, enc.window, 80)
    assert np.isfinite(f.windows).all()
    assert len(enc(tone_clip, fps=25, n_frames=37)) == 37


def test_burst_lands_on_its_video_frame():
    sr, fps = 16000, 25
    x = np.zeros(3 * sr, np.float32)
    start = int(1.2 * sr)  # video frame 30 spans 1.20–1.24 s
    x[start:start + 640] = np.random.default_rng(0).normal(size=640) * 0.5
    audio = AudioClip(x, sr)
    enc = LogMelEncoder()
    centre = enc(audio, fps).windows[:, enc.window // 2, :].mean(1)
    assert int(np.argmax(centre)) == 30
    assert int(np.argmax(speech_envelope(audio, fps))) == 30


def test_numpy_log_mel_matches_librosa():
    """The encoder's numpy STFT and mel filters give librosa's numbers (the packaged checkpoint was trained on them)."""
    import librosa

    from facial.audio.features import mel_filterbank, power_spectrogram

    rng = np.random.default_rng(3)
    t = np.arange(16000 * 2) / 16000
    y = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    ref_fb = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, fmin=55.0, fmax=7600.0)
    assert np.abs(mel_filterbank(16000, 400, 80, 55.0, 7600.0) - ref_fb).max() < 1e-6 * ref_fb.max()
    for n in (150, 399, 401, y.size):
        ref = np.abs(librosa.stft(y[:n], n_fft=400, hop_length=160, center=True, pad_mode="constant")) ** 2
        ours = power_spectrogram(y[:n], 400, 160)
        assert ours.shape == ref.shape and np.abs(ours - ref).max() < 1e-5 * ref.max()
    enc = LogMelEncoder()
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, win_length=400, n_mels=80, fmin=55.0,
                                         fmax=7600.0, center=True)
    logmel = np.log(mel + 1e-6).T
    expect = (logmel - logmel.mean(0)) / (logmel.std(0) + 1e-3)
    assert np.abs(enc.spectrogram(AudioClip(y, 16000)) - expect).max() < 1e-3
