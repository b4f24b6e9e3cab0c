"""Parameter-level evaluation of FACIAL-GAN (self-reenactment on held-out speakers).

For every dev speaker with at least ``--min-seconds`` of tracked footage: each of their clips is
split in time, the first 2/3 is the speaker's reference footage and the last 1/3 the test. The
systems predict the test frames from the test audio alone:

- ``facial-gan zero-shot``: the pretrained checkpoint (which must not have seen the speaker);
- ``facial-gan fine-tuned``: that checkpoint fine-tuned on the speaker's first 2/3 (all clips);
- ``facial-gan fast``: the same with the app's ``fast`` personalisation budget;
- ``mean``: the speaker's mean parameters (constant);
- ``replay``: the reference track (first 2/3) replayed from its start;
- ``nearest-neighbour``: per test frame, the parameters of the reference frame whose audio window
  is closest (PCA of the log-mel windows), then the same smoothing as FACIAL-GAN;
- ``oracle``: the real parameters through the face model (the floor set by the K-dim basis).

Metrics, on the test third: mouth-opening Pearson r between the predicted lips (expression on the
speaker's face under a fixed mean pose, so head motion cannot fake lip motion) and the real mouth
opening tracked in the video; mouth-landmark error (predicted expression under the *real* pose, 40
lip points, centroids removed, mean 2-D distance in px and in % of face height); pose-std ratio
predicted/real per axis (yaw, pitch, roll) and their mean; angular-speed ratio (geodesic, steps
between tracked frames); the same two against the speaker's own first 2/3 (``*_own``: the spread
expected over a window as long as the test); blink rate predicted vs the speaker's own (first 2/3)
and the real test part (blinks/min). ``... (gain only)`` systems: head-motion calibration off.
``--systems`` picks a subset, ``--speakers`` a subset of speakers; the speaker-disjoint k-fold
protocol over these metrics is ``benchmarks/speaker_disjoint.py``.

    python benchmarks/audio2face_eval.py --profiles /work/cache/profiles --manifest ../shared/data/MANIFEST.csv \\
        --model CKPT_HELD_OUT -o docs/audio2face_eval.md --json /work/cache/a2f/eval.json

Research footage is read from the profiles' source clips; nothing is copied.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facial import layout
from facial.audio2face import FacialGAN, animate
from facial.audio2face.config import resolve_smoothing
from facial.audio2face.controls import angular_speed_deg_s, window_std
from facial.audio2face.finetune import finetune_clips
from facial.audio2face.realign import lagged_pearson, model_offset
from facial.cli._common import configure_threads
from facial.audio2face.metrics import lip_opening, pearson
from facial.audio2face.smoothing import smooth_params
from facial.speaker import blink as blink_mod
from facial.speaker import face_model as fm
from facial.speaker.profile import load_profile
from facial.audio2face.data import clip_from_profile, profile_audio
from facial.types import AudioClip, FaceParams, SpeakerProfile

log = logging.getLogger("audio2face_eval")

TRAIN_FRACTION = 2.0 / 3.0
NN_COMPONENTS = 64
OFFSET_MAX_LAG = 8  # frames searched for a clip's own audio-video offset (mouth_r_synced)
SYSTEMS = ("facial-gan fine-tuned", "facial-gan fast", "facial-gan zero-shot", "facial-gan fast (gain only)", "facial-gan zero-shot (gain only)",
           "nearest-neighbour", "replay", "mean", "oracle")
#: ``... (gain only)``: the same model with ``inference.motion_calibration`` off (head motion from the
#: calibrated ``pose_gain`` alone, the behaviour before issue #13) — the effect of the calibration.


def gain_only(model: FacialGAN) -> FacialGAN:
    """A shallow variant of ``model`` with the head-motion calibration switched off."""
    import copy

    out = copy.copy(model)
    out.config = model.config.replace(inference={**model.config.to_dict()["inference"], "motion_calibration": False})
    return out


# --------------------------------------------------------------------------- data
def slice_profile(profile: SpeakerProfile, start: int, stop: int) -> SpeakerProfile:
    """Frames ``[start, stop)`` of a profile with its statistics recomputed from those frames only."""
    params = profile.params.slice(start, stop)
    mean, std = params.pose.mean(0), params.pose.std(0)
    stats = {"pose_mean": mean.tolist(), "pose_std": std.tolist(),
             "blink_rate_per_min": blink_mod.blink_rate_per_min(params.blink, params.fps)}
    return replace(profile, params=params, landmarks=profile.landmarks[start:stop], valid=profile.valid[start:stop], stats=stats,
                   directory=None)


def slice_audio(audio: AudioClip, fps: float, start: int, stop: int) -> AudioClip:
    """The speech of frames ``[start, stop)`` (zero-padded when the audio track ends before the video)."""
    a, b = int(round(start / fps * audio.sample_rate)), int(round(stop / fps * audio.sample_rate))
    samples = audio.samples[a:b]
    return AudioClip(np.pad(samples, (0, (b - a) - len(samples))).astype(np.float32), audio.sample_rate)


@dataclass
class SplitClip:
    name: str
    speaker: str
    profile: SpeakerProfile
    audio: AudioClip
    split: int

    @property
    def train(self) -> SpeakerProfile:
        return slice_profile(self.profile, 0, self.split)

    @property
    def test_range(self) -> tuple[int, int]:
        return self.split, self.profile.n_frames

    def test_audio(self) -> AudioClip:
        return slice_audio(self.audio, self.profile.fps, *self.test_range)

    def train_audio(self) -> AudioClip:
        return slice_audio(self.audio, self.profile.fps, 0, self.split)


def eval_speakers(manifest: Path, profiles: Path, min_seconds: float) -> dict[str, list[tuple[str, Path]]]:
    """Speakers with ≥ ``min_seconds`` of tracked footage → their (clip id, profile dir), in manifest order."""
    out: dict[str, list[tuple[str, Path]]] = {}
    seconds: dict[str, float] = {}
    for row in csv.DictReader(open(manifest)):
        d = profiles / row["id"]
        if row.get("kind") != "talking_video" or not (d / "profile.json").exists():
            continue
        person = row["person"].split(":")[0].strip()
        info = json.loads((d / "profile.json").read_text())
        out.setdefault(person, []).append((row["id"], d))
        seconds[person] = seconds.get(person, 0.0) + info["n_frames"] / info["fps"]
    return {p: clips for p, clips in out.items() if seconds[p] >= min_seconds}


# --------------------------------------------------------------------------- baselines
def baseline_mean(train: SpeakerProfile, n: int) -> FaceParams:
    p = train.params
    return FaceParams(np.repeat(p.pose.mean(0, keepdims=True), n, 0), np.repeat(p.expression.mean(0, keepdims=True), n, 0),
                      np.full(n, float(p.blink.mean()), np.float32), p.fps)


def baseline_replay(train: SpeakerProfile, n: int) -> FaceParams:
    idx = np.arange(n) % train.n_frames
    p = train.params
    return FaceParams(p.pose[idx], p.expression[idx], p.blink[idx], p.fps)


def baseline_nearest(train_feats: np.ndarray, train: SpeakerProfile, test_feats: np.ndarray, smoothing) -> FaceParams:
    a = train_feats.reshape(len(train_feats), -1).astype(np.float64)
    b = test_feats.reshape(len(test_feats), -1).astype(np.float64)
    mu = a.mean(0)
    _, _, vt = np.linalg.svd(a - mu, full_matrices=False)
    comp = vt[:NN_COMPONENTS]
    pa, pb = (a - mu) @ comp.T, (b - mu) @ comp.T
    d = (pb ** 2).sum(1)[:, None] + (pa ** 2).sum(1)[None] - 2 * pb @ pa.T
    idx = d.argmin(1)
    p = train.params
    return smooth_params(FaceParams(p.pose[idx], p.expression[idx], p.blink[idx], p.fps), smoothing)


# --------------------------------------------------------------------------- metrics
def _centred(points: np.ndarray) -> np.ndarray:
    return points - points.mean(1, keepdims=True)


def metrics(pred: FaceParams, clip: SplitClip, basis: fm.ExpressionBasis, offset: int = 0) -> dict[str, float]:
    """Per-clip metrics of ``pred`` against the real test frames. ``mouth_r_synced`` is mouth r with
    the real track moved by the footage's own audio–video ``offset`` (frames, > 0 = face late;
    :mod:`facial.audio2face.realign`), found on the speaker part, never on the test part."""
    s, e = clip.test_range
    prof = clip.profile
    real_lm = prof.landmarks[s:e]
    real = prof.params.slice(s, e)
    n = len(real)
    if len(pred) != n:
        raise ValueError(f"{clip.name}: prediction has {len(pred)} frames, the test part {n}")
    lm = fm.landmarks_from_params(real.pose, pred.expression, real.blink, prof.identity, basis, prof.blink_shape)
    m_pred = lip_opening(pred.expression, clip.train, basis)  # the lips alone: fixed (mean) pose
    m_real = fm.mouth_opening(real_lm)  # the real track as tracked in the video
    r = pearson(m_pred, m_real)
    r_synced = lagged_pearson(m_pred, m_real, offset)
    face_h = np.linalg.norm(real_lm[:, fm.CHIN, :2] - real_lm[:, fm.FOREHEAD, :2], axis=-1)
    err = np.linalg.norm(_centred(lm[:, fm.MOUTH, :2]) - _centred(real_lm[:, fm.MOUTH, :2]), axis=-1).mean(1)
    rot = layout.ROTATION
    axis_ratio = pred.pose[:, rot].std(0) / np.maximum(real.pose[:, rot].std(0), 1e-9)
    pose_ratio = float(np.mean(axis_ratio))
    speed_real = angular_speed_deg_s(real.pose, real.fps, prof.valid[s:e])
    train = clip.train.params
    own_std = window_std(train.pose[clip.train.valid][:, rot] if clip.train.valid.any() else train.pose[:, rot], n)
    own_ratio = pred.pose[:, rot].std(0) / np.maximum(own_std, 1e-9)
    return {"frames": n, "mouth_r": r, "mouth_r_synced": r_synced, "mouth_err_px": float(err.mean()), "mouth_err_pct": float(100 * (err / face_h).mean()),
            "pose_std_ratio": pose_ratio, **{f"pose_std_ratio_{a}": float(v) for a, v in zip(layout.ROTATION_NAMES, axis_ratio)},
            "angular_speed_ratio": float(angular_speed_deg_s(pred.pose, pred.fps) / max(speed_real, 1e-9)),
            **{f"pose_std_ratio_own_{a}": float(v) for a, v in zip(layout.ROTATION_NAMES, own_ratio)},
            "angular_speed_ratio_own": float(angular_speed_deg_s(pred.pose, pred.fps)
                                             / max(angular_speed_deg_s(train.pose, train.fps, clip.train.valid), 1e-9)),
            "blinks_pred": blink_mod.blink_rate_per_min(pred.blink, pred.fps),
            "blinks_real": blink_mod.blink_rate_per_min(real.blink, real.fps),
            "blinks_own": blink_mod.blink_rate_per_min(train.blink, train.fps),
            "mouth_std_ratio": float(m_pred.std() / max(m_real.std(), 1e-9))}


def aggregate(rows: list[dict]) -> dict[str, float]:
    """Frame-weighted mean of per-clip metrics (NaN correlations count as 0: a constant track has none)."""
    w = np.array([r["frames"] for r in rows], np.float64)
    out = {"frames": int(w.sum())}
    for key in rows[0]:
        if key == "frames":
            continue
        v = np.array([r[key] for r in rows], np.float64)
        if key in ("mouth_r", "mouth_r_synced"):
            out[f"{key}_defined"] = bool(np.isfinite(v).all())
            v = np.nan_to_num(v, nan=0.0)
        out[key] = float((v * w).sum() / w.sum())
    return out


# --------------------------------------------------------------------------- run
def evaluate(model: FacialGAN, speakers: dict[str, list[tuple[str, Path]]], *, finetune_steps: int, seed: int = 0,
             progress: bool = True, systems: tuple[str, ...] = SYSTEMS) -> dict:
    """``systems`` (default all) on all speakers; returns per-clip rows, per-speaker and overall aggregates.
    ``finetune_steps`` is the ``fine-tuned`` system's budget (skipped when that system is not asked for)."""
    basis = fm.ExpressionBasis.from_pretrained()
    encoder = model.config.audio.encoder()
    smoothing = resolve_smoothing(None, model.config.inference.smoothing)
    rows: list[dict] = []
    timings: dict[str, float] = {}
    for person, entries in speakers.items():
        if person in model.config.speakers:
            log.warning("%s was in the checkpoint's training set: zero-shot numbers are not held-out", person)
        clips = []
        for cid, d in entries:
            prof = load_profile(d)
            clips.append(SplitClip(cid, person, prof, profile_audio(prof), int(round(prof.n_frames * TRAIN_FRACTION))))
        train_data = [clip_from_profile(c.train, c.train_audio(), encoder, name=c.name, speaker=person,
                                        pose_std_floor=model.config.inference.pose_std_floor) for c in clips]
        tuned = quick = None
        if "facial-gan fine-tuned" in systems:
            t0 = time.perf_counter()
            tuned = finetune_clips(model, train_data, steps=finetune_steps, progress=progress, name=person) if finetune_steps > 0 else model
            timings[person] = time.perf_counter() - t0
            log.info("%s: fine-tuned on %.1f s in %.0f s", person, sum(len(c) for c in train_data) / clips[0].profile.fps, timings[person])
        if any(x.startswith("facial-gan fast") for x in systems):
            fast = model.config.finetune.budget("fast")
            t0 = time.perf_counter()
            quick = finetune_clips(model, train_data, steps=fast.steps, max_seconds=fast.max_seconds, batch_size=fast.batch_size,
                                   adversarial=fast.adversarial, progress=progress, name=person)
            timings[f"{person} (fast)"] = time.perf_counter() - t0
        for c, td in zip(clips, train_data):
            # the footage's own audio-video offset, found on the speaker part with the zero-shot model
            offset = model_offset(model, td, max_lag=OFFSET_MAX_LAG)[0]
            s, e = c.test_range
            n = e - s
            audio = c.test_audio()
            train = c.train
            test_feats = encoder(audio, c.profile.fps, n).windows
            makers = {
                "facial-gan fine-tuned": lambda: animate(tuned, audio, train, seed=seed),
                "facial-gan fast": lambda: animate(quick, audio, train, seed=seed),
                "facial-gan zero-shot": lambda: animate(model, audio, train, seed=seed),
                "facial-gan fast (gain only)": lambda: animate(gain_only(quick), audio, train, seed=seed),
                "facial-gan zero-shot (gain only)": lambda: animate(gain_only(model), audio, train, seed=seed),
                "nearest-neighbour": lambda: baseline_nearest(td.features, train, test_feats, smoothing),
                "replay": lambda: baseline_replay(train, n),
                "mean": lambda: baseline_mean(train, n),
                "oracle": lambda: c.profile.params.slice(s, e),
            }
            for system in systems:
                pred = makers[system]()
                rows.append({"speaker": person, "clip": c.name, "system": system, "av_offset": offset,
                             **metrics(pred, c, basis, offset=offset)})
    fps = clips[0].profile.fps
    per_speaker = {}
    for person in speakers:
        for system in systems:
            sel = [{k: v for k, v in r.items() if k not in ("speaker", "clip", "system")} for r in rows
                   if r["speaker"] == person and r["system"] == system]
            per_speaker.setdefault(person, {})[system] = aggregate(sel)
    overall = {}
    for system in systems:
        vals = [per_speaker[p][system] for p in speakers]
        overall[system] = {k: float(np.mean([v[k] for v in vals])) for k in vals[0] if k not in ("frames", "mouth_r_defined",
                                                                                                    "mouth_r_synced_defined")}
    return {"fps": fps, "rows": rows, "per_speaker": per_speaker, "overall": overall, "finetune_seconds": timings,
            "checkpoint": model.weights_id(), "checkpoint_speakers": model.config.speakers, "finetune_steps": finetune_steps,
            "systems": list(systems)}


