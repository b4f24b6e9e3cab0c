"""The Generate endpoint over HTTP with ``gradio_client``, running the real pipeline on real clips."""
from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def test_generate_api_real_pipeline(real_pipeline, helpers, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from facial.media import probe

    clip = helpers.excerpt(helpers.shared_path("pcavs__Input_00010", "talking_video"), tmp_path / "speaker.mp4", 3.0)
    speech = helpers.excerpt(helpers.shared_path("sadtalker__RD_Radio31_000", "speech_audio"), tmp_path / "speech.wav", 2.0, video=False)
    demo, url = helpers.launch(real_pipeline, tmp_path)
    try:
        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        video, plot, profile, summary = client.predict(
            handle_file(str(speech)), handle_file(str(clip)), "warp", 1.0, 0, "fast", 0, api_name="/generate")
        first = time.perf_counter() - t0
        video = video["video"] if isinstance(video, dict) else video
        info = probe(video)
        assert info.has_video and info.has_audio and abs(info.duration - 2.0) < 0.3
        assert Path(plot).suffix == ".png" and Path(plot).stat().st_size > 10_000
        with zipfile.ZipFile(profile) as zf:
            assert "profile.json" in zf.namelist()
        assert "Done in" in summary and "skipped" not in summary

        # the same speaker clip uploaded again (new name, same content): tracking and fine-tuning are skipped
        again = tmp_path / "same_speaker_again.mp4"
        again.write_bytes(clip.read_bytes())
        t0 = time.perf_counter()
        *_, summary2 = client.predict(handle_file(str(speech)), handle_file(str(again)), "warp", 1.0, 0, "fast", 1,
                                      api_name="/generate")
        second = time.perf_counter() - t0
        assert "tracking and fine-tuning were skipped" in summary2
        assert second < first, (first, second)

        with pytest.raises(AppError, match="not a video or photo"):
            notes = tmp_path / "notes.txt"
            notes.write_text("not a video")
            client.predict(handle_file(str(speech)), handle_file(str(notes)), "warp", 1.0, 0, "fast", 0, api_name="/generate")
    finally:
        demo.close()
