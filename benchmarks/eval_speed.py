"""Time the evaluation toolkit per metric family on one real clip (CPU).

    python benchmarks/eval_speed.py [CLIP] [--seconds 8] [--families sync_expert,av_sync] [--threads N]

Face tracking is timed separately (it is cached by content hash afterwards); every family (or
those named by ``--families``) is then timed on the cached track with the clip as its own
reference, and once more end to end on an empty cache (decoding, tracking and the families
together: what scoring a new clip costs). SyncNet and LPIPS run with random weights (their cost
does not depend on the weights). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw" / "sadtalker" / "RD_Radio34_000.mp4"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    p.add_argument("--seconds", type=float, default=8.0, help="score the first seconds of the clip")
    p.add_argument("--families", help="comma-separated metric families to time (default: all)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.clip.is_file():
        print(f"no clip at {args.clip}; pass one", file=sys.stderr)
        return 1
    from evaluation import registry
    from evaluation.extractors.cache import ArrayCache
    from evaluation.extractors.landmarks import extract_face_track
    from evaluation.scoring import score_clip
    from evaluation.tables import markdown_table
    from evaluation.types import ClipInput, EvalConfig
    from facial.cli._common import configure_threads

    configure_threads(args.threads)
    families = args.families.split(",") if args.families else list(registry.FAMILIES)
    config = EvalConfig(max_seconds=args.seconds, syncnet_random_init=True, lpips_random_backbone=True)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        face = extract_face_track(args.clip, cache=ArrayCache(cache), max_seconds=args.seconds)
        rows.append(["face tracking (FaceMesh + pose)", f"{time.perf_counter() - t:.2f}", str(len(face))])
        for family in families:
            score_clip(ClipInput(args.clip, reference=args.clip), family, config, cache_dir=cache)  # warm imports
            t = time.perf_counter()
            res = score_clip(ClipInput(args.clip, reference=args.clip), family, config, cache_dir=cache)
            ok = sum(v.is_ok for v in res.values)
            rows.append([f"{family} ({ok}/{len(res.values)} ok)", f"{time.perf_counter() - t:.2f}", str(len(face))])
    with tempfile.TemporaryDirectory() as cold:
        t = time.perf_counter()
        res = score_clip(ClipInput(args.clip, reference=args.clip), families, config, cache_dir=cold)
        ok = sum(v.is_ok for v in res.values)
        rows.append([f"end to end, empty cache: tracking + {', '.join(families)} ({ok}/{len(res.values)} ok)",
                     f"{time.perf_counter() - t:.2f}", str(len(face))])
    print(f"clip: {args.clip.name}, first {args.seconds:g} s at 25 fps, {face.size[0]}x{face.size[1]}\n")
    print(markdown_table(["step", "seconds", "frames"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
