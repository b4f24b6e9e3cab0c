"""Train the neural renderer on a real dev clip and print its held-out PSNR/SSIM curve.

```
python benchmarks/render_neural.py --clip dfrf__cnn2_25fps --size 128 --minutes 40 --device cpu --threads 1 \
    --out /work/cache/render/bench/neural_cpu_dfrf128
```

The clip is tracked into ``--work`` (outside the repository) if needed; training holds out the
last 10 % of frames (see :mod:`facial.face2vid.train`). The curve (minutes, steps, PSNR, SSIM) is
printed as a Markdown table next to the warp renderer's numbers on the same held-out frames.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
from pathlib import Path

from render_warp import load_or_track


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default="dfrf__cnn2_25fps", help="manifest id of a real talking video")
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "facial" / "bench-profiles")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--out", type=Path, required=True, help="output folder (outside the repository)")
    ap.add_argument("--table-only", action="store_true", help="print the table of an existing run in --out")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.table_only:
        from facial.cli._common import configure_threads
        from facial.face2vid import train_renderer

        configure_threads(args.threads)

        profile = load_or_track(args.clip, args.work)
        train_renderer(profile.directory, size=args.size, minutes=args.minutes, steps=args.steps, device=args.device,
                       out_dir=args.out, progress=False)
    rows = list(csv.DictReader(open(args.out / "train_log.csv")))
    summary = json.loads((args.out / "summary.json").read_text())
    base = summary["baselines"]
    print(f"\nclip {args.clip}, {summary['frames']} frames ({summary['held_out_frames']} held out, {summary['eval_frames']} scored), "
          f"{summary['size']}², device {summary['device']}, {summary['torch_threads']} threads, load avg {os.getloadavg()[0]:.1f}")
    print(f"warp renderer on the same frames: PSNR {base.get('warp_psnr', float('nan')):.2f} dB, SSIM {base.get('warp_ssim', float('nan')):.3f}; "
          f"reference frame: {base['reference_frame_psnr']:.2f} dB / {base['reference_frame_ssim']:.3f}\n")
    print("| minutes | steps | held-out PSNR (dB) | held-out SSIM |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {float(r['minutes']):.1f} | {r['step']} | {float(r['psnr']):.2f} | {float(r['ssim']):.3f} |")


if __name__ == "__main__":
    main()
