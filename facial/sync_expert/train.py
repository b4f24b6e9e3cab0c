"""Training loop of the lip-sync expert (CPU-feasible: a few minutes to half an hour).

Contrastive (InfoNCE) over cosine similarities: each anchor's in-sync audio window must be more
similar to its video window than the same clip's audio shifted by 2–15 (and up to 22) frames and
the audio of other clips in the batch (:func:`facial.sync_expert.data.sample_batch`). The learning
rate follows a cosine decay over ``max(step / steps, elapsed / max_minutes)``, so a run cut by its
time budget still ends with a decayed rate; the **last** weights are kept (no checkpoint picking
on the validation persons, whose numbers are therefore an unbiased report).

Validation, every ``validate_every`` steps, on speakers never trained on:

- ``val_loss`` / ``val_window_acc`` — fixed batches (no augmentation): the share of anchors whose
  in-sync audio beats every same-clip shift with |s| ≥ 2;
- ``val_offset_acc`` — per validation clip, its audio delayed by −5, 0 and +5 frames (shifted
  windows of the clip's own log-mel), the share of cases where the clip-level offset
  (:func:`facial.sync_expert.scoring.scores_from_table`) is within ±1 frame of the shift;
- ``val_conf`` — mean clip confidence at shift 0.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from facial.sync_expert import data as data_mod
from facial.sync_expert.config import SyncExpertConfig

log = logging.getLogger(__name__)

VAL_SHIFTS = (-5, 0, 5)


@dataclass
class TrainConfig:
    steps: int = 1500
    segments: int = 16            # segments per batch
    anchors: int = 8              # consecutive anchors per segment (batch = segments × anchors)
    lr: float = 2e-3
    weight_decay: float = 1e-3
    warmup: int = 50
    max_minutes: float | None = 30.0
    validate_every: int = 250
    val_batches: int = 12
    audio_variants: int = 3       # augmented log-mel versions per training clip (gain + noise)
    realign: bool = False         # estimate each training clip's own AV offset with cross-fitted experts first
    realign_folds: int = 2
    realign_steps: int = 800
    realign_min: int = 2          # |offset| below this: within the experts' own ±1 frame error, left as it is
    realign_max: int = 4          # |offset| above this: the estimate is not trusted, the clip is left out
    neg_min_shift: int = 2        # same-clip negatives: shifts with |s| >= this (1: include the ±1-frame windows)
    augment: bool = True
    seed: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    model: object
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- loss
def contrastive_loss(model, batch: data_mod.Batch, temperature: float, device: str = "cpu"):
    """InfoNCE loss and the share of anchors whose positive beats every same-segment shift."""
    import torch
    from torch.nn import functional as F

    v = model.embed_visual(torch.from_numpy(batch.visual).to(device))
    cols = np.flatnonzero(batch.mask.any(0))
    a_used = model.embed_audio(torch.from_numpy(batch.audio[cols]).to(device))
    a = torch.zeros(batch.audio.shape[0], a_used.shape[1], device=device, dtype=a_used.dtype)
    a = a.index_copy(0, torch.from_numpy(cols).to(device), a_used)
    sims = v @ a.T
    mask = torch.from_numpy(batch.mask).to(device)
    logits = (sims / temperature).masked_fill(~mask, float("-inf"))
    target = torch.from_numpy(batch.target).to(device)
    loss = F.cross_entropy(logits, target)
    with torch.no_grad():
        same = mask & torch.from_numpy(np.abs(batch.shift) <= model.config.vshift).to(device)
        s = sims.masked_fill(~same, float("-inf"))
        acc = (s.argmax(1) == target).float().mean().item()
    return loss, acc


# --------------------------------------------------------------------------- validation
def clip_offset_cases(model, clips: Sequence[data_mod.TrainClip], shifts: Sequence[int] = VAL_SHIFTS) -> list[dict]:
    """Per validation clip and simulated audio delay: the expert's offset and confidence."""
    from facial.sync_expert import scoring

    cfg = model.config
    out = []
    for c in clips:
        visual = c.lips if cfg.visual_input == "landmarks" else c.crops
        ev, ea = scoring.embed_clip(model, visual, c.mels[0])
        for k in shifts:
            try:
                sc = scoring.scores_from_table(scoring.distance_table(ev, ea, cfg.vshift, audio_delay=-k), cfg.vshift)
            except scoring.ClipTooShort:
                continue
            out.append({"clip": c.id, "person": c.person, "shift": int(k), "offset": sc.offset, "conf": sc.conf, "dist": sc.dist,
                        "correct": abs(sc.offset - k) <= 1})
    return out


