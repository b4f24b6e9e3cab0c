"""The app in a real headless browser: Debian's Chromium driven by Playwright (no browser download).

Uploads a short real clip and real speech, clicks Generate, waits for the video and checks that it
plays; then uploads a file that is not a video and checks the error message. Screenshots go to
``artifacts/screenshots/``. Needs ``apt-get install -y chromium`` (``.ci/run`` does it), the real
pipeline and the research clips in ../shared.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.shared_data]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_or_skip() -> str:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.skip("Debian's chromium is not installed (`apt-get install -y chromium`; .ci/run does it); "
                    "the browser test drives it through Playwright without downloading a browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")
    return exe


@pytest.fixture()
def browser_page():
    from playwright.sync_api import sync_playwright

    exe = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            yield page
        finally:
            browser.close()


def test_generate_in_chromium_then_non_video_error(real_pipeline, browser_page, helpers, tmp_path):
    shots = helpers.artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    clip = helpers.excerpt(helpers.shared_path("pcavs__Input_00010", "talking_video"), tmp_path / "speaker_clip.mp4", 3.0)
    speech = helpers.excerpt(helpers.shared_path("sadtalker__RD_Radio31_000", "speech_audio"), tmp_path / "speech.wav", 2.0, video=False)
    not_video = tmp_path / "notes.txt"
    not_video.write_text("these are my notes, not a video\n" * 10)

    demo, url = helpers.launch(real_pipeline, tmp_path)
    page = browser_page
    try:
        page.goto(url)
        page.wait_for_selector("#generate-btn", timeout=60_000)
        page.locator("#audio-input input[type=file]").set_input_files(str(speech))
        page.locator("#speaker-input input[type=file]").set_input_files(str(clip))
        page.wait_for_selector("#speaker-preview-video video", timeout=60_000)
        page.screenshot(path=str(shots / "01_inputs.png"), full_page=True)

        page.click("#generate-btn")
        page.wait_for_function(
            "() => { const v = document.querySelector('#result-video video');"
            " return v && v.readyState >= 1 && v.duration > 0; }", timeout=240_000)
        duration = page.evaluate("document.querySelector('#result-video video').duration")
        assert 1.5 < duration < 2.6, duration  # about the 2 s of speech
        played = page.evaluate(
            "async () => { const v = document.querySelector('#result-video video'); v.muted = true;"
            " await v.play(); await new Promise(r => setTimeout(r, 700)); v.pause(); return v.currentTime; }")
        assert played > 0.1, f"the result video did not play (currentTime {played})"
        assert page.locator("#curves-plot img").count() == 1
        assert page.locator("#profile-file").get_by_text(".zip").count() >= 1
        page.screenshot(path=str(shots / "02_result.png"), full_page=True)

        page.locator("#speaker-input button[aria-label='Clear']").click()
        page.locator("#speaker-input input[type=file]").set_input_files(str(not_video))
        toast = page.locator(".toast-body").filter(has_text="not a video or photo")
        toast.first.wait_for(timeout=30_000)
        text = toast.first.inner_text()
        assert "notes.txt" in text and "Upload a clip" in text
        page.wait_for_timeout(800)  # let the toast finish fading in
        page.screenshot(path=str(shots / "03_non_video_error.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(shots / "failure.png"), full_page=True)
        raise
    finally:
        demo.close()
