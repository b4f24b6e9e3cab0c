"""Benchmark: time from clicking Generate to the finished video in the app, on this machine.

Starts ``app.py`` (a separate process, as a user would), then drives the Generate endpoint through
``gradio_client`` with 5 s of real speech and a 10 s real speaker clip the app has never seen (the
clip's container gets a unique metadata tag, so its content hash — the speaker-cache key — is new
while the frames are the original ones) and the app runs with an empty speaker cache
(``FACIAL_CACHE`` in a temporary folder). Warp renderer, tracking and fine-tuning included.
The measured time runs from submitting the request (uploads included) to the result being back.
``--again`` also times a second request with the same speaker (profile cache hit).

    python benchmarks/app_click_to_video.py --json runs/app_click_to_video.json

Inputs come from ../shared/data (research-use; excerpts are written to a temporary folder only).
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("app_click_to_video")


def manifest_path(shared: Path, manifest_id: str, kind: str) -> Path:
    with open(shared / "data" / "MANIFEST.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["id"] == manifest_id and row["kind"] == kind:
                return shared / "data" / row["path"]
    raise SystemExit(f"{manifest_id} ({kind}) is not in {shared / 'data' / 'MANIFEST.csv'}")


def ffmpeg(*args: str) -> None:
    from facial.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *args], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"app.py exited with status {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the app did not answer at {url} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=Path(os.environ.get("FACIAL_SHARED", ROOT.parent / "shared")))
    p.add_argument("--clip-id", default="mimictalk__Trump_10s", help="manifest id of the speaker clip (talking_video)")
    p.add_argument("--clip-seconds", type=float, default=10.0)
    p.add_argument("--speech-id", default="facial__obama2", help="manifest id of the speech (speech_audio)")
    p.add_argument("--speech-seconds", type=float, default=5.0)
    p.add_argument("--renderer", default="warp")
    p.add_argument("--effort", default="fast", help="fine-tuning effort")
    p.add_argument("--checkpoint", help="FACIAL_CHECKPOINT for the app (FACIAL-GAN folder or repo id; default: the packaged one)")
    p.add_argument("--untrained-checkpoint", action="store_true",
                   help="give the app an untrained FACIAL-GAN (default config) so that fine-tuning runs and is timed even "
                        "where the packaged checkpoint is not installed yet; the motion is meaningless, the compute is the same")
    p.add_argument("--again", action="store_true", help="also time a second request with the same speaker (cache hit)")
    p.add_argument("--json", type=Path, help="write the measurements here (never overwrites: a new name is chosen)")
    p.add_argument("--startup-timeout", type=float, default=600)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, str(ROOT))

    from gradio_client import Client, handle_file

    from facial.media import probe

    with tempfile.TemporaryDirectory(prefix="facial-bench-app-") as tmp:
        tmp = Path(tmp)
        speech = tmp / "speech_5s.wav"
        clip = tmp / "new_speaker_10s.mp4"
        ffmpeg("-i", str(manifest_path(args.shared, args.speech_id, "speech_audio")), "-t", f"{args.speech_seconds}",
               "-vn", "-ac", "1", "-ar", "16000", str(speech))
        ffmpeg("-i", str(manifest_path(args.shared, args.clip_id, "talking_video")), "-t", f"{args.clip_seconds}",
               "-c", "copy", "-metadata", f"comment=facial-bench-{uuid.uuid4().hex}", str(clip))
        ci, si = probe(clip), probe(speech)
        log.info("speaker clip %s: %.2f s %dx%d @ %.2f fps; speech %.2f s", args.clip_id, ci.duration, ci.width, ci.height,
                 ci.fps or 0, si.duration)

        port = free_port()
        # an empty speaker cache: the clip is new to the app (and nothing is left in ~/.cache)
        env = {**os.environ, "FACIAL_HOST": "127.0.0.1", "FACIAL_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
               "FACIAL_WORK_DIR": str(tmp / "work"), "FACIAL_CACHE": str(tmp / "cache")}
        checkpoint = args.checkpoint
        if args.untrained_checkpoint:
            from facial.audio2face import FacialGAN

            checkpoint = str(FacialGAN().save_pretrained(tmp / "untrained_facial_gan"))
            log.info("untrained FACIAL-GAN (timing only) in %s", checkpoint)
        if checkpoint:
            env["FACIAL_CHECKPOINT"] = checkpoint
        t_start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for(url, proc, args.startup_timeout)
            startup = time.perf_counter() - t_start
            log.info("app up in %.1f s at %s", startup, url)
            client = Client(url, verbose=False)

            def click(speaker: Path, seed: int) -> tuple[float, str, str]:
                t0 = time.perf_counter()
                video, _plot, _profile, summary = client.predict(
                    handle_file(str(speech)), handle_file(str(speaker)), args.renderer, 1.0, 0, args.effort, seed,
                    api_name="/generate")
                elapsed = time.perf_counter() - t0
                video = video["video"] if isinstance(video, dict) else video
                return elapsed, video, summary

            first, video, summary = click(clip, 0)
            out_duration = probe(video).duration
            log.info("click → video (new speaker): %.1f s; output %.2f s", first, out_duration)
            log.info("app summary: %s", re.sub(r"\s+", " ", summary))
            result = {
                "benchmark": "app_click_to_video", "seconds_new_speaker": round(first, 2),
                "output_duration_s": round(out_duration, 2), "speech_s": round(si.duration, 2), "clip_s": round(ci.duration, 2),
                "clip_id": args.clip_id, "speech_id": args.speech_id, "renderer": args.renderer, "effort": args.effort,
                "app_summary": summary, "startup_s": round(startup, 1),
                "checkpoint": "untrained (timing only)" if args.untrained_checkpoint else (args.checkpoint or "packaged"),
                "driver": (re.search(r"motion from ([\w-]+)", summary) or [None, "?"])[1],
                "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            if args.again:
                again = tmp / "same_speaker_again.mp4"
                again.write_bytes(clip.read_bytes())
                second, _, summary2 = click(again, 1)
                log.info("click → video (same speaker again): %.1f s", second)
                result["seconds_cached_speaker"] = round(second, 2)
                result["app_summary_cached"] = summary2
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    if args.json:
        path = args.json
        n = 1
        while path.exists():
            path = args.json.with_name(f"{args.json.stem}_{n}{args.json.suffix}")
            n += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
        log.info("wrote %s", path)
    log.info("RESULT %s", json.dumps({k: v for k, v in result.items() if not k.startswith("app_summary")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