def relative_accuracy(cases: Sequence[dict]) -> float | None:
    """Share of shifted cases whose offset moved by the shift (±1) from the same clip's unshifted
    offset: sensitivity to a shift, whatever the clip's own offset."""
    base = {c["clip"]: c["offset"] for c in cases if c["shift"] == 0}
    rel = [abs(c["offset"] - base[c["clip"]] - c["shift"]) <= 1 for c in cases if c["shift"] != 0 and c["clip"] in base]
    return float(np.mean(rel)) if rel else None


def validate(model, val_clips: Sequence[data_mod.TrainClip], batches: Sequence[data_mod.Batch], device: str = "cpu") -> dict:
    import torch

    model.eval()
    out: dict = {}
    with torch.no_grad():
        if batches:
            res = [contrastive_loss(model, b, model.config.temperature, device) for b in batches]
            out["val_loss"] = float(np.mean([r[0].item() for r in res]))
            out["val_window_acc"] = float(np.mean([r[1] for r in res]))
        cases = clip_offset_cases(model, val_clips)
    if cases:
        out["val_offset_acc"] = float(np.mean([c["correct"] for c in cases]))
        rel = relative_accuracy(cases)
        if rel is not None:
            out["val_relative_acc"] = rel
        zero = [c["conf"] for c in cases if c["shift"] == 0]
        out["val_conf"] = float(np.mean(zero)) if zero else float("nan")
        out["val_cases"] = len(cases)
    model.train()
    return out


# --------------------------------------------------------------------------- plots
def plot_curves(history: list[dict], path: str | Path, title: str = "") -> Path:
    """Loss (train, validation) and accuracy curves against the step (facial.plotting, no pyplot)."""
    from facial.plotting import new_figure, save_figure

    fig, (ax1, ax2) = new_figure(1, 2, figsize=(10, 3.8))
    tr = [h for h in history if "train_loss" in h]
    va = [h for h in history if "val_loss" in h or "val_offset_acc" in h]
    if tr:
        ax1.plot([h["step"] for h in tr], [h["train_loss"] for h in tr], label="train (running mean)", lw=1)
        ax2.plot([h["step"] for h in tr], [h["train_acc"] for h in tr], label="train window acc", lw=1)
    if va:
        if any("val_loss" in h for h in va):
            ax1.plot([h["step"] for h in va if "val_loss" in h], [h["val_loss"] for h in va if "val_loss" in h], "o-", label="validation")
            ax2.plot([h["step"] for h in va if "val_window_acc" in h], [h["val_window_acc"] for h in va if "val_window_acc" in h],
                     "o-", label="val window acc")
        ax2.plot([h["step"] for h in va if "val_offset_acc" in h], [h["val_offset_acc"] for h in va if "val_offset_acc" in h],
                 "s-", label="val clip offset acc (±1 frame)")
        ax2.plot([h["step"] for h in va if "val_relative_acc" in h], [h["val_relative_acc"] for h in va if "val_relative_acc" in h],
                 "^--", label="val shift recovered (±1, relative)")
    ax1.set_xlabel("step")
    ax1.set_ylabel("InfoNCE loss")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("step")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1.02)
    ax2.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- training
def landmark_scale(clips: Sequence[data_mod.TrainClip]) -> float:
    """Std of the lip displacements over the training frames (canonical units)."""
    x = np.concatenate([(c.lips[c.valid] if len(c.valid) == len(c.lips) else c.lips) * c.lip_gain for c in clips])
    return float(max(x.std(), 1e-4))


