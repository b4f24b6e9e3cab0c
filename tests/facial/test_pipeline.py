"""End to end: `facial generate` on real dev clips with dev speech (slow), the built-in example, and bad inputs.

Each generated video is checked for its duration (= the audio's, ±1 frame), an audio stream, a face in
≥ 95 % of the frames and a mouth opening that rises with the speech envelope.
"""
from __future__ import annotations

import argparse
import logging

import cv2
import numpy as np
import pytest

from facial import media
from facial.audio import speech_envelope
from facial.pipeline import FacialPipeline, fit_length, freeze_pose_and_blinks, resample_params
from facial.speaker import face_model as fm
from facial.speaker.landmarks import FaceTrackingError, track_frames
from facial.types import AudioClip, FaceParams
from tests.conftest import shared_clip

CLIP = "mimictalk__May_5s"
SPEECH = "sadtalker__RD_Radio31_000"


# --------------------------------------------------------------------------- helpers
def best_lag_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Largest Pearson r of ``a[t + lag]`` vs ``b[t]`` over ``|lag| <= max_lag`` and that lag."""
    best = (-2.0, 0)
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(0, lag):len(a) + min(0, lag)]
        y = b[max(0, -lag):len(b) - max(0, lag)]
        best = max(best, (float(np.corrcoef(x, y)[0, 1]), lag))
    return best


def check_video(path, audio: AudioClip, params: FaceParams | None = None, profile_dir=None, fps: float = 25.0,
                min_face: float = 0.95, min_corr: float | None = 0.1, max_lag: int = 4, min_fidelity: float = 0.8) -> dict:
    """The output checks of the issue; returns the measurements.

    Mouth vs speech: the tracked mouth opening of the output must correlate positively with the
    speech envelope, allowing an audio-visual offset of up to ``max_lag`` frames (±160 ms, as
    sync measures search offsets). With ``params``, the output's mouth must also follow the
    mouth opening the renderer was asked for (renderer fidelity, separated from the motion model).
    """
    info = media.probe(path)
    assert info.has_video and info.has_audio
    n_expected = audio.n_frames(fps)
    video = media.read_video(path, fps=fps)
    assert abs(len(video) - n_expected) <= 1
    assert abs(info.duration - audio.duration) <= 1.5 / fps + 0.05
    track = track_frames(iter([video.frames]), fps, progress=False, min_valid=0.0)
    assert track.valid_fraction >= min_face
    opening = fm.mouth_opening(track.landmarks)
    out = {"frames": len(video), "face": track.valid_fraction}
    if params is not None:
        from facial.face_render import mesh
        from facial.speaker.profile import load_profile

        wanted = fm.mouth_opening(mesh.posed_landmarks(load_profile(profile_dir), params))[: len(opening)]
        out["fidelity"] = float(np.corrcoef(wanted[track.valid], opening[track.valid])[0, 1])
        assert out["fidelity"] > min_fidelity, f"output mouth vs rendered params r = {out['fidelity']:.3f}"
    env = speech_envelope(media.load_audio(path), fps, len(video))
    out["corr"], out["lag"] = best_lag_correlation(opening, env, max_lag)
    logging.getLogger(__name__).info("output checks of %s: %s", path, out)
    assert min_corr is None or out["corr"] > min_corr, f"mouth opening vs speech envelope: best r = {out['corr']:.3f} at lag {out['lag']} frames"
    return out


@pytest.fixture(scope="module")
def speech_4s(tmp_path_factory):
    clip = media.load_audio(shared_clip(SPEECH))
    short = AudioClip(clip.samples[: 4 * clip.sample_rate], clip.sample_rate)
    return media.save_wav(tmp_path_factory.mktemp("speech") / "speech_4s.wav", short), short


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return FacialPipeline(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def tone_wav(tmp_path):
    t = np.arange(32000) / 16000
    return media.save_wav(tmp_path / "tone.wav", AudioClip((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)))


# --------------------------------------------------------------------------- fast
def test_params_resampling_and_length():
    p = FaceParams(np.tile(np.arange(10, dtype=np.float32)[:, None], (1, 6)), np.zeros((10, 4)), np.linspace(0, 1, 10), 25.0)
    q = resample_params(p, 50.0)
    assert len(q) == 20 and q.fps == 50.0 and np.isclose(q.pose[2, 0], 1.0)
    assert len(fit_length(p, 12)) == 12 and np.array_equal(fit_length(p, 12).pose[-1], p.pose[-1])
    assert len(fit_length(p, 7)) == 7


def test_default_example_is_made_offline(tmp_path):
    from facial.examples import default_inputs

    audio, speaker = default_inputs(tmp_path)
    assert speaker.suffix == ".png" and cv2.imread(str(speaker)).shape == (512, 512, 3)
    clip = media.load_audio(audio)
    assert 4.0 < clip.duration < 20.0 and np.abs(clip.samples).max() > 0.05
    assert default_inputs(tmp_path) == (audio, speaker)  # cached


def test_photo_without_a_face_is_refused(pipeline, tone_wav, tmp_path):
    noface = tmp_path / "wall.png"
    g = np.linspace(0, 255, 256, dtype=np.uint8)
    cv2.imwrite(str(noface), np.dstack([np.tile(g, (256, 1))] * 3))
    out = tmp_path / "out.mp4"
    with pytest.raises(FaceTrackingError, match="face"):
        pipeline.generate(tone_wav, noface, out)
    assert not out.exists()
    profiles = pipeline.cache_dir / "profiles"
    assert not profiles.exists() or not any(profiles.iterdir())  # nothing half-written in the cache


def test_audio_over_the_limit_is_refused(tmp_path, tone_wav):
    pipe = FacialPipeline(cache_dir=tmp_path / "cache", max_audio_seconds=1.0, driver="envelope")
    out = tmp_path / "out.mp4"
    with pytest.raises(media.MediaError, match="limit"):
        pipe.generate(tone_wav, tmp_path / "never-read.png", out)
    assert not out.exists()


def test_output_may_not_be_an_input_or_another_format(tmp_path, tone_wav):
    pipe = FacialPipeline(cache_dir=tmp_path / "cache", driver="envelope")
    clip = tmp_path / "speaker.mp4"
    clip.write_bytes(b"not really a video")
    with pytest.raises(ValueError, match="one of the inputs"):
        pipe.generate(tone_wav, clip, clip)
    assert clip.read_bytes() == b"not really a video"
    with pytest.raises(ValueError, match=".mp4"):
        pipe.generate(tone_wav, clip, tmp_path / "out.avi")


@pytest.mark.shared_data
def test_short_clip_warp_warns_and_neural_refuses(pipeline, tmp_path, caplog):
    from facial.face2vid import ClipTooShortError

    short = media.transcode(shared_clip(CLIP), tmp_path / "short.mp4", duration=1.5)
    audio = AudioClip(np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32))
    out = tmp_path / "neural.mp4"
    with pytest.raises(ClipTooShortError, match="warp"):
        pipeline.generate(audio, short, out, renderer="neural")
    assert not out.exists()
    with caplog.at_level(logging.WARNING):
        res = pipeline.generate(audio, short, tmp_path / "warp.mp4", renderer="warp")
    assert any("under 2 s" in n for n in res.notes) and "under 2 s" in caplog.text
    assert abs(media.probe(res.video).duration - 1.0) < 0.1


@pytest.mark.shared_data
def test_lips_only_holds_pose_and_opens_no_eyes(pipeline, tmp_path):
    clip = shared_clip(CLIP)
    profile = pipeline.speaker_profile(clip)
    p = profile.params.slice(0, 20)
    frozen = freeze_pose_and_blinks(p, profile)
    assert np.ptp(frozen.pose, axis=0).max() == 0 and frozen.blink.max() == 0
    assert np.array_equal(frozen.expression, p.expression)
    # the profile is cached by content: a second call loads it
    again = pipeline.speaker_profile(clip)
    assert again.directory == profile.directory


# --------------------------------------------------------------------------- slow, end to end
@pytest.mark.slow
@pytest.mark.shared_data
def test_generate_warp_on_a_real_clip(pipeline, speech_4s, tmp_path):
    wav, clip = speech_4s
    res = pipeline.generate(wav, shared_clip(CLIP), tmp_path / "warp.mp4", renderer="warp", seed=1)
    assert res.renderer == "warp" and set(res.timings) >= {"speaker", "animate", "render", "mux"}
    check_video(res.video, clip, res.params, res.profile_dir)


@pytest.mark.slow
@pytest.mark.shared_data
def test_generate_neural_tiny_on_a_real_clip(pipeline, speech_4s, tmp_path):
    wav, clip = speech_4s
    # the neural renderer is this test's subject: the generic FACIAL-GAN keeps the motion independent
    # of how many `fast` fine-tuning steps fit in its 15 s budget on a loaded machine
    res = pipeline.generate(wav, shared_clip(CLIP), tmp_path / "neural.mp4", renderer="neural", finetune_effort="none",
                            neural_options={"size": 64, "steps": 60, "device": "cpu", "out_dir": tmp_path / "f2v"})
    assert res.renderer == "neural" and (tmp_path / "f2v" / "model.safetensors").exists()
    # a 64 px renderer after 60 CPU steps: its mouth follows the request at r 0.78–0.80 (measured on a
    # loaded machine; above 0.8 on an idle one), below the warp renderer's; 0.7 still fails a renderer that ignores it
    check_video(res.video, clip, res.params, res.profile_dir, min_fidelity=0.7)


@pytest.mark.slow
@pytest.mark.shared_data
def test_generate_one_shot_from_a_photo(pipeline, speech_4s, tmp_path):
    from facial.examples import astronaut_photo

    wav, clip = speech_4s
    photo = astronaut_photo(tmp_path / "astronaut.png")
    res = pipeline.generate(wav, photo, tmp_path / "photo.mp4", renderer="warp", seed=2)
    check_video(res.video, clip, res.params, res.profile_dir)


@pytest.mark.slow
def test_generate_default_example(tmp_path, monkeypatch):
    from facial.cli.generate import cmd_generate, register

    monkeypatch.setenv("FACIAL_CACHE", str(tmp_path / "cache"))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "default.mp4"
    assert cmd_generate(parser.parse_args(["generate", "-o", str(out), "-q"])) == 0
    from facial.examples import default_inputs

    audio, _ = default_inputs(tmp_path / "cache")
    # the built-in example is the first thing a user sees: its lips must follow its speech
    # (measured r 0.37 re-tracked, docs/RENDERING.md; 0.2 is the bar for a photo)
    check_video(out, media.load_audio(audio), min_corr=0.2)
