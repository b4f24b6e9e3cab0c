"""The app builds with a stub pipeline, is wired as documented, and its Generate endpoint works over HTTP."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from demo.config import ConfigError, DemoConfig


def _deps(demo):
    return {d["api_name"]: d for d in demo.config["dependencies"] if d.get("api_name")}


def _fn(demo, api_name):
    return next(f for f in demo.fns.values() if f.api_name == api_name)


def _component(demo, elem_id):
    return next(c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == elem_id)


def test_ui_builds_with_tabs_and_generate_wiring(stub_pipeline):
    from demo import build_demo

    demo = build_demo(stub_pipeline)
    labels = [c["props"].get("label") for c in demo.config["components"] if c["type"] == "tabitem"]
    assert labels == ["Generate", "Evaluate", "Benchmark", "User study"]
    deps = _deps(demo)
    assert {"generate", "evaluate", "benchmark", "build_study", "analyze_study"} <= set(deps)
    gen = deps["generate"]
    assert len(gen["inputs"]) == 7 and len(gen["outputs"]) == 4
    fn = _fn(demo, "generate")
    assert fn.concurrency_limit == 1 and fn.queue is True  # one generation at a time, others queued
    ids = {c["id"]: c["props"].get("elem_id") for c in demo.config["components"]}
    assert [ids[i] for i in gen["inputs"][:2]] == ["audio-input", "speaker-input"]
    assert [ids[i] for i in gen["outputs"][:3]] == ["result-video", "curves-plot", "profile-file"]
    renderer = _component(demo, "renderer")
    assert [c[0] for c in renderer["props"]["choices"]] == ["warp", "neural"] and renderer["props"]["value"] == "warp"
    assert demo.analytics_enabled is False


def test_concurrency_and_limits_come_from_config(stub_pipeline):
    from demo import build_demo

    config = DemoConfig(concurrency=3, max_audio_s=12, max_upload_mb=5)
    demo = build_demo(stub_pipeline, config)
    assert _fn(demo, "generate").concurrency_limit == 3
    assert "≤ 12 s" in _component(demo, "audio-input")["props"]["label"]
    assert config.queue_kwargs()["default_concurrency_limit"] == 3
    assert config.launch_kwargs()["max_file_size"] == 5 * 1024 * 1024


def test_config_from_env():
    c = DemoConfig.from_env({"FACIAL_CHECKPOINT": "me/facial", "FACIAL_MAX_UPLOAD_MB": "50", "FACIAL_MAX_AUDIO_S": "30",
                             "FACIAL_CONCURRENCY": "2", "FACIAL_PORT": "7999", "FACIAL_HOST": "0.0.0.0"})
    assert (c.checkpoint, c.max_upload_mb, c.max_audio_s, c.concurrency, c.port, c.host) == ("me/facial", 50, 30, 2, 7999, "0.0.0.0")
    assert c.launch_kwargs()["server_name"] == "0.0.0.0" and not c.loopback_only
    d = DemoConfig.from_env({})
    assert d.checkpoint is None and d.concurrency == 1
    assert "server_name" not in d.launch_kwargs() and "server_port" not in d.launch_kwargs()  # Gradio's / the Space's own
    with pytest.raises(ConfigError, match="FACIAL_MAX_AUDIO_S='long' is not a number of seconds"):
        DemoConfig.from_env({"FACIAL_MAX_AUDIO_S": "long"})
    with pytest.raises(ConfigError, match="concurrency must be at least 1"):
        DemoConfig.from_env({"FACIAL_CONCURRENCY": "0"})


def test_importing_app_launches_nothing():
    """`import app` only defines main(): no gradio, no pipeline, no server (checked in a fresh interpreter)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    code = ("import sys, app; print(callable(app.main), 'gradio' in sys.modules, 'facial.pipeline' in sys.modules, "
            "'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "False", "False"]


def test_example_preselected(stub_pipeline, tmp_path, monkeypatch, helpers):
    """``example=True`` fills audio and speaker with the built-in example (stubbed here)."""
    from demo import build_demo
    from demo import handlers

    wav, png = helpers.tone_wav(tmp_path / "ex.wav"), helpers.tiny_png(tmp_path / "ex.png")
    monkeypatch.setattr(handlers.Handlers, "example_inputs", lambda self: (str(wav), str(png)))
    demo = build_demo(stub_pipeline, example=True)
    audio = _component(demo, "audio-input")["props"]["value"]
    speaker = _component(demo, "speaker-input")["props"]["value"]
    assert audio and Path(audio["path"]).name == "ex.wav"
    assert speaker and Path(speaker["path"]).name == "ex.png"


def test_api_generate_with_stub(launched_stub, media_files):
    """The Generate endpoint over HTTP with gradio_client (stub pipeline: fast)."""
    from gradio_client import Client, handle_file

    client = Client(launched_stub.url, verbose=False)
    video, plot, profile, summary = client.predict(
        handle_file(str(media_files.wav)), handle_file(str(media_files.clip)), "warp", 1.0, 0, "fast", 3, api_name="/generate")
    video_path = video["video"] if isinstance(video, dict) else video
    from facial.media import probe

    assert probe(video_path).duration > 0.5
    assert Path(plot).suffix == ".png" and Path(profile).suffix == ".zip"
    assert "Done in" in summary
    assert launched_stub.pipeline.calls[-1]["seed"] == 3
    # a bad upload comes back as the app's error message
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="not a video or photo"):
        client.predict(handle_file(str(media_files.wav)), handle_file(str(media_files.text)), "warp", 1.0, 0, "fast", 0,
                       api_name="/generate")


@pytest.mark.parametrize("concurrency", [1, 2])
def test_generations_queue_one_at_a_time_by_default(stub_pipeline, tmp_path, helpers, media_files, concurrency):
    """Two simultaneous requests: with the default concurrency 1 the second waits for the first; with 2 they overlap."""
    from gradio_client import Client, handle_file

    stub_pipeline.delay = 1.5
    demo, url = helpers.launch(stub_pipeline, tmp_path, concurrency=concurrency)
    try:
        client = Client(url, verbose=False)
        args = (handle_file(str(media_files.wav)), handle_file(str(media_files.clip)), "warp", 1.0, 0, "fast", 0)
        jobs = [client.submit(*args, api_name="/generate") for _ in range(2)]
        for job in jobs:
            job.result(timeout=60)
    finally:
        demo.close()
    (s1, e1), (s2, e2) = sorted(stub_pipeline.spans)
    overlapped = s2 < e1
    assert overlapped == (concurrency > 1), stub_pipeline.spans