def realign(config: SyncExpertConfig, clips: Sequence[data_mod.TrainClip], tc: TrainConfig, *,
            progress: bool = True) -> dict[str, dict]:
    """Estimate each training clip's own AV offset with experts that never saw its speaker
    (``realign_folds`` folds of persons, landmark experts, ``realign_steps`` steps each) and set
    ``clip.audio_offset`` to it when ``realign_min ≤ |offset| ≤ realign_max`` (±1 frame is within
    the experts' own error and is left alone, so that a small bias of the fold experts does not
    spread to every clip); clips estimated beyond ``realign_max`` frames are marked ``dropped``.
    Returns ``{clip id: {"offset", "conf", "fold"[, "dropped"]}}``."""
    from facial.hashing import sha256_text
    from facial.sync_expert import scoring

    persons = sorted({c.person for c in clips}, key=sha256_text)
    folds = [set(persons[i::tc.realign_folds]) for i in range(tc.realign_folds)]
    sub = TrainConfig(**{**tc.to_dict(), "steps": tc.realign_steps, "realign": False, "validate_every": 0,
                         "max_minutes": tc.max_minutes / (2 * tc.realign_folds) if tc.max_minutes else None})
    out: dict[str, dict] = {}
    for i, held in enumerate(folds):
        fit = [c for c in clips if c.person not in held]
        res = train(config.replace(visual_input="landmarks"), fit, [], sub, progress=progress)
        for c in clips:
            if c.person not in held:
                continue
            ev, ea = scoring.embed_clip(res.model, c.lips, c.mels[0])
            try:
                sc = scoring.scores_from_table(scoring.distance_table(ev, ea, config.vshift), config.vshift)
            except scoring.ClipTooShort:
                continue
            out[c.id] = {"offset": sc.offset, "conf": round(sc.conf, 4), "fold": i}
    for c in clips:
        est = out.get(c.id)
        c.audio_offset = est["offset"] if est and tc.realign_min <= abs(est["offset"]) <= tc.realign_max else 0
        if est and abs(est["offset"]) > tc.realign_max:
            est["dropped"] = True
    if clips and all(out.get(c.id, {}).get("dropped") for c in clips):
        raise ValueError("realignment found every clip more than "
                         f"{tc.realign_max} frames off: the cross-fitted experts are too weak (more realign steps, or no realignment)")
    log.info("realigned: %s", ", ".join(f"{k} {v['offset']:+d}" for k, v in out.items() if v["offset"]))
    return out


