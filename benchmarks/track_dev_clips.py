"""Track every real dev clip of a MANIFEST.csv into profile directories and time it.

    python benchmarks/track_dev_clips.py ../shared/data/MANIFEST.csv -o /work/cache/profiles [--report docs/tracking_report.md]

Writes ``OUT/<manifest id>/`` profiles (no overlay), ``OUT/_summary.csv`` (per clip: frames,
seconds, frames/s, valid fraction, blink rate, notes) and ``OUT/_DONE``. Clips that cannot be
tracked are listed with the reason. Existing profiles are kept (incremental).
"""
from __future__ import annotations

import argparse
import csv
import logging
import time
from pathlib import Path

from tqdm.auto import tqdm

from facial.speaker.landmarks import FaceTrackingError
from facial.speaker.profile import is_profile_dir, load_profile
from facial.speaker.track import track_to_dir

log = logging.getLogger("track_dev_clips")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--origins", default="real,likely_real")
    parser.add_argument("--report", type=Path, help="also write a Markdown table here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    origins = set(args.origins.split(","))
    rows = [r for r in csv.DictReader(open(args.manifest)) if r["kind"] == "talking_video" and r["origin"] in origins]
    args.output.mkdir(parents=True, exist_ok=True)
    summary = []
    for r in tqdm(rows, desc="clips"):
        out = args.output / r["id"]
        clip = args.manifest.parent / r["path"]
        t0 = time.perf_counter()
        try:
            profile = load_profile(out) if is_profile_dir(out) else track_to_dir(clip, out, progress=False, overlay=False)
        except (FaceTrackingError, ValueError) as exc:
            summary.append({"id": r["id"], "person": r["person"].split(":")[0], "frames": 0, "seconds": 0, "fps": 0,
                            "valid": 0, "blinks_per_min": "", "notes": f"FAILED: {exc}"})
            continue
        dt = time.perf_counter() - t0
        s = profile.stats
        summary.append({"id": r["id"], "person": r["person"].split(":")[0], "frames": s["n_frames"], "seconds": round(dt, 2),
                        "fps": round(s["n_frames"] / dt, 1) if dt > 0 else "", "valid": s["valid_fraction"],
                        "blinks_per_min": s["blink_rate_per_min"], "notes": "; ".join(s.get("notes", []))})
    with open(args.output / "_summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    if args.report:
        lines = ["| clip | person | frames | track+write s | frames/s | face found | blinks/min | notes |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {s['id']} | {s['person']} | {s['frames']} | {s['seconds']} | {s['fps']} | {s['valid']} | {s['blinks_per_min']} | {s['notes']} |" for s in summary]
        args.report.write_text("\n".join(lines) + "\n")
    (args.output / "_DONE").write_text("ok\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
