"""Speaker-disjoint k-fold protocol for FACIAL-GAN (issue #13): the one yardstick of docs/AUDIO2FACE.md.

The evaluated speakers (every real dev speaker with ≥ 20 s of tracked footage) are split into
:data:`FOLDS`. For each fold a checkpoint is pretrained **without** the fold's speakers and
without the validation speakers :data:`VAL_SPEAKERS` (used for early stopping only, never
evaluated), then every clip of the fold's speakers is split in time (first 2/3 = the speaker
part: personalisation and all speaker statistics; last 1/3 = test) and scored by
``benchmarks/audio2face_eval.py``'s metrics: mouth r, mouth landmark error (and the held-frame /
mean baseline it must halve), pose-std ratio per axis, angular-speed ratio, blink rate vs the
person's own (speaker part) and the real one (test part), for zero-shot and ``fast`` (and, with
``--systems``, ``full``) personalisation.

    python benchmarks/speaker_disjoint.py --manifest ../shared/data/MANIFEST.csv --profiles /work/cache/profiles \\
        --work /work/cache/a2f/sd -o /work/cache/a2f/sd/report.md --json /work/cache/a2f/sd/result.json --threads 1

A fold's checkpoint is trained once into ``WORK/fold<k>`` with the printed ``facial train audio2face``
command (reused when present). Where the lip-sync expert is used (``finetune.sync`` > 0, the default
of personalisation, ``--train-sync`` for pretraining, or ``--train-expert-features``: its audio
embedding as speech features), the fold gets its own expert, trained once
into ``WORK/fold<k>-sync-expert`` with the fold's speakers held out (``facial train sync-expert``;
``WORK/fold<k>-feature-expert`` for the features, with the validation speakers held out too, since
they pick the kept training step):
the shipped expert has seen them, and an expert that has is refused. The video-level side of the same folds (sync_* metrics, LSE,
head-motion statistics of rendered video) is ``evaluation/specs/speaker_disjoint_fold<k>.yaml``, run
with ``FACIAL_AUDIO2FACE=WORK/fold<k> facial-eval run ...`` (facial-eval cannot pretrain per fold).
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio2face_eval as a2e  # noqa: E402

log = logging.getLogger("speaker_disjoint")

#: Held-out speakers per fold (balanced by footage: 140 s, 129 s, 98 s).
FOLDS: dict[str, tuple[str, ...]] = {
    "fold1": ("person_obama", "person_w2l", "person_ls3"),
    "fold2": ("person_cnn_anchor", "person_feifeili", "person_vox_c"),
    "fold3": ("person_andrew", "person_reagan", "person_ls2"),
}
#: Early-stopping speakers of every fold (neither trained on nor evaluated).
VAL_SPEAKERS = ("person_noem", "person_trump", "person_aoc")
MIN_SECONDS = 20.0
DEFAULT_SYSTEMS = ("facial-gan fast", "facial-gan zero-shot", "facial-gan fast (gain only)", "facial-gan zero-shot (gain only)",
                   "nearest-neighbour", "replay", "mean", "oracle")
#: Targets of issue #13 (fast personalisation).
TARGETS = {"median_mouth_r_fast": 0.6, "median_mouth_r_zero_shot": 0.45, "ratio_range": (0.7, 1.3), "blink_rel": 0.4,
           "mouth_err_vs_held": 0.5}


def train_command(manifest: Path, profiles: Path, out: Path, speakers: tuple[str, ...], *, steps: int, max_minutes: float,
                  threads: int, extra: list[str] = ()) -> list[str]:
    """The ``facial train audio2face`` command of one fold (run as ``python -m facial.cli``)."""
    return [sys.executable, "-m", "facial.cli", "train", "audio2face", "--data", str(manifest), "--profiles-dir", str(profiles),
            "--exclude-speakers", ",".join(speakers), "--val-speakers", ",".join(VAL_SPEAKERS), "--validate-every", "50",
            "--lr", "1e-3", "--steps", str(steps), "--max-minutes", str(max_minutes), "--threads", str(threads), "-q",
            "-o", str(out), *extra]


def sync_expert_command(manifest: Path, out: Path, speakers: tuple[str, ...], *, threads: int,
                        cache_dir: Path | None = None) -> list[str]:
    """The ``facial train sync-expert`` command of one fold: the shipped expert's recipe, the fold's speakers held out."""
    return [sys.executable, "-m", "facial.cli", "train", "sync-expert", "--data", str(manifest), "-o", str(out), "--input", "landmarks",
            "--threads", str(threads), "--max-minutes", "20", "--val-persons", ",".join(speakers), "-q",
            *(["--cache-dir", str(cache_dir)] if cache_dir else [])]


def check_expert(path: str | None, speakers: tuple[str, ...]) -> None:
    """Refuse a sync expert (``None`` = the shipped one) that was trained on any of ``speakers``."""
    from facial.sync_expert.loss import frozen_expert

    seen = set(frozen_expert(path).config.provenance.get("train_persons") or ())
    leak = sorted(seen & set(speakers))
    if leak:
        raise SystemExit(f"the sync expert {path or '(shipped)'} was trained on {leak}: not speaker-disjoint; "
                         "let the script train the fold's own expert, or pass --finetune-config '{\"sync\": 0}'")


def fold_expert(expert: Path, speakers: tuple[str, ...], args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The fold's own sync expert (trained into ``expert`` when missing); its path."""
    if not (expert / "model.safetensors").exists():
        if args.no_train:
            parser.error(f"{expert}: no sync expert (drop --no-train to train it)")
        cmd = sync_expert_command(args.manifest, expert, speakers, threads=args.threads, cache_dir=args.sync_cache)
        log.info("training a fold's sync expert: %s", " ".join(cmd))
        subprocess.run(cmd, check=True)
    return str(expert)