def train(config: SyncExpertConfig, train_clips: Sequence[data_mod.TrainClip], val_clips: Sequence[data_mod.TrainClip],
          tc: TrainConfig | None = None, *, progress: bool = True, output: str | Path | None = None,
          provenance: dict | None = None, realigned: dict | None = None) -> TrainResult:
    """Train an expert on ``train_clips``; validate on ``val_clips``; write ``output`` (checkpoint,
    ``curve.png``, ``training.json``) when given. ``tc.realign`` first estimates the clips' own
    offsets (:func:`realign`); ``realigned`` passes estimates already applied to the clips (recorded
    in the provenance)."""
    import torch
    from tqdm.auto import tqdm

    from facial.sync_expert.model import SyncExpert

    tc = tc or TrainConfig()
    if not train_clips:
        raise ValueError("no training clips")
    offsets = realigned
    t_start = time.perf_counter()
    if tc.realign:
        offsets = realign(config, train_clips, tc, progress=progress)
        train_clips = [c for c in train_clips if not offsets.get(c.id, {}).get("dropped")]
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    if config.visual_input == "landmarks":
        config = config.replace(landmark_scale=round(landmark_scale(train_clips), 6))
    model = SyncExpert(config).to(tc.device)
    aug = data_mod.AugmentConfig() if tc.augment else None
    val_rng = np.random.default_rng(12345)
    val_batches = [data_mod.sample_batch(val_clips, config, val_rng, segments=tc.segments, anchors=tc.anchors)
                   for _ in range(tc.val_batches)] if val_clips and tc.val_batches else []
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    history: list[dict] = []
    t0 = time.perf_counter()
    budget = tc.max_minutes * 60 - (t0 - t_start) if tc.max_minutes else None  # realignment counts against it
    run_loss, run_acc = None, None
    bar = tqdm(total=tc.steps, desc=f"sync expert ({config.visual_input})", unit="step", disable=not progress)
    step = 0
    model.train()
    try:
        while step < tc.steps:
            elapsed = time.perf_counter() - t0
            frac = max(step / tc.steps, elapsed / budget if budget else 0.0)
            if frac >= 1.0:
                log.info("time budget reached after %d steps", step)
                break
            lr = tc.lr * min(1.0, (step + 1) / max(tc.warmup, 1)) * 0.5 * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g["lr"] = lr
            batch = data_mod.sample_batch(train_clips, config, rng, segments=tc.segments, anchors=tc.anchors, aug=aug,
                                          neg_min_shift=tc.neg_min_shift)
            loss, acc = contrastive_loss(model, batch, config.temperature, tc.device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            lv = loss.item()
            run_loss = lv if run_loss is None else 0.95 * run_loss + 0.05 * lv
            run_acc = acc if run_acc is None else 0.95 * run_acc + 0.05 * acc
            bar.update(1)
            bar.set_postfix(loss=f"{run_loss:.3f}", acc=f"{run_acc:.2f}", lr=f"{lr:.1e}")
            if step % 25 == 0:
                history.append({"step": step, "train_loss": run_loss, "train_acc": run_acc, "lr": lr,
                                "seconds": round(time.perf_counter() - t0, 1)})
            if tc.validate_every and step % tc.validate_every == 0 and val_clips:
                v = validate(model, val_clips, val_batches, tc.device)
                history.append({"step": step, **v, "seconds": round(time.perf_counter() - t0, 1)})
                bar.write(f"step {step}: " + ", ".join(f"{k} {val:.3f}" for k, val in v.items() if isinstance(val, float)))
    finally:
        bar.close()
    final = validate(model, val_clips, val_batches, tc.device) if val_clips else {}
    seconds = time.perf_counter() - t0
    if final:
        history.append({"step": step, **final, "seconds": round(seconds, 1)})
    model.eval()
    summary = {"visual_input": config.visual_input, "steps": step, "seconds": round(seconds, 1), "final": final,
               "n_parameters": model.n_parameters(), "train_config": tc.to_dict(),
               "train_clips": [c.id for c in train_clips], "val_clips": [c.id for c in val_clips],
               "train_persons": sorted({c.person for c in train_clips}), "val_persons": sorted({c.person for c in val_clips}),
               "train_frames": int(sum(c.n_frames for c in train_clips)), **(provenance or {})}
    if offsets is not None:
        summary["realigned"] = offsets
    model.config.provenance = {k: summary[k] for k in ("steps", "seconds", "final", "train_persons", "val_persons",
                                                          "train_frames", "train_clips", "val_clips", "realigned") if k in summary}
    for k in ("command", "data"):
        if provenance and k in provenance:
            model.config.provenance[k] = provenance[k]
    if output is not None:
        out = Path(output)
        model.save_pretrained(out)
        plot_curves(history, out / "curve.png", title=f"sync expert ({config.visual_input}), {step} steps, {seconds / 60:.1f} min")
        cases = clip_offset_cases(model, val_clips) if val_clips else []
        from facial import atomic

        atomic.write_text(out / "training.json", json.dumps({**summary, "history": history, "val_cases": cases}, indent=2,
                                                            default=_json_default))
    return TrainResult(model, history, summary)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def load_split(manifest: str | Path, config: SyncExpertConfig, *, val_persons: Sequence[str] | None = None,
               val_fraction: float = 0.25, origins: Sequence[str] = data_mod.DEFAULT_ORIGINS,
               cache_dir: str | Path | None = None, audio_variants: int = 3, seed: int = 0,
               progress: bool = True) -> tuple[list[data_mod.TrainClip], list[data_mod.TrainClip], list[str]]:
    """Manifest → (training clips with augmented audio, validation clips, validation persons);
    clips are tracked into the cache the first time."""
    from tqdm.auto import tqdm

    entries = data_mod.read_manifest(manifest, origins)
    train_e, val_e, chosen = data_mod.split_by_person(entries, val_persons, val_fraction)
    rng = np.random.default_rng(seed)
    train_clips, val_clips = [], []
    for e in tqdm(train_e + val_e, desc="clips (tracked once, then cached)", unit="clip", disable=not progress):
        is_val = e.person in chosen
        c = data_mod.load_clip(e, config, cache_dir=cache_dir, augment_audio=0 if is_val else audio_variants, rng=rng)
        if c is not None:
            (val_clips if is_val else train_clips).append(c)
    log.info("%d training clips (%d persons), %d validation clips (%s)", len(train_clips),
             len({c.person for c in train_clips}), len(val_clips), ", ".join(chosen))
    return train_clips, val_clips, chosen