def _fmt(v: float, digits: int = 3) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def report(result: dict) -> str:
    """Markdown tables of the result."""
    systems = result.get("systems", SYSTEMS)
    lines = ["| system | mouth r ↑ | mouth err px ↓ | mouth err % face ↓ | pose-std ratio yaw / pitch / roll (→1) | angular-speed ratio (→1) "
             "| blinks/min pred / own / real |",
             "|---|---|---|---|---|---|---|"]
    for system in systems:
        o = result["overall"][system]
        r = _fmt(o["mouth_r"]) if system != "mean" else "— (constant)"
        lines.append(f"| {system} | {r} | {_fmt(o['mouth_err_px'], 2)} | {_fmt(o['mouth_err_pct'], 2)} | {_axes(o)} "
                     f"| {_fmt(o['angular_speed_ratio'], 2)} | {_fmt(o['blinks_pred'], 1)} / {_fmt(o['blinks_own'], 1)} / {_fmt(o['blinks_real'], 1)} |")
    lines += ["", "Per speaker (frame-weighted over the speaker's clips):", "",
              "| speaker | test s | system | mouth r | mouth err px | mouth err % | pose-std ratio y / p / r | angular-speed ratio "
              "| blinks/min pred / own / real |",
              "|---|---|---|---|---|---|---|---|---|"]
    for person, per in result["per_speaker"].items():
        for system in systems:
            a = per[system]
            r = _fmt(a["mouth_r"]) if a.get("mouth_r_defined", True) else "—"
            lines.append(f"| {person} | {a['frames'] / result['fps']:.1f} | {system} | {r} | {_fmt(a['mouth_err_px'], 2)} | {_fmt(a['mouth_err_pct'], 2)} "
                         f"| {_axes(a)} | {_fmt(a['angular_speed_ratio'], 2)} "
                         f"| {_fmt(a['blinks_pred'], 1)} / {_fmt(a['blinks_own'], 1)} / {_fmt(a['blinks_real'], 1)} |")
    return "\n".join(lines) + "\n"