def summarise(per_speaker: dict[str, dict], systems: tuple[str, ...]) -> dict:
    """Median / mean over speakers and target checks per system."""
    lo, hi = TARGETS["ratio_range"]
    out = {}
    for system in systems:
        rows = {p: v[system] for p, v in per_speaker.items() if system in v}
        held = {p: per_speaker[p]["mean"]["mouth_err_px"] for p in rows if "mean" in per_speaker[p]}
        ratios = {p: [r[f"pose_std_ratio_{a}"] for a in ("yaw", "pitch", "roll")] + [r["angular_speed_ratio"]] for p, r in rows.items()}
        blink_rel = {p: abs(r["blinks_pred"] - r["blinks_own"]) / max(r["blinks_own"], 1e-9) for p, r in rows.items()}
        mouth = np.array([np.nan_to_num(r["mouth_r"]) for r in rows.values()])
        synced = np.array([np.nan_to_num(r.get("mouth_r_synced", np.nan)) for r in rows.values()])
        out[system] = {
            "speakers": len(rows),
            "median_mouth_r": float(np.median(mouth)), "mean_mouth_r": float(np.mean(mouth)),
            "median_mouth_r_synced": float(np.median(synced)), "mean_mouth_r_synced": float(np.mean(synced)),
            "median_mouth_err_px": float(np.median([r["mouth_err_px"] for r in rows.values()])),
            "mouth_err_vs_held": {p: rows[p]["mouth_err_px"] / held[p] for p in held},
            "motion_in_range": {p: bool(all(lo <= x <= hi for x in v)) for p, v in ratios.items()},
            "motion_in_range_own": {p: bool(all(lo <= r.get(k, np.nan) <= hi for k in
                                                ("pose_std_ratio_own_yaw", "pose_std_ratio_own_pitch", "pose_std_ratio_own_roll",
                                                 "angular_speed_ratio_own"))) for p, r in rows.items()},
            "blink_within": {p: bool(v <= TARGETS["blink_rel"]) for p, v in blink_rel.items()},
        }
    return out


