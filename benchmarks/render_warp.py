"""Benchmark of the warp renderer on real dev clips: speed, self-reconstruction and held-out quality.

```
python benchmarks/render_warp.py [--clips ID ...] [--work DIR] [--threads 2] [--json OUT.json]
```

Per clip (tracked once into ``--work``, outside the repository):

- **self-reconstruction**: render the clip's own tracked parameters with every frame available
  as a source, compare with the real frames (PSNR/SSIM, whole frame);
- **held-out**: sources restricted to the first 90 % of the clip, render the last 10 % from their
  tracked parameters, compare with the real frames; baselines on the same frames: the
  un-warped source frame the path chose, and the single reference (texture) frame;
- **speed**: rendered frames per second at the clip's resolution (wall clock, all stages of
  :meth:`WarpRenderer.render` including planning), with the machine load printed alongside.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACIAL_SHARED", ROOT.parent / "shared"))
DEFAULT_CLIPS = ["mimictalk__May_5s", "sadtalker__RD_Radio34_000", "sadtalker__WDA_AlexandriaOcasioCortez_000", "dfrf__cnn2_25fps"]


def clip_path(manifest_id: str) -> Path:
    manifest = SHARED / "data" / "MANIFEST.csv"
    for row in csv.DictReader(open(manifest)):
        if row["id"] == manifest_id and row["kind"] == "talking_video":
            return manifest.parent / row["path"]
    raise SystemExit(f"{manifest_id}: not a talking video in {manifest}")


def load_or_track(manifest_id: str, work: Path):
    from facial.speaker.profile import is_profile_dir, load_profile, save_profile
    from facial.speaker.track import track_clip

    d = work / manifest_id
    if not is_profile_dir(d):
        save_profile(track_clip(clip_path(manifest_id), progress=False), d)
    return load_profile(d)


def metrics(fake: np.ndarray, real: np.ndarray) -> tuple[float, float]:
    from facial.face2vid.train import image_metrics

    return image_metrics(fake, real)


def bench_clip(manifest_id: str, work: Path, max_frames: int) -> dict:
    from facial.face_render import WarpRenderer
    from facial.face_render.render import reference_frame_index
    from facial.face_render.footage import load_speaker_frames

    profile = load_or_track(manifest_id, work)
    frames = load_speaker_frames(profile)
    n = len(profile)
    row = {"clip": manifest_id, "frames": n, "size": f"{profile.size[0]}x{profile.size[1]}"}
    # self-reconstruction (first max_frames frames)
    m = min(n, max_frames)
    r = WarpRenderer(profile, frames=frames)
    t0 = time.perf_counter()
    out = r.render(profile.params.slice(0, m))
    dt = time.perf_counter() - t0
    row["self_psnr"], row["self_ssim"] = metrics(out.frames, frames[:m])
    row["fps"] = m / dt
    # held-out: sources = first 90 %, targets = last 10 %
    n_train = int(np.floor(0.9 * n))
    r = WarpRenderer(profile, pool=range(n_train), frames=frames)
    params = profile.params.slice(n_train, n)
    t0 = time.perf_counter()
    plan = r.plan(params)
    out = r.render(params, plan=plan)
    row["heldout_fps"] = len(params) / (time.perf_counter() - t0)
    real = frames[n_train:]
    row["heldout_psnr"], row["heldout_ssim"] = metrics(out.frames, real)
    row["unwarped_psnr"], row["unwarped_ssim"] = metrics(frames[plan.source], real)
    k = reference_frame_index(profile, range(n_train))
    row["reference_psnr"], row["reference_ssim"] = metrics(np.repeat(frames[k:k + 1], len(real), 0), real)
    row["jumps"] = int(plan.jumps)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", nargs="+", default=DEFAULT_CLIPS, help="manifest ids of real talking videos")
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "facial" / "bench-profiles", help="where tracked profiles are kept")
    ap.add_argument("--threads", type=int, default=2, help="OpenCV/torch threads")
    ap.add_argument("--max-frames", type=int, default=250, help="frames used for self-reconstruction and speed")
    ap.add_argument("--json", type=Path, help="write the rows as JSON here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import cv2
    from facial.cli._common import configure_threads

    cv2.setNumThreads(args.threads)
    configure_threads(args.threads)
    rows = []
    for cid in args.clips:
        load = os.getloadavg()[0]
        row = bench_clip(cid, args.work, args.max_frames)
        row["load_avg_1min"] = round(load, 2)
        rows.append(row)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    print("\n| clip | size | frames | fps | self PSNR / SSIM | held-out PSNR / SSIM | un-warped source | reference frame | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['size']} | {r['frames']} | {r['fps']:.1f} | {r['self_psnr']:.2f} / {r['self_ssim']:.3f} | "
              f"{r['heldout_psnr']:.2f} / {r['heldout_ssim']:.3f} | {r['unwarped_psnr']:.2f} / {r['unwarped_ssim']:.3f} | "
              f"{r['reference_psnr']:.2f} / {r['reference_ssim']:.3f} | {r['load_avg_1min']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
