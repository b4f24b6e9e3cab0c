"""End-to-end speed of ``facial generate`` (warp renderer) as a ratio to the speech length, and the warp renderer's fps.

```
python benchmarks/generate_speed.py [--work DIR] [--threads 2] [--json OUT.json]
```

Cases (inputs excerpted from ``../shared/data`` into ``--work``, outside the repository):

- **seen speaker, 10 s speech**: `mimictalk__Trump_10s` (10 s, 512²) — its profile and `fast`
  personalised FACIAL-GAN cached by an untimed first run — then `facial generate` with 10 s of
  speech, timed;
- **seen speaker with 40 s of footage, 10 s speech**: the same with the first 40 s of
  `dfrf__cnn2_25fps` (512²): more source frames to decode;
- **new 40 s speaker + 20 s speech**: the same 40 s clip with an empty cache (tracking,
  `fast` fine-tuning, rendering, encoding), 20 s of speech.

Speech: the first 10 s / 20 s of `facial__obama2`. Every `facial generate` runs as its own process
(`python -m facial.cli generate ... --threads N`), timed from start to exit: Python start-up and
imports included, as a user would see it. The stage times come from the command's own log line.

- **warp renderer fps**: :meth:`WarpRenderer.render` over 250 frames of the 10 s speaker's own
  (reversed) track at 512², in this process, with 1 thread and with ``--threads`` (OpenCV threads
  and renderer workers); the speaker's frames decoded beforehand (decoding is timed separately).

Ratios to the speech length hold better than seconds on a shared machine, but a busy machine is
slower: the 1-minute load average is printed beside every row.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACIAL_SHARED", ROOT.parent / "shared"))
STAGES_RE = re.compile(r"audio ([\d.]+)s, speaker ([\d.]+)s, animate ([\d.]+)s, render ([\d.]+)s, mux ([\d.]+)s")
log = logging.getLogger("generate_speed")


def shared_file(manifest_id: str) -> Path:
    manifest = SHARED / "data" / "MANIFEST.csv"
    for row in csv.DictReader(open(manifest)):
        if row["id"] == manifest_id:
            return manifest.parent / row["path"]
    raise SystemExit(f"{manifest_id}: not in {manifest}")


def prepare(work: Path) -> dict[str, Path]:
    from facial import media

    work.mkdir(parents=True, exist_ok=True)
    out = {"speaker10": work / "speaker10.mp4", "speaker40": work / "speaker40.mp4",
           "speech10": work / "speech10.wav", "speech20": work / "speech20.wav"}
    if not out["speaker10"].exists():
        media.transcode(shared_file("mimictalk__Trump_10s"), out["speaker10"], fps=25)
    if not out["speaker40"].exists():
        media.transcode(shared_file("dfrf__cnn2_25fps"), out["speaker40"], fps=25, duration=40.0)
    speech = shared_file("facial__obama2")
    for key, secs in (("speech10", 10.0), ("speech20", 20.0)):
        if not out[key].exists():
            media.save_wav(out[key], media.load_audio(speech, head_seconds=secs))
    return out


def generate(audio: Path, speaker: Path, out: Path, cache: Path, threads: int) -> dict:
    env = dict(os.environ, FACIAL_CACHE=str(cache), HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    cmd = [sys.executable, "-m", "facial.cli", "generate", "--audio", str(audio), "--speaker", str(speaker), "-o", str(out),
           "--threads", str(threads), "-q"]
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"facial generate failed:\n{proc.stderr[-2000:]}")
    m = STAGES_RE.search(proc.stderr)
    stages = dict(zip(("audio", "speaker", "animate", "render", "mux"), map(float, m.groups()))) if m else {}
    return {"wall_s": wall, "stages_s": stages, "load": load}


def renderer_fps(speaker: Path, cache: Path, threads: int) -> dict:
    """fps of WarpRenderer.render at the speaker's size, frames decoded first."""
    from facial.cli._common import configure_threads
    from facial.face_render import WarpRenderer
    from facial.pipeline import FacialPipeline
    from facial.types import FaceParams

    profile = FacialPipeline(cache_dir=cache).speaker_profile(speaker)
    pp = profile.params
    n = min(250, profile.n_frames)
    params = FaceParams(pp.pose[:n][::-1].copy(), pp.expression[:n][::-1].copy(), pp.blink[:n][::-1].copy(), pp.fps)
    renderer = WarpRenderer(profile)
    t = time.perf_counter()
    _ = renderer.frames
    decode = time.perf_counter() - t
    renderer.render(FaceParams(params.pose[:10], params.expression[:10], params.blink[:10], params.fps))  # kernels loaded
    out = {"frames": n, "size": list(profile.size), "decode_s": decode}
    for k in sorted({1, threads}):
        configure_threads(k)
        renderer.workers = k  # frames rendered at once, as --render-workers
        load = os.getloadavg()[0]
        t = time.perf_counter()
        renderer.render(params)
        dt = time.perf_counter() - t
        out[f"fps_threads{k}"] = n / dt
        out[f"load_threads{k}"] = load
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/work/cache/generate_speed"), help="inputs, caches and outputs (outside the repository)")
    ap.add_argument("--threads", type=int, default=2, help="--threads of facial generate (default 2: both cores)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cases", nargs="+", default=["seen10", "seen40", "new40", "fps"],
                    choices=["seen10", "seen40", "new40", "fps"], help="which rows to measure (default: all)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import shutil

    inputs = prepare(args.work)
    seen_cache, new_cache = args.work / "cache-seen", args.work / "cache-new"
    results: dict = {"cpus": os.cpu_count(), "threads": args.threads, "rows": []}
    for speaker, label, case in ((inputs["speaker10"], "seen speaker (10 s footage), 10 s speech", "seen10"),
                                 (inputs["speaker40"], "seen speaker (40 s footage), 10 s speech", "seen40")):
        if case not in args.cases:
            continue
        generate(inputs["speech10"], speaker, args.work / "warmup.mp4", seen_cache, args.threads)  # tracks + personalises, untimed
        r = generate(inputs["speech10"], speaker, args.work / "out.mp4", seen_cache, args.threads)
        results["rows"].append({"case": label, "speech_s": 10.0, **r, "ratio": r["wall_s"] / 10.0})
        log.info("%s: %.1f s (%.2f × speech)", label, r["wall_s"], r["wall_s"] / 10.0)
    if "new40" in args.cases:
        shutil.rmtree(new_cache, ignore_errors=True)
        r = generate(inputs["speech20"], inputs["speaker40"], args.work / "out.mp4", new_cache, args.threads)
        results["rows"].append({"case": "new speaker (40 s footage), 20 s speech", "speech_s": 20.0, **r, "ratio": r["wall_s"] / 20.0})
        log.info("new speaker: %.1f s (%.2f × speech)", r["wall_s"], r["wall_s"] / 20.0)
    if "fps" in args.cases:
        results["renderer"] = renderer_fps(inputs["speaker10"], seen_cache, args.threads)

    print("| case | wall | × speech | audio | speaker | animate | render + encode | mux | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results["rows"]:
        st = row["stages_s"]
        print(f"| {row['case']} | {row['wall_s']:.1f} s | **{row['ratio']:.2f}** | " +
              " | ".join(f"{st.get(k, float('nan')):.1f}" for k in ("audio", "speaker", "animate", "render", "mux")) +
              f" | {row['load']:.1f} |")
    rr = results.get("renderer")
    if rr:
        print(f"\nwarp renderer, {rr['frames']} frames at {rr['size'][0]}×{rr['size'][1]}: " +
              ", ".join(f"{rr[k]:.1f} fps with {k.removeprefix('fps_threads')} thread(s) (load {rr['load_threads' + k.removeprefix('fps_threads')]:.1f})"
                        for k in rr if k.startswith("fps_")) + f"; decoding the footage {rr['decode_s']:.2f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