def report(result: dict) -> str:
    systems = result["systems"]
    lines = [f"Speaker-disjoint protocol: {len(result['per_speaker'])} speakers in {len(result['folds'])} folds "
             f"(validation speakers {', '.join(VAL_SPEAKERS)}).", "",
             "| system | median mouth r | mean mouth r | median / mean mouth r, footage offset taken out | median mouth err px "
             "| err / mean-baseline err (per speaker) "
             "| motion ratios in [0.7, 1.3]: vs test part / vs own speaker part | blink rate within 40 % of own |",
             "|---|---|---|---|---|---|---|---|"]
    for system in systems:
        s = result["summary"][system]
        ev = s["mouth_err_vs_held"]
        lines.append(f"| {system} | {s['median_mouth_r']:.3f} | {s['mean_mouth_r']:.3f} "
                     f"| {s['median_mouth_r_synced']:.3f} / {s['mean_mouth_r_synced']:.3f} | {s['median_mouth_err_px']:.2f} "
                     f"| {min(ev.values()):.2f}–{max(ev.values()):.2f} | {sum(s['motion_in_range'].values())}/{s['speakers']} / "
                     f"{sum(s['motion_in_range_own'].values())}/{s['speakers']} "
                     f"| {sum(s['blink_within'].values())}/{s['speakers']} |")
    lines += ["", "Per speaker (frame-weighted over the speaker's clips; blinks: predicted / own (speaker part) / real (test part)):", "",
              "| fold | speaker | test s | system | mouth r | synced r (offset) | mouth err px | err / mean | pose-std ratio y / p / r | angular-speed ratio "
              "| vs own: std y / p / r, speed | blinks/min |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for fold, speakers in result["folds"].items():
        for p in speakers:
            per = result["per_speaker"].get(p)
            if per is None:
                continue
            held = per["mean"]["mouth_err_px"] if "mean" in per else float("nan")
            for system in systems:
                a = per[system]
                r = a2e._fmt(a["mouth_r"]) if a.get("mouth_r_defined", True) else "—"
                sr = a2e._fmt(a["mouth_r_synced"]) if a.get("mouth_r_synced_defined", True) and "mouth_r_synced" in a else "—"
                lines.append(f"| {fold} | {p} | {a['frames'] / result['fps']:.1f} | {system} | {r} | {sr} ({a.get('av_offset', 0):+.1f}) "
                             f"| {a['mouth_err_px']:.2f} "
                             f"| {a['mouth_err_px'] / held:.2f} | {a2e._axes(a)} | {a2e._fmt(a['angular_speed_ratio'], 2)} "
                             f"| {a2e._axes(a, 'pose_std_ratio_own')}, {a2e._fmt(a.get('angular_speed_ratio_own', np.nan), 2)} "
                             f"| {a['blinks_pred']:.1f} / {a['blinks_own']:.1f} / {a['blinks_real']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--profiles", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="fold checkpoints go to WORK/fold<k>")
    parser.add_argument("--folds", default=",".join(FOLDS), help="comma-separated subset of " + ", ".join(FOLDS))
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS), help="see benchmarks/audio2face_eval.py")
    parser.add_argument("--train-steps", type=int, default=600)
    parser.add_argument("--train-minutes", type=float, default=6.0)
    parser.add_argument("--train-extra", default="", help="extra arguments of `facial train audio2face` (quoted)")
    parser.add_argument("--finetune-steps", type=int, help="steps of the `fine-tuned` (full) system (default: the preset)")
    parser.add_argument("--finetune-config", help="JSON overriding the fold checkpoints' `finetune` settings, e.g. '{\"freeze_audio\": true}'")
    parser.add_argument("--train-sync", type=float, default=0.0,
                        help="weight of the lip-sync expert term in pretraining (the fold's own expert; writes the --config of the fold)")
    parser.add_argument("--train-expert-features", action="store_true",
                        help="append the fold's own sync expert's audio embedding to the speech features (audio.expert; "
                             "writes the --config of the fold)")
    parser.add_argument("--sync-cache", type=Path, help="--cache-dir of `facial train sync-expert` (tracked inputs)")
    parser.add_argument("--no-train", action="store_true", help="fail instead of training a missing fold checkpoint or expert")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from facial.audio2face import FacialGAN
    from facial.audio2face.config import FacialGANConfig
    from facial.cli._common import configure_threads, limit_native_threads

    configure_threads(args.threads)
    limit_native_threads(args.threads)
    systems = tuple(x.strip() for x in args.systems.split(",") if x.strip())
    if "mean" not in systems:
        systems = systems + ("mean",)  # the held-frame baseline the mouth error is compared with
    available = a2e.eval_speakers(args.manifest, args.profiles, MIN_SECONDS)
    folds = {k: FOLDS[k] for k in args.folds.split(",")}
    per_speaker: dict[str, dict] = {}
    rows: list[dict] = []
    fps = 25.0
    checkpoints = {}
    t_start = time.perf_counter()
    if (args.train_sync > 0 or args.train_expert_features) and "--config" in args.train_extra.split():
        parser.error("--train-sync / --train-expert-features write each fold's --config; put the other settings in --train-extra "
                     "as options, not --config")
    for fold, speakers in folds.items():
        ckpt = args.work / fold
        own_expert = functools.partial(fold_expert, args.work / f"{fold}-sync-expert", speakers, args, parser)
        feature_expert = functools.partial(fold_expert, args.work / f"{fold}-feature-expert", speakers + VAL_SPEAKERS, args, parser)
        if not (ckpt / "model.safetensors").exists():
            if args.no_train:
                parser.error(f"{ckpt}: no checkpoint (drop --no-train to train it)")
            extra = args.train_extra.split()
            fold_cfg: dict = {}
            if args.train_sync > 0:
                fold_cfg["losses"] = {**FacialGANConfig().to_dict()["losses"], "sync": args.train_sync, "sync_expert": own_expert()}
            if args.train_expert_features:  # its expert must not have seen the validation speakers either (early stopping)
                fold_cfg["audio"] = {**FacialGANConfig().to_dict()["audio"], "expert": feature_expert()}
            if fold_cfg:
                cfg_file = args.work / f"{fold}-config.json"
                cfg_file.parent.mkdir(parents=True, exist_ok=True)
                cfg_file.write_text(json.dumps(fold_cfg))
                extra += ["--config", str(cfg_file)]
            cmd = train_command(args.manifest, args.profiles, ckpt, speakers, steps=args.train_steps, max_minutes=args.train_minutes,
                                threads=args.threads, extra=extra)
            log.info("%s: training %s", fold, " ".join(cmd))
            subprocess.run(cmd, check=True)
        model = FacialGAN.from_pretrained(ckpt)
        if args.finetune_config:
            model.config = model.config.replace(finetune={**model.config.to_dict()["finetune"], **json.loads(args.finetune_config)})
        if model.config.finetune.sync > 0 and any(s.startswith("facial-gan f") for s in systems):
            if model.config.losses.sync_expert is None:  # the shipped expert saw the protocol's speakers
                model.config = model.config.replace(losses={**model.config.to_dict()["losses"], "sync_expert": own_expert()})
            check_expert(model.config.losses.sync_expert, speakers)
        if model.config.audio.expert:  # the speech features themselves come from a sync expert
            from facial.audio2face.audio import expert_path

            check_expert(expert_path(model.config.audio.expert), speakers + VAL_SPEAKERS)
        leak = [p for p in speakers + VAL_SPEAKERS if p in model.config.speakers]
        if leak:
            raise SystemExit(f"{ckpt} was trained on {leak}: not speaker-disjoint")
        checkpoints[fold] = {"path": str(ckpt), "weights": model.weights_id(), "provenance": model.config.provenance.get("command"),
                             "sync_expert": model.config.losses.sync_expert}
        chosen = {p: available[p] for p in speakers if p in available}
        missing = sorted(set(speakers) - set(chosen))
        if missing:
            log.warning("%s: no tracked footage ≥ %.0f s for %s", fold, MIN_SECONDS, missing)
        steps = args.finetune_steps if args.finetune_steps is not None else model.config.finetune.full_steps
        res = a2e.evaluate(model, chosen, finetune_steps=steps, seed=args.seed, progress=False, systems=systems)
        fps = res["fps"]
        per_speaker.update(res["per_speaker"])
        rows += [{**r, "fold": fold} for r in res["rows"]]
        log.info("%s done (%.0f s so far)", fold, time.perf_counter() - t_start)
    result = {"fps": fps, "folds": folds, "finetune_config": args.finetune_config or "", "val_speakers": VAL_SPEAKERS, "systems": list(systems), "checkpoints": checkpoints,
              "per_speaker": per_speaker, "rows": rows}
    result["summary"] = summarise(per_speaker, systems)
    a2e.write_outputs(report(result), result, args.output, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
