"""Peak memory of `facial generate` for the largest inputs the app accepts, and for hostile inputs
that claim to be small.

Each case runs in a fresh process (`python -m facial.cli generate …`); its peak resident memory is
`ru_maxrss` of the finished child. Inputs are made from a real clip of ../shared/data (looped to
the limit) and never leave the work folder.

    .venv/bin/python benchmarks/peak_memory.py --work ~/.cache/facial/bench-mem [--clip-s 120 --audio-s 60]
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT.parent / "shared" / "data" / "MANIFEST.csv"
log = logging.getLogger("peak_memory")


def _ffmpeg(*args: str) -> None:
    from facial import media

    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *args], check=True)


def _shared(manifest_id: str) -> Path:
    for row in csv.DictReader(open(MANIFEST)):
        if row["id"] == manifest_id:
            return MANIFEST.parent / row["path"]
    raise SystemExit(f"{manifest_id} not in {MANIFEST}")


def _lying_mkv(path: Path, seconds: float, claims: float) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"color=c=gray:s=512x512:r=25:d={seconds}", "-f", "lavfi", "-i", f"sine=f=220:d={seconds}:r=16000",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", str(path))
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")
    data[at + 3:at + 11] = struct.pack(">d", claims * 1000.0)
    path.write_bytes(bytes(data))
    return path


def _run(name: str, args: list[str], work: Path) -> dict:
    cmd = [sys.executable, "-m", "facial.cli", "generate", "-q", "--cache-dir", str(work / f"cache-{name}"), *args,
           "-o", str(work / f"{name}.mp4")]
    # a one-child wrapper: RUSAGE_CHILDREN of the wrapper is exactly this case's peak
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE, text=True); "
               "sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, cwd=ROOT)
    peak_kb = int(proc.stdout.strip().splitlines()[-1])
    row = {"case": name, "rc": proc.returncode, "seconds": round(time.perf_counter() - t0, 1),
           "peak_rss_mb": round(peak_kb / 1024), "message": (proc.stderr.strip().splitlines() or [""])[-1][:160]}
    log.info("%s", row)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "facial" / "bench-mem")
    ap.add_argument("--clip", default="dfrf__cnn2_25fps", help="manifest id of the speaker clip to loop")
    ap.add_argument("--speech", default="facial__obama2", help="manifest id of the speech to loop")
    ap.add_argument("--clip-s", type=float, default=120.0, help="speaker clip length (the app's FACIAL_MAX_CLIP_S)")
    ap.add_argument("--audio-s", type=float, default=60.0, help="speech length (the app's FACIAL_MAX_AUDIO_S)")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    clip, speech = work / "speaker_max.mp4", work / "speech_max.wav"
    _ffmpeg("-stream_loop", "-1", "-i", str(_shared(args.clip)), "-t", f"{args.clip_s}", "-an", "-c:v", "libx264",
            "-preset", "ultrafast", str(clip))
    _ffmpeg("-stream_loop", "-1", "-i", str(_shared(args.speech)), "-t", f"{args.audio_s}", "-ac", "1", "-ar", "16000", str(speech))
    lie_clip = _lying_mkv(work / "clip_claims_4s.mkv", 600.0, 4.0)
    limits = ["--max-audio-seconds", f"{args.audio_s}", "--max-clip-seconds", f"{args.clip_s}"]
    rows = [
        _run("largest_accepted", ["--audio", str(speech), "--speaker", str(clip), *limits], work),
        _run("clip_header_lies_600s", ["--audio", str(speech), "--speaker", str(lie_clip), *limits], work),
        _run("audio_header_lies_600s", ["--audio", str(lie_clip), "--speaker", str(clip), *limits], work),
    ]
    print("| case | exit | seconds | peak RSS (MB) | last line |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['rc']} | {r['seconds']} | {r['peak_rss_mb']} | {r['message']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
