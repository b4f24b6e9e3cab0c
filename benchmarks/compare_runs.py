"""Compare runs of the speaker-disjoint protocol (``benchmarks/speaker_disjoint.py --json``) side by side.

    python benchmarks/compare_runs.py "log-mel=/work/cache/a2f/sd/result.json" "phones=/work/cache/a2f/sd_per/result.json" \\
        --systems "facial-gan fast,facial-gan zero-shot" -o table.md

One row per run and system: median / mean mouth r as recorded and with the footage's own
audio–video offset taken out (``mouth_r_synced``), over the speakers the run has; a second table
gives each speaker's offset-corrected r per run. Several result files of one run (e.g. one per fold)
are merged with ``label=a.json+b.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def load(spec: str) -> tuple[str, dict]:
    """``label=file[+file…]`` → (label, merged per-speaker results)."""
    label, _, files = spec.partition("=")
    if not files:
        raise SystemExit(f"{spec!r}: expected LABEL=RESULT.json[+RESULT.json…]")
    merged: dict = {}
    for f in files.split("+"):
        path = Path(f)
        if not path.exists():
            raise SystemExit(f"{path}: no such result file (run benchmarks/speaker_disjoint.py with --json first)")
        merged.update(json.loads(path.read_text())["per_speaker"])
    return label, merged


def _stats(values: list[float]) -> str:
    v = np.nan_to_num(np.asarray(values, np.float64))
    return f"{np.median(v):.3f} / {np.mean(v):.3f}" if len(v) else "—"


def tables(runs: list[tuple[str, dict]], systems: list[str]) -> str:
    lines = ["| run | system | speakers | mouth r as recorded, median / mean | mouth r, footage offset taken out, median / mean |",
             "|---|---|---|---|---|"]
    for label, per in runs:
        for system in systems:
            rows = [v[system] for v in per.values() if system in v]
            if not rows:
                continue
            lines.append(f"| {label} | {system} | {len(rows)} | {_stats([r['mouth_r'] for r in rows])} "
                         f"| {_stats([r.get('mouth_r_synced', np.nan) for r in rows])} |")
    speakers = sorted({p for _, per in runs for p in per})
    lines += ["", "Offset-corrected mouth r per speaker (" + "; ".join(systems) + "):", "",
              "| speaker | " + " | ".join(label for label, _ in runs) + " |", "|---" * (len(runs) + 1) + "|"]
    for p in speakers:
        cells = []
        for _, per in runs:
            v = per.get(p, {})
            cells.append(" / ".join(f"{v[s].get('mouth_r_synced', float('nan')):.2f}" if s in v else "—" for s in systems))
        lines.append(f"| {p.removeprefix('person_')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="LABEL=RESULT.json[+RESULT.json…]")
    parser.add_argument("--systems", default="facial-gan fast,facial-gan zero-shot")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    text = tables([load(s) for s in args.runs], [s.strip() for s in args.systems.split(",") if s.strip()])
    if args.output:
        args.output.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
