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
