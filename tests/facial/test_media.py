import subprocess

import numpy as np
import pytest

from facial import media
from facial.types import AudioClip, VideoFrames
from tests.conftest import shared_clip


def _frames(n, h=48, w=64):
    f = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        f[i, :, :, 0] = (i * 4) % 256  # frame index encoded in red
    return f


def test_write_read_round_trip_with_audio(tmp_path, tone_clip):
    out = media.write_video(tmp_path / "a.mp4", VideoFrames(_frames(50), 25.0), audio=tone_clip)
    info = media.probe(out)
    assert info.has_video and info.has_audio and info.width == 64 and info.height == 48
    assert info.duration == pytest.approx(2.0, abs=0.06)
    v = media.read_video(out)
    assert len(v) == 50 and v.frames.shape[1:] == (48, 64, 3)
    assert abs(int(v.frames[20, 10, 10, 0]) - 80) <= 6
    a = media.load_audio(out)
    assert a.sample_rate == 16000 and a.duration == pytest.approx(2.0, abs=0.05)
    assert not list(tmp_path.glob(".*partial*"))


def test_resample_30_to_25_fps_and_chunks(tmp_path):
    out = media.write_video(tmp_path / "b.mp4", _frames(60), fps=30.0)
    chunks = list(media.iter_video(out, 25.0, chunk=16))
    assert [len(c) for c in chunks[:-1]] == [16] * (len(chunks) - 1)
    assert sum(len(c) for c in chunks) == 50
    assert len(media.read_video(out, fps=None)) == 60


def test_odd_size_cropped_to_even(tmp_path):
    out = media.write_video(tmp_path / "c.mp4", _frames(5, 47, 65), fps=25)
    assert (media.probe(out).width, media.probe(out).height) == (64, 46)


def test_variable_frame_rate_input(tmp_path):
    # frames shown at irregular times: 0, 0.1, 0.15, 0.5, 0.52 s … built with ffmpeg's setpts
    src = media.write_video(tmp_path / "cfr.mp4", _frames(20), fps=10)
    vfr = tmp_path / "vfr.mkv"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-vf", "setpts='PTS*(1+0.5*mod(N,3))'",
                    "-fps_mode", "vfr", "-c:v", "libx264", str(vfr)], check=True)
    d = media.probe(vfr).duration
    v = media.read_video(vfr, fps=25)
    assert abs(len(v) - d * 25) <= 2


def test_bad_inputs(tmp_path, tone_clip):
    with pytest.raises(media.MediaError, match="no such file"):
        media.probe(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_text("this is not a video")
    with pytest.raises(media.MediaError, match="not a readable"):
        media.read_video(junk)
    silent = media.write_video(tmp_path / "silent.mp4", _frames(10), fps=25)
    with pytest.raises(media.MediaError, match="no audio stream"):
        media.load_audio(silent)
    wav = media.save_wav(tmp_path / "t.wav", tone_clip)
    with pytest.raises(media.MediaError, match="over the limit"):
        media.load_audio(wav, max_seconds=1.0)
    with pytest.raises(media.MediaError, match="no video stream"):
        media.read_video(wav)


def test_real_clip_at_30fps_resampled():
    clip = shared_clip("videoretalking__4")  # 30 fps, 6.6 s
    info = media.probe(clip)
    v = media.read_video(clip, fps=25)
    assert abs(len(v) - info.duration * 25) <= 1.5
    a = media.load_audio(clip)
    assert abs(a.duration - info.duration) < 0.1


def test_background_writer_finishes_aborts_and_reports_errors(tmp_path):
    """Frames handed over from another loop are encoded in a thread; an abort or an encoder error never hangs."""
    from facial.media import BackgroundWriter, MediaError, probe, read_video

    frames = np.zeros((12, 32, 48, 3), np.uint8)
    frames[:, :, :24] = 200
    out = tmp_path / "out.mp4"
    with BackgroundWriter(out, 25) as w:
        for i in range(0, 12, 5):
            w.write(frames[i:i + 5])
    back = read_video(out, fps=None)
    assert len(back) == 12 and back.frames.shape[1:3] == (32, 48) and abs(int(back.frames[0, 5, 5, 0]) - 200) < 8
    assert not probe(out).has_audio

    gone = tmp_path / "aborted.mp4"
    with pytest.raises(RuntimeError, match="tracking failed"):
        with BackgroundWriter(gone, 25) as w:
            w.write(frames[:3])
            raise RuntimeError("tracking failed")
    assert not gone.exists()

    bad = tmp_path / "bad.mp4"
    w = BackgroundWriter(bad, 25)
    w.write(frames[:3])
    for _ in range(10):  # a size change makes the encoder fail; later writes must not block
        w.write(np.zeros((5, 16, 16, 3), np.uint8))
    with pytest.raises(MediaError, match="size changed"):
        w.close()
    assert not bad.exists()


def test_read_frames_into_fills_a_buffer_like_read_video(tmp_path):
    from facial.media import read_frames_into, read_video, write_video

    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 255, (6, 1, 1, 3), dtype=np.uint8), 32, axis=1).repeat(48, axis=2)
    clip = write_video(tmp_path / "c.mp4", VideoFrames(frames, 25.0))
    ref = read_video(clip, fps=25).frames
    out = np.zeros((4, 32, 48, 3), np.uint8)
    assert read_frames_into(clip, out, fps=25) == 4 and np.array_equal(out, ref[:4])
    longer = np.zeros((9, 32, 48, 3), np.uint8)
    assert read_frames_into(clip, longer, fps=25) == 6  # the clip is shorter: the count says so
    small = np.zeros((2, 16, 24, 3), np.uint8)  # scaled to the buffer's size
    assert read_frames_into(clip, small, fps=25) == 2 and abs(float(small.mean()) - float(ref[:2].mean())) < 3
    with pytest.raises(ValueError, match="uint8"):
        read_frames_into(clip, np.zeros((2, 16, 24, 3), np.float32))


def test_prefetch_keeps_order_raises_errors_and_stops_the_producer():
    import threading

    from facial.media import prefetch

    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        raise RuntimeError("decoder broke")

    got = []
    with pytest.raises(RuntimeError, match="decoder broke"):
        for x in prefetch(failing()):
            got.append(x)
    assert got == [1]

    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    for x in prefetch(endless(), depth=1):
        if x == 3:
            break
    assert closed.wait(5)  # the consumer stopped: the producer's generator was closed (ffmpeg would end)
