"""The Generate tab: bad input → gr.Error saying what was wrong and what to do; good input → files on disk."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from demo.config import DemoConfig
from demo.handlers import Handlers
from demo.tabs.generate import StageProgress


class RecordingProgress:
    def __init__(self):
        self.calls: list[tuple[float, str]] = []

    def __call__(self, value, desc=None, **kw):
        self.calls.append((value, desc))


# ------------------------------------------------------------------ generate: input checks
def test_missing_inputs_say_what_to_upload(h, media_files, err):
    msg = err(h.generate, None, media_files.clip, progress=None)
    assert "No speech given" in msg and "built-in example" in msg
    msg = err(h.generate, media_files.wav, None, progress=None)
    assert "No speaker given" in msg and "photo" in msg
    assert h.pipeline.calls == []


def test_non_video_speaker_is_rejected_with_a_fix(h, media_files, err):
    msg = err(h.generate, media_files.wav, media_files.text, progress=None)
    assert "notes.txt" in msg and "not a video or photo" in msg and "mp4" in msg
    # an audio-only file given as the speaker
    msg = err(h.generate, media_files.wav, media_files.wav, progress=None)
    assert "has no picture" in msg
    # the upload preview says the same as soon as the file arrives
    assert "not a video or photo" in err(h.preview_speaker, str(media_files.text))
    assert h.pipeline.calls == []


def test_speech_without_sound_and_over_limits(h, media_files, tmp_path, err):
    assert "no sound track" in err(h.generate, media_files.silent_clip, media_files.clip, progress=None)
    msg = err(h.generate, media_files.long_wav, media_files.clip, progress=None)
    assert "3.0 s" in msg and "limit of 2 s" in msg and "FACIAL_MAX_AUDIO_S" in msg
    assert "not audio that can be read" in err(h.generate, media_files.text, media_files.clip, progress=None)
    small = Handlers(h.pipeline, DemoConfig(work_dir=tmp_path / "w2", max_upload_mb=0.001))
    msg = err(small.generate, media_files.wav, media_files.clip, progress=None)
    assert "upload limit" in msg and "FACIAL_MAX_UPLOAD_MB" in msg
    short_clip = Handlers(h.pipeline, DemoConfig(work_dir=tmp_path / "w3", max_clip_s=0.5))
    msg = err(short_clip.generate, media_files.wav, media_files.clip, progress=None)
    assert "over the limit of 0.5 s" in msg and "FACIAL_MAX_CLIP_S" in msg
    assert h.pipeline.calls == []


def test_options_are_checked(h, media_files, err):
    args = (media_files.wav, media_files.clip)
    assert "Unknown renderer 'nerf'" in err(h.generate, *args, renderer="nerf", progress=None)
    assert "Head-motion strength must lie in [0, 2]" in err(h.generate, *args, head_motion=5, progress=None)
    assert "Blink rate must lie in" in err(h.generate, *args, blink_rate=-1, progress=None)
    assert "Unknown fine-tuning effort" in err(h.generate, *args, finetune_effort="max", progress=None)
    assert "Seed must be" in err(h.generate, *args, seed=-3, progress=None)
    assert h.pipeline.calls == []


# ------------------------------------------------------------------ generate: library errors
def test_library_errors_become_gr_errors(h, media_files, err):
    from facial.media import MediaError
    from facial.speaker.landmarks import FaceTrackingError

    upload = str(media_files.clip)
    h.pipeline.fail_with = FaceTrackingError(f"no face found in 25 of 25 frames of {upload}")
    msg = err(h.generate, media_files.wav, media_files.clip, progress=None)
    assert "no usable face" in msg and "frontal" in msg
    assert upload not in msg and "speaker.mp4" in msg  # long temp paths are shortened to the file name
    h.pipeline.fail_with = MediaError("ffmpeg failed (moov atom not found); convert it to mp4")
    assert "Generation failed: ffmpeg failed (moov atom not found); convert it to mp4" == err(h.generate, media_files.wav, media_files.clip, progress=None)
    h.pipeline.fail_with = FileNotFoundError("checkpoint folder ckpt lacks model.safetensors")
    assert "FACIAL_CHECKPOINT" in err(h.generate, media_files.wav, media_files.clip, progress=None)
    h.pipeline.fail_with = ValueError("audio shorter than one frame; give at least 0.1 s")
    assert "give at least 0.1 s" in err(h.generate, media_files.wav, media_files.clip, progress=None)
    h.pipeline.fail_with = RuntimeError("CUDA exploded")
    msg = err(h.generate, media_files.wav, media_files.clip, progress=None)
    assert "unexpectedly" in msg and "RuntimeError" in msg and "bug" in msg


# ------------------------------------------------------------------ generate: success
def test_generate_returns_video_plot_profile_and_reports_stages(h, media_files):
    progress = RecordingProgress()
    video, plot, profile, summary = h.generate(media_files.wav, media_files.clip, "warp", 0.5, 0, "fast", 7, progress=progress)
    call = h.pipeline.calls[-1]
    assert call["blink_rate"] is None and call["seed"] == 7 and call["head_motion"] == 0.5 and call["renderer"] == "warp"
    assert Path(call["out_path"]).parent.parent == h.work_dir  # outputs go to a fresh folder of the app
    from facial.media import probe

    info = probe(video)
    assert info.has_video and info.has_audio and 0.9 < info.duration < 1.2
    import cv2

    img = cv2.imread(plot)
    assert img is not None and img.shape[0] > 300  # 4 rows: rotation, translation, blink, mouth
    with zipfile.ZipFile(profile) as zf:
        assert "profile.json" in zf.namelist()
    descs = [d for _, d in progress.calls]
    assert any(d.startswith("Tracking") for d in descs) and any(d.startswith("Fine-tuning") for d in descs)
    assert any(d.startswith("Rendering") for d in descs) and any(d.startswith("Predicting") for d in descs)
    values = [v for v, _ in progress.calls]
    assert values == sorted(values) and values[-1] <= 1.0  # one bar moving forward across the stages
    assert "Done in" in summary and "25 frames" in summary and "skipped" not in summary
    assert "Note: stub pipeline" in summary and "motion from stub" in summary

    # the same speaker again (a new upload of the same content): tracking is skipped and said so
    again = media_files.clip.with_name("again.mp4")
    again.write_bytes(media_files.clip.read_bytes())
    progress2 = RecordingProgress()
    *_, summary2 = h.generate(media_files.wav, again, "warp", 1.0, 12, "fast", 0, progress=progress2)
    descs2 = [d for _, d in progress2.calls]
    assert not any(d.startswith(("Tracking", "Fine-tuning (0%)")) for d in descs2)
    assert any(d.startswith("Loading the saved speaker profile") for d in descs2)
    assert "tracking and fine-tuning were skipped" in summary2
    assert h.pipeline.calls[-1]["blink_rate"] == 12.0


def test_generate_with_a_photo(h, media_files):
    video, *_ = h.generate(media_files.wav, media_files.photo, progress=None)
    assert Path(video).is_file()
    vid, img = h.preview_speaker(str(media_files.photo))
    assert img["visible"] is True and vid["visible"] is False
    vid, img = h.preview_speaker(str(media_files.clip))
    assert vid["visible"] is True and img["visible"] is False
    vid, img = h.preview_speaker(None)
    assert vid["visible"] is False and img["visible"] is False


def test_stage_progress_maps_pipeline_stages():
    p = RecordingProgress()
    sp = StageProgress(p)
    sp("warming_up", 0.25)
    sp("finetune", 1.0)
    sp("speaker", 0.5)
    assert p.calls[0] == (0.25, "Warming up (25%)")  # an unknown stage passes its fraction through
    assert p.calls[1][0] == pytest.approx(0.65) and p.calls[1][1] == "Fine-tuning to the speaker (100%)"
    assert p.calls[2][1] == "Tracking the speaker's face (50%)"
    assert sp.seen == ["warming-up", "fine-tuning", "tracking"]
    assert sp.worked == {"warming-up", "tracking"}  # fine-tuning only reported "done" (cached model)
