"""The app and the Hub: FACIAL_SPEAKERS → a gallery of published speakers in the Generate tab (pick one
instead of uploading a clip), and "publish this speaker" behind FACIAL_ALLOW_PUBLISH=1 + HF_TOKEN
(absent by default). The Hub is the local stand-in of tests/hub_server.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo.config import ConfigError, DemoConfig
from demo.handlers import Handlers
from tests.hub_fixtures import fake_hub, make_speaker_folder, packaged_basis  # noqa: F401  (fixtures)
from tests.hub_server import offline

CONSENT = "Agreed on camera to be animated and published."


@pytest.fixture
def stub_class(helpers):
    class HubStubPipeline(helpers.StubPipeline):
        """The app-test stub, plus speaker profile folders (what a gallery pick hands to the pipeline)."""

        def profile_dir_for(self, speaker, fps):
            if Path(speaker).is_dir():
                return Path(speaker)
            return super().profile_dir_for(speaker, fps)

    return HubStubPipeline


@pytest.fixture
def published(fake_hub, tmp_path, packaged_basis):
    """Two speakers on the stand-in Hub: one without footage (renderer only), one with its clip."""
    from facial.hub import publish

    publish(make_speaker_folder(tmp_path / "p", packaged_basis, name="ann"), "alice/ann", consent=CONSENT)
    publish(make_speaker_folder(tmp_path / "p", packaged_basis, name="bob"), "alice/bob", consent=CONSENT, include_footage=True)
    return fake_hub


@pytest.fixture
def handlers(stub_class):
    def make(tmp_path, **config) -> Handlers:
        return Handlers(stub_class(tmp_path / "stub"), DemoConfig(work_dir=tmp_path / "work", max_audio_s=2.0, **config))

    return make


# ------------------------------------------------------------------ settings
def test_settings_parse_and_are_documented():
    import demo.config as cfg

    c = DemoConfig.from_env({"FACIAL_SPEAKERS": "alice/ann, alice/bob@v2\nbob/x", "FACIAL_ALLOW_PUBLISH": "1"})
    assert c.speakers == ("alice/ann", "alice/bob@v2", "bob/x") and c.allow_publish
    d = DemoConfig.from_env({})
    assert d.speakers == () and d.allow_publish is False  # off by default
    with pytest.raises(ConfigError, match="FACIAL_SPEAKERS: 'clips/me.mp4'"):
        DemoConfig.from_env({"FACIAL_SPEAKERS": "clips/me.mp4"})
    with pytest.raises(ConfigError, match="FACIAL_ALLOW_PUBLISH"):
        DemoConfig.from_env({"FACIAL_ALLOW_PUBLISH": "sometimes"})
    for var in ("FACIAL_SPEAKERS", "FACIAL_ALLOW_PUBLISH", "HF_TOKEN"):
        assert var in cfg.__doc__


# ------------------------------------------------------------------ gallery
def test_gallery_lists_published_speakers_and_says_which_failed(published, tmp_path, handlers):
    h = handlers(tmp_path, speakers=("alice/ann", "alice/bob", "alice/missing"))
    entries = h.gallery_speakers()
    assert [e.ref for e in entries] == ["alice/ann", "alice/bob", "alice/missing"]
    ann, bob, missing = entries
    assert ann.ok and not ann.footage and bob.ok and bob.footage
    assert not missing.ok and "no such speaker repo" in missing.error
    items = h.gallery_value()
    assert len(items) == 2 and all(Path(img).is_file() for img, _ in items)
    assert "ann" in items[0][1] and "alice/ann" in items[0][1]
    note = h.gallery_note()
    assert "alice/missing" in note and "unavailable" in note
    n = len(published.requests)
    h.gallery_speakers()  # built once
    assert len(published.requests) == n


def test_gallery_works_offline_from_the_cache(published, tmp_path, monkeypatch, handlers):
    handlers(tmp_path, speakers=("alice/ann",)).gallery_speakers()  # fetched once online
    offline(monkeypatch)
    n = len(published.requests)
    h = handlers(tmp_path / "second", speakers=("alice/ann",))
    assert h.gallery_speakers()[0].ok and len(published.requests) == n


def test_pick_then_generate_with_a_published_speaker(published, tmp_path, media_files, handlers):
    h = handlers(tmp_path, speakers=("alice/ann", "alice/bob"))
    ref, line, clear = h.pick_speaker(0)
    assert ref == "alice/ann" and "neural renderer" in line and clear["value"] is None
    assert h.pick_speaker(7)[0] is None and h.clear_pick() == (None, "")
    video, plot, profile_zip, summary = h.generate(media_files.wav, None, "warp", 1.0, 0, "fast", 0, "alice/ann", progress=None)
    call = h.pipeline.calls[-1]
    # the pipeline got the unpacked profile folder (no download per request) and the neural renderer (no footage)
    assert call["renderer"] == "neural" and (call["speaker"] / "profile.json").is_file()
    assert json.loads((call["speaker"] / "profile.json").read_text())["hub"]["repo"] == "alice/ann"
    assert "Published speaker" in summary and "without its footage" in summary and Path(video).is_file()
    # a speaker published with its clip keeps the warp renderer
    h.generate(media_files.wav, None, "warp", 1.0, 0, "fast", 0, "alice/bob", progress=None)
    assert h.pipeline.calls[-1]["renderer"] == "warp"
    # an upload wins over an earlier pick
    h.generate(media_files.wav, media_files.clip, "warp", 1.0, 0, "fast", 0, "alice/ann", progress=None)
    assert h.pipeline.calls[-1]["speaker"].name == "speaker.mp4"


def test_only_configured_speakers_can_be_picked(published, tmp_path, media_files, err, handlers):
    h = handlers(tmp_path, speakers=("alice/ann",))
    assert "not one of this app's published speakers" in err(h.generate, media_files.wav, None, "warp", 1.0, 0, "fast", 0,
                                                                 "alice/bob", progress=None)
    msg = err(h.generate, media_files.wav, None, progress=None)
    assert "No speaker given" in msg and "gallery" in msg
    n = len(published.requests)
    err(h.generate, media_files.wav, None, "warp", 1.0, 0, "fast", 0, "evil/repo", progress=None)
    assert len(published.requests) == n  # nothing typed by a visitor reaches the Hub


def test_page_shows_the_gallery_only_when_configured(published, tmp_path, stub_class):
    from demo.ui import build_demo

    def ids(demo):
        return {getattr(b, "elem_id", None) for b in demo.blocks.values()}

    plain = build_demo(stub_class(tmp_path / "s1"), DemoConfig(work_dir=tmp_path / "w1"))
    assert "speaker-gallery" not in ids(plain) and "publish-box" not in ids(plain)
    with_gallery = build_demo(stub_class(tmp_path / "s2"), DemoConfig(work_dir=tmp_path / "w2", speakers=("alice/ann",),
                                                                           allow_publish=True))
    assert {"speaker-gallery", "publish-box", "publish-btn"} <= ids(with_gallery)
    api = with_gallery.get_api_info()["named_endpoints"]["/generate"]
    assert [p["parameter_name"] for p in api["parameters"]] == ["audio", "speaker", "renderer", "head_motion", "blink_rate",
                                                                "finetune_effort", "seed"]  # the API is unchanged


# ------------------------------------------------------------------ publishing from the app
def test_publish_is_off_by_default_and_needs_a_token(published, tmp_path, media_files, err, monkeypatch, handlers):
    h = handlers(tmp_path)
    assert "switched off" in err(h.publish_speaker, media_files.clip, "alice/new", True, True, "", False)
    h = handlers(tmp_path, allow_publish=True)
    monkeypatch.delenv("HF_TOKEN")
    assert "HF_TOKEN" in err(h.publish_speaker, media_files.clip, "alice/new", True, True, "", False)
    assert "alice/new" not in published.repos


def test_publish_this_speaker(published, tmp_path, media_files, err, packaged_basis, handlers):
    h = handlers(tmp_path, allow_publish=True)
    assert "consent" in err(h.publish_speaker, media_files.clip, "alice/new", True, False, "", False)
    assert "Generate once" in err(h.publish_speaker, media_files.clip, "alice/new", True, True, "", False)
    h.generate(media_files.wav, media_files.clip, progress=None)  # the stub tracks it into its cache …
    folder = h.pipeline.profile_dir_for(media_files.clip, 25.0)
    import shutil

    shutil.rmtree(folder)  # … replaced here by a real profile with a trained renderer
    shutil.copytree(make_speaker_folder(tmp_path / "real", packaged_basis, name="me"), folder)
    assert "not a valid" in err(h.publish_speaker, media_files.clip, "not a repo", True, True, "", False)
    msg = h.publish_speaker(media_files.clip, "alice/new", True, True, "", False)
    assert "Published" in msg and "alice/new" in msg
    remote = published.files("alice/new")
    assert published.repos["alice/new"].private and "frames.mp4" not in remote
    assert "agreed to be animated" in remote["README.md"].decode()
    h.publish_speaker(media_files.clip, "alice/new", False, True, "My own clip.", True)
    assert "frames.mp4" in published.files("alice/new")


# ------------------------------------------------------------------ in a real browser
@pytest.mark.browser
def test_pick_a_published_speaker_in_chromium(published, tmp_path, stub_class, helpers, media_files):
    """Click a gallery picture, then Generate: the stub pipeline gets the published speaker (neural renderer)."""
    from tests.demo.test_browser import CHROMIUM_ARGS, chromium_or_skip

    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    pipeline = stub_class(tmp_path / "stub")
    demo, url = helpers.launch(pipeline, tmp_path, speakers=("alice/ann", "alice/bob"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(url)
                page.wait_for_selector("#speaker-gallery img", timeout=60_000)
                assert page.locator("#speaker-gallery img").count() == 2
                page.locator("#audio-input input[type=file]").set_input_files(str(media_files.wav))
                page.locator("#speaker-gallery img").first.click()
                page.wait_for_function("() => document.querySelector('#chosen-speaker')?.innerText.includes('alice/ann')",
                                       timeout=30_000)
                page.click("#generate-btn")
                page.wait_for_function("() => document.querySelector('#generate-summary')?.innerText.includes('Published speaker')",
                                       timeout=120_000)
                shots = helpers.artifacts / "screenshots"
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "hub_gallery.png"), full_page=True)
            finally:
                browser.close()
        call = pipeline.calls[-1]
        assert call["renderer"] == "neural" and (call["speaker"] / "profile.json").is_file()
        assert "alice--ann" in str(call["speaker"])
    finally:
        demo.close()
