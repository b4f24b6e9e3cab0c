"""`facial-study build`: method folders → a complete study folder (stimuli, manifest, key, forms).

:func:`build_study` is the library entry point. It matches clips across method folders (keeping
the intersection and listing the dropped clips), trims every clip to the shortest duration (and
says so), plans blind, counterbalanced trials with attention checks, renders the stimuli, and
writes the manifest, key, HTML form and questions CSV. Everything is built in a temporary sibling
folder and renamed into place at the end, so a failed build leaves nothing half-written; an
existing non-empty study folder is only replaced with ``force=True``. Output names are blind
trial ids, never names taken from the input folders, and every write is checked to stay inside
the study folder.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from facial.media import MediaError, probe
from user_study.design import (
    CHECK_OFFSET_S,
    StudyPaths,
    derive_order_seed,
    match_clips,
    parse_pairs,
    plan_trials,
    save_json,
    study_id_for,
)
from user_study.forms import write_html, write_questions_csv
from user_study.stimuli import RenderSpec, render_trial
from user_study.types import Key, Manifest, Question, StudyError, Trial, check_name, check_scale, default_questions

log = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = {
    "2afc": "Each trial shows two videos of a person speaking, A and B. Watch and listen, then pick A or B for each question.",
    "mos5": "Each trial shows one video of a person speaking. Watch and listen, then rate it from 1 (worst) to 5 (best) on each question.",
}


@dataclass
class BuildConfig:
    """Everything `facial-study build` needs. Also readable from a YAML/JSON spec (:meth:`from_mapping`)."""

    methods: dict[str, str]
    pairs: list[str] | None = None
    scale: str = "2afc"
    layout: str = "side_by_side"
    questions: list[Question] | None = None
    checks: int = 2
    check_method: str | None = None
    check_offset_s: float = CHECK_OFFSET_S
    seed: int = 0
    order_seed: int | None = None
    duration: float | None = None
    width: int = 256
    height: int = 256
    fps: float = 25.0
    loudness_dbfs: float = -23.0
    audio_from: str | None = None
    title: str = "Talking-face user study"
    instructions: str | None = None
    embed_media: bool = False
    base_url: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "BuildConfig":
        """Validate a spec mapping (unknown keys are an error, listing the allowed ones)."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise StudyError(f"unknown study setting(s) {unknown}; allowed: {sorted(allowed)}")
        values = dict(data)
        if "methods" not in values or not isinstance(values["methods"], Mapping):
            raise StudyError("the study spec needs `methods:` mapping NAME: FOLDER")
        if values.get("questions") is not None:
            values["questions"] = [parse_question(q) for q in values["questions"]]
        return cls(**values)

    def validate(self) -> None:
        check_scale(self.scale)
        if self.layout not in ("side_by_side", "sequential"):
            raise StudyError(f"layout must be side_by_side or sequential, got {self.layout!r}")
        for m in self.methods:
            check_name("method name", m)
        if self.scale == "2afc" and len(self.methods) < 2:
            raise StudyError("an A/B (2afc) study needs at least two --method folders")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise StudyError(f"panel size must be even and at least 16 px, got {self.width}x{self.height}")
        if self.fps <= 0:
            raise StudyError(f"fps must be positive, got {self.fps}")
        if self.duration is not None and self.duration <= 0:
            raise StudyError(f"duration must be positive seconds, got {self.duration}")
        for m in (self.audio_from, self.check_method):
            if m is not None and m not in self.methods:
                raise StudyError(f"{m!r} is not one of the methods {list(self.methods)}")


def parse_question(q: Any) -> Question:
    """A question from ``{"id", "prompt"}``, ``"id=prompt"`` or a default id (``"lip_sync"``)."""
    if isinstance(q, Question):
        return q
    if isinstance(q, Mapping):
        if "id" not in q or "prompt" not in q:
            raise StudyError(f"question {dict(q)} needs `id` and `prompt`")
        return Question(check_name("question id", str(q["id"])), str(q["prompt"]))
    if isinstance(q, str) and "=" in q:
        qid, prompt = q.split("=", 1)
        if not prompt.strip():
            raise StudyError(f"question {q!r} has an empty prompt")
        return Question(check_name("question id", qid.strip()), prompt.strip())
    raise StudyError(f"question {q!r} must be ID=PROMPT (e.g. lip_sync='Which video has better lip sync?')")


def _resolve_questions(cfg: BuildConfig) -> list[Question]:
    defaults = {q.id: q for q in default_questions(cfg.scale)}
    if not cfg.questions:
        return list(defaults.values())
    return list(cfg.questions)


def _check_output(out: Path, method_dirs: Mapping[str, Path], force: bool) -> None:
    out_r = out.resolve()
    for name, d in method_dirs.items():
        d_r = Path(d).resolve()
        if out_r == d_r or d_r in out_r.parents or out_r in d_r.parents:
            raise StudyError(f"the study folder {out} overlaps the input folder of {name} ({d}); choose a separate output folder")
    if out.exists() and not out.is_dir():
        raise StudyError(f"{out} exists and is not a folder; choose another -o")
    if out.exists() and any(out.iterdir()) and not force:
        raise StudyError(f"{out} already exists and is not empty; choose a new folder or pass --force to replace it")
    if out.exists() and any(out.iterdir()) and not (out / "key.json").exists() and not (out / "public").exists():
        raise StudyError(f"{out} is not a study folder (no key.json); refusing to replace it even with --force")


