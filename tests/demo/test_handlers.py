"""Handlers: bad input → gr.Error saying what was wrong and what to do; good input → files on disk."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from demo.config import DemoConfig
from demo.handlers import Handlers, StageProgress, safe_extract, user_error


class RecordingProgress:
    def __init__(self):
        self.calls: list[tuple[float, str]] = []

    def __call__(self, value, desc=None, **kw):
        self.calls.append((value, desc))


@pytest.fixture()
def h(stub_pipeline, tmp_path):
    return Handlers(stub_pipeline, DemoConfig(work_dir=tmp_path / "work", max_audio_s=2.0, max_clip_s=5.0))


def err(fn, *args, **kw) -> str:
    with pytest.raises(gr.Error) as info:
        fn(*args, **kw)
    return info.value.message


# ------------------------------------------------------------------ generate: input checks
def test_missing_inputs_say_what_to_upload(h, media_files):
    msg = err(h.generate, None, media_files.clip, progress=None)
    assert "No speech given" in msg and "built-in example" in msg
    msg = err(h.generate, media_files.wav, None, progress=None)
    assert "No speaker given" in msg and "photo" in msg
    assert h.pipeline.calls == []


def test_non_video_speaker_is_rejected_with_a_fix(h, media_files):
    msg = err(h.generate, media_files.wav, media_files.text, progress=None)
    assert "notes.txt" in msg and "not a video or photo" in msg and "mp4" in msg
    # an audio-only file given as the speaker
    msg = err(h.generate, media_files.wav, media_files.wav, progress=None)
    assert "has no picture" in msg
    # the upload preview says the same as soon as the file arrives
    assert "not a video or photo" in err(h.preview_speaker, str(media_files.text))
    assert h.pipeline.calls == []


def test_speech_without_sound_and_over_limits(h, media_files, tmp_path):
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


def test_options_are_checked(h, media_files):
    args = (media_files.wav, media_files.clip)
    assert "Unknown renderer 'nerf'" in err(h.generate, *args, renderer="nerf", progress=None)
    assert "Head-motion strength must lie in [0, 2]" in err(h.generate, *args, head_motion=5, progress=None)
    assert "Blink rate must lie in" in err(h.generate, *args, blink_rate=-1, progress=None)
    assert "Unknown fine-tuning effort" in err(h.generate, *args, finetune_effort="max", progress=None)
    assert "Seed must be" in err(h.generate, *args, seed=-3, progress=None)
    assert h.pipeline.calls == []


# ------------------------------------------------------------------ generate: library errors
def test_library_errors_become_gr_errors(h, media_files):
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


def test_user_error_mapping_is_specific():
    from facial.media import MediaError

    assert user_error(MediaError("x has no audio stream; give a speech recording"), "Reading").message == \
        "Reading: x has no audio stream; give a speech recording"
    e = user_error(KeyError("k"), "Step")
    assert isinstance(e, gr.Error) and e.message.startswith("Step:")


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


# ------------------------------------------------------------------ zips
def test_safe_extract_refuses_escapes(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../evil.txt", "x")
    with pytest.raises(gr.Error, match="unsafe path"):
        safe_extract(bad, tmp_path / "out", max_bytes=10**6)
    assert not (tmp_path / "evil.txt").exists()
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/b.bin", b"\0" * 5000)
    with pytest.raises(gr.Error, match="over the limit"):
        safe_extract(big, tmp_path / "out2", max_bytes=1000)
    not_zip = tmp_path / "n.zip"
    not_zip.write_text("hello")
    with pytest.raises(gr.Error, match="not a zip archive"):
        safe_extract(not_zip, tmp_path / "out3", max_bytes=1000)


# ------------------------------------------------------------------ user study
def test_study_build_and_analyze_roundtrip(h, helpers, tmp_path):
    methods = tmp_path / "methods"
    for m, moving in (("ours", True), ("base", False)):
        for clip in ("a", "b"):
            helpers.tiny_clip(methods / m / f"{clip}.mp4", 1.0, audio=True)
    assert "No result folders given" in err(h.build_study, "", None, progress=None)
    assert "is not NAME=FOLDER" in err(h.build_study, "ours results", None, progress=None)
    assert "does not exist on the server" in err(h.build_study, f"ours={tmp_path / 'nope'}", None, progress=None)
    public = Handlers(h.pipeline, DemoConfig(work_dir=tmp_path / "wp", host="0.0.0.0"))
    assert "switched off on a public server" in err(public.build_study, f"ours={methods / 'ours'}", None, progress=None)
    jailed = Handlers(h.pipeline, DemoConfig(work_dir=tmp_path / "wj", host="0.0.0.0", data_root=methods / "ours"))
    assert "outside FACIAL_DATA_ROOT" in err(jailed.build_study, f"base={methods / 'base'}", None, progress=None)
    files, summary = h.build_study(f"ours={methods / 'ours'}\nbase={methods / 'base'}", None, "2afc", 1, 0, progress=None)
    private, public = (Path(f) for f in files)
    with zipfile.ZipFile(private) as zf:
        assert "key.json" in zf.namelist() and "public/study.json" in zf.namelist()
    with zipfile.ZipFile(public) as zf:
        names = zf.namelist()
        assert "index.html" in names and "key.json" not in names and not any("key" in n for n in names)
    assert "attention checks" in summary and "keep it private" in summary

    # answers: every participant passes the check and prefers "ours"
    with zipfile.ZipFile(private) as zf:
        manifest = json.loads(zf.read("public/study.json"))
        key = json.loads(zf.read("key.json"))
    rows = ["study_id,participant,trial,question,answer,position,timestamp,source"]
    for p in range(6):
        for pos, t in enumerate(manifest["trials"], 1):
            tk = key["trials"][t["id"]]
            for q in manifest["questions"]:
                if tk.get("check") and q["id"] == tk["check"]["question"]:
                    a = tk["check"]["expected"][0]
                elif tk.get("check"):
                    a = "A"
                else:
                    a = "A" if tk["methods"][0] == "ours" else "B"
                rows.append(f"{manifest['study_id']},P{p},{t['id']},{q['id']},{a},{pos},,test")
    answers = tmp_path / "answers.csv"
    answers.write_text("\n".join(rows) + "\n")
    assert "No answers given" in err(h.analyze_study, str(private), [], progress=None)
    assert "not a zip archive" in err(h.analyze_study, str(answers), [str(answers)], progress=None)
    report, plot, results = h.analyze_study(str(private), [str(answers)], 0, progress=None)
    assert "ours" in report and Path(plot).is_file()
    with zipfile.ZipFile(results) as zf:
        assert "report.md" in zf.namelist()


# ------------------------------------------------------------------ evaluate
def test_evaluate_rejects_non_video(h, media_files):
    assert "No video to evaluate given" in err(h.evaluate, None, progress=None)
    assert "not a video that can be decoded" in err(h.evaluate, str(media_files.text), progress=None)
    assert "not a video (no moving picture)" in err(h.evaluate, str(media_files.photo), progress=None)
    msg = err(h.evaluate, str(media_files.clip), None, ["lmdd"], progress=None)
    assert "unknown metric 'lmdd'" in msg


@pytest.mark.shared_data
def test_evaluate_real_clip_gives_table_with_directions(h, helpers, tmp_path):
    clip = helpers.excerpt(helpers.shared_path("pcavs__Input_00010", "talking_video"), tmp_path / "clip.mp4", 2.0)
    table, plot, js = h.evaluate(str(clip), None, ["blink", "head_motion"], progress=None)
    assert {"metric", "better", "value", "unit", "status"} <= set(table.columns)
    assert set(table["better"]) <= {"↑", "↓", "·"} or any(str(a).startswith("→") for a in table["better"])
    ok = table[table["status"] == "ok"]
    assert len(ok) >= 3 and np.isfinite(ok["value"].astype(float)).all()
    assert Path(plot).is_file()
    data = json.loads(Path(js).read_text())
    assert {m["name"] for m in data["metrics"]} == set(table["metric"])


# ------------------------------------------------------------------ benchmark
def test_benchmark_input_errors(h, tmp_path):
    assert "Nothing to run" in err(h.run_benchmark, None, None, "", "", progress=None)
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\nclips: {folder: .}\nmethods: [static]\nmetricz: [default]\n")
    assert "Give only one of" in err(h.run_benchmark, "smoke.yaml", str(spec), "", "", progress=None)
    msg = err(h.run_benchmark, None, str(spec), "", "", progress=None)
    assert "The benchmark spec is not usable" in msg and "unknown key 'metricz'" in msg and "'metrics'" in msg
    assert "No bundled spec named" in err(h.run_benchmark, "nope.yaml", None, "", "", progress=None)


@pytest.mark.shared_data
def test_benchmark_method_folders_on_real_clips(h, helpers, tmp_path):
    real = tmp_path / "real"
    shifted = tmp_path / "shifted"
    for cid in ("pcavs__Input_00010", "pcavs__Audio_Source_00086"):
        src = helpers.shared_path(cid, "talking_video")
        real.mkdir(exist_ok=True), shifted.mkdir(exist_ok=True)
        helpers.excerpt(src, real / f"{cid}.mp4", 2.0)
        helpers.excerpt(src, shifted / f"{cid}.mp4", 2.0, start=1.0)
    summary, plots, bundle = h.run_benchmark(None, None, f"real={real}\nshifted={shifted}", "", progress=None)
    assert "| real" in summary and "| shifted" in summary and ("↑" in summary or "↓" in summary)
    assert "±" in summary  # mean ± std cells
    assert plots and all(Path(p).suffix == ".png" for p in plots)
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert {"rows.csv", "aggregate.md", "provenance.json"} <= set(names)
    assert not any(n.startswith(("cache/", "prepared/")) for n in names)