def _axes(a: dict, key: str = "pose_std_ratio") -> str:
    return " / ".join(_fmt(a.get(f"{key}_{n}", float("nan")), 2) for n in layout.ROTATION_NAMES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=Path, required=True, help="folder of tracked profiles named by manifest id")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", required=True, help="pretrained checkpoint that has not seen the evaluated speakers")
    parser.add_argument("--min-seconds", type=float, default=50.0)
    parser.add_argument("--finetune-steps", type=int, help="fine-tuning steps per speaker (default: the 'full' preset)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of: {', '.join(SYSTEMS)}")
    parser.add_argument("--speakers", help="comma-separated speakers to evaluate (default: all with ≥ --min-seconds)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, help="Markdown table to write")
    parser.add_argument("--json", type=Path, help="full results as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import torch

    configure_threads(args.threads)
    model = FacialGAN.from_pretrained(args.model)
    speakers = eval_speakers(args.manifest, args.profiles, args.min_seconds)
    if args.speakers:
        wanted = [p.strip() for p in args.speakers.split(",") if p.strip()]
        missing = [p for p in wanted if p not in speakers]
        if missing:
            parser.error(f"no tracked footage ≥ {args.min_seconds:g} s for {missing}")
        speakers = {p: speakers[p] for p in wanted}
    systems = tuple(x.strip() for x in args.systems.split(",") if x.strip())
    unknown = [x for x in systems if x not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    log.info("speakers with ≥ %.0f s: %s", args.min_seconds, {p: [c for c, _ in v] for p, v in speakers.items()})
    steps = args.finetune_steps if args.finetune_steps is not None else model.config.finetune.full_steps
    result = evaluate(model, speakers, finetune_steps=steps, seed=args.seed, systems=systems)
    write_outputs(report(result), result, args.output, args.json)
    return 0


def write_outputs(text: str, result: dict, output: Path | None, json_path: Path | None) -> None:
    """Print the markdown report and write it (``--output``) and the raw results (``--json``) when asked."""
    sys.stdout.write(text)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    raise SystemExit(main())