def build_study(cfg: BuildConfig, out_dir: str | Path, *, force: bool = False) -> dict[str, Any]:
    """Build a study folder from ``cfg`` (see module docstring). Returns the build report dict."""
    t0 = time.time()
    cfg.validate()
    out = Path(out_dir)
    method_dirs = {m: Path(d) for m, d in cfg.methods.items()}
    _check_output(out, method_dirs, force)
    questions = _resolve_questions(cfg)
    match = match_clips(method_dirs)
    clips = list(match.clips)
    methods = list(method_dirs)

    # One duration for every stimulus: the shortest clip (capped by cfg.duration).
    durations: dict[str, float] = {}
    for clip, per_method in match.clips.items():
        for m, path in per_method.items():
            try:
                info = probe(path)
            except MediaError as exc:
                raise StudyError(f"{path} ({m}/{clip}) cannot be read: {exc}") from exc
            if not info.has_video:
                raise StudyError(f"{path} ({m}/{clip}) has no video stream")
            durations[f"{m}/{clip}"] = float(info.duration)
    shortest_name = min(durations, key=durations.get)
    shortest = durations[shortest_name]
    if shortest < 1.0 / cfg.fps * 2:
        raise StudyError(f"{shortest_name} lasts only {shortest:.2f} s; every clip needs at least a few frames")
    duration = shortest if cfg.duration is None else min(cfg.duration, shortest)
    if cfg.duration is not None and cfg.duration > shortest:
        log.warning("--duration %.2f s is longer than the shortest clip (%s, %.2f s); using %.2f s", cfg.duration, shortest_name, shortest, shortest)
    n_frames = int(duration * cfg.fps + 1e-6)
    duration = n_frames / cfg.fps
    trimmed = {name: round(d, 3) for name, d in durations.items() if d > duration + 1.0 / cfg.fps}
    if trimmed and cfg.duration is None:
        log.warning(
            "clip durations differ: %d of %d clip file(s) are trimmed to the shortest, %.2f s (%s); longest was %s at %.2f s",
            len(trimmed), len(durations), duration, shortest_name, max(trimmed, key=trimmed.get), max(trimmed.values()),
        )
    elif trimmed:
        log.info("%d clip file(s) are trimmed to %.2f s", len(trimmed), duration)

    pairs = parse_pairs(cfg.pairs, methods) if cfg.scale == "2afc" else (parse_pairs(cfg.pairs, methods) if cfg.pairs else None)
    planned = plan_trials(
        clips, methods, scale=cfg.scale, pairs=pairs, questions=questions, n_checks=cfg.checks,
        check_method=cfg.check_method, seed=cfg.seed, check_offset_s=cfg.check_offset_s,
    )
    study_id = study_id_for(cfg.seed, clips, method_dirs, planned, cfg.scale)
    order_seed = cfg.order_seed if cfg.order_seed is not None else derive_order_seed(cfg.seed, study_id)
    spec = RenderSpec(fps=cfg.fps, width=cfg.width, height=cfg.height, duration_s=duration, layout=cfg.layout, target_dbfs=cfg.loudness_dbfs)
    audio_pref = [cfg.audio_from] if cfg.audio_from else []
    audio_pref += [m for m in methods if m not in audio_pref]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        paths = StudyPaths(tmp)
        paths.stimuli.mkdir(parents=True)
        trials = []
        for i, t in enumerate(planned, 1):
            rel = f"stimuli/{t.id}.mp4"
            target = paths.inside(paths.public / rel)
            prefer = ([t.methods[0]] if t.check else []) + audio_pref
            render_trial(t, match.clips[t.clip], target, spec, audio_from=prefer)
            trials.append(Trial(t.id, rel))
            log.info("rendered stimulus %d/%d", i, len(planned))
        w, h = spec.frame_size()
        manifest = Manifest(
            study_id=study_id,
            title=cfg.title,
            instructions=cfg.instructions or DEFAULT_INSTRUCTIONS[cfg.scale],
            scale=cfg.scale,
            layout=cfg.layout,
            questions=questions,
            trials=trials,
            order_seed=int(order_seed),
            duration_s=round(spec.stimulus_duration(), 3),
            width=w,
            height=h,
        )
        key = Key(
            study_id=study_id,
            seed=cfg.seed,
            order_seed=int(order_seed),
            methods={m: str(Path(d).resolve()) for m, d in method_dirs.items()},
            pairs=[list(p) for p in (pairs or [])],
            trials={t.id: t.to_key() for t in planned},
            dropped_clips=match.dropped,
            trimmed_clips=trimmed,
            audio_from=audio_pref[0],
            loudness_dbfs=cfg.loudness_dbfs,
        )
        save_json(paths.inside(paths.manifest), manifest.to_dict())
        save_json(paths.inside(paths.key), key.to_dict())
        write_html(manifest, paths.inside(paths.html), embed_media=cfg.embed_media)
        write_questions_csv(manifest, paths.inside(paths.questions_csv), base_url=cfg.base_url)
        n_checks = sum(1 for t in planned if t.check)
        report = {
            "study_id": study_id,
            "n_trials": len(planned),
            "n_attention_checks": n_checks,
            "n_clips": len(clips),
            "methods": methods,
            "pairs": key.pairs,
            "scale": cfg.scale,
            "layout": cfg.layout,
            "clip_duration_s": duration,
            "stimulus_duration_s": manifest.duration_s,
            "frame_size": [w, h],
            "dropped_clips": match.dropped,
            "trimmed_clips": trimmed,
            "seconds": round(time.time() - t0, 2),
        }
        save_json(paths.inside(paths.report), report)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(old / "study")
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "built study %s in %s: %d trials (%d attention checks) on %d clips, %.2f s each",
        study_id, out, len(planned), n_checks, len(clips), duration,
    )
    return report
