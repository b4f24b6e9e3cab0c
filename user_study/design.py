"""Study design: match clips across method folders, plan trials, counterbalance, order, store.

Pure logic (no rendering): :func:`match_clips` pairs the files of several method folders by name,
:func:`plan_trials` turns clips × methods into blind, counterbalanced trials with attention checks,
:func:`participant_order` gives each participant a reproducible random order (the same algorithm
runs in the HTML form, see :mod:`user_study.forms`), and :class:`StudyPaths` / :func:`load_study`
fix where a built study keeps its files::

    STUDY_DIR/
      public/            upload this folder (participant-facing)
        index.html       self-contained form (manifest embedded)
        study.json       the manifest
        questions.csv    questions per trial, for form services
        stimuli/t01.mp4 …
      key.json           researcher-only: which trial shows which method
      build_report.json  what the build did (dropped clips, trimming, timings)
      answers/answers.csv  written by `facial-study serve`
      results/           written by `facial-study analyze`
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from facial.atomic import write_text
from facial.hashing import sha256_text
from user_study.types import (
    DEFAULT_QUESTION_IDS,
    Key,
    Manifest,
    Question,
    StudyError,
    TrialKey,
    check_name,
    check_scale,
    read_mapping,
)

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm")
CHECK_OFFSET_S = 1.0
MOS_CHECK_MAX = 2


# --------------------------------------------------------------------------- layout on disk
@dataclass(frozen=True)
class StudyPaths:
    """Where a built study keeps its files (see module docstring)."""

    root: Path

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def manifest(self) -> Path:
        return self.public / "study.json"

    @property
    def html(self) -> Path:
        return self.public / "index.html"

    @property
    def questions_csv(self) -> Path:
        return self.public / "questions.csv"

    @property
    def stimuli(self) -> Path:
        return self.public / "stimuli"

    @property
    def key(self) -> Path:
        return self.root / "key.json"

    @property
    def report(self) -> Path:
        return self.root / "build_report.json"

    @property
    def answers(self) -> Path:
        return self.root / "answers" / "answers.csv"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def inside(self, path: Path) -> Path:
        """``path`` resolved, after checking that it stays inside the study folder."""
        root = self.root.resolve()
        p = Path(path).resolve()
        if p != root and root not in p.parents:
            raise StudyError(f"refusing to write {path}: it lies outside the study folder {self.root}")
        return p


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest (JSON or YAML)."""
    return Manifest.from_dict(read_mapping(path))


def load_key(path: str | Path) -> Key:
    """Read and validate a study key (JSON or YAML)."""
    return Key.from_dict(read_mapping(path))


def load_study(study_dir: str | Path, *, need_key: bool = True) -> tuple[Manifest, Key | None]:
    """The manifest (and key) of a built study folder, cross-checked against each other."""
    paths = StudyPaths(Path(study_dir))
    if not paths.manifest.is_file():
        raise StudyError(f"{study_dir} is not a built study: {paths.manifest} is missing; run `facial-study build` first")
    manifest = load_manifest(paths.manifest)
    key = None
    if need_key or paths.key.is_file():
        if not paths.key.is_file():
            raise StudyError(f"{paths.key} is missing: the key (which trial shows which method) is needed for this step")
        key = load_key(paths.key)
        if key.study_id != manifest.study_id:
            raise StudyError(f"{paths.key} belongs to study {key.study_id}, not to {manifest.study_id}; use the key built with this study")
        missing = set(manifest.trial_ids) - set(key.trials)
        if missing:
            raise StudyError(f"the key has no entry for trial(s) {sorted(missing)}; rebuild the study")
    return manifest, key


def save_json(path: Path, data: object) -> Path:
    """Write JSON atomically (temp file, then rename)."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- clips
@dataclass
class ClipMatch:
    """Clips found in every method folder (``clips[name][method] = path``) and those dropped."""

    clips: dict[str, dict[str, Path]]
    dropped: dict[str, list[str]]


def list_videos(folder: Path) -> dict[str, Path]:
    """Video files directly inside ``folder`` by stem. Raises when two files share a stem."""
    if not folder.exists():
        raise StudyError(f"method folder {folder} does not exist")
    if not folder.is_dir():
        raise StudyError(f"{folder} is not a folder; --method takes NAME=FOLDER of output videos")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."):
            if p.stem in found:
                raise StudyError(f"{folder} holds two videos named {p.stem!r} ({found[p.stem].name}, {p.name}); keep one")
            found[p.stem] = p
    return found


def match_clips(method_dirs: Mapping[str, str | Path]) -> ClipMatch:
    """Match clips across method folders by file name (without extension).

    Only clips present in every folder are kept; the others are listed per method in
    ``dropped`` (and logged). Raises :class:`StudyError` when a folder has no videos or no clip is
    common to all.
    """
    if len(method_dirs) < 1:
        raise StudyError("give at least one method folder (--method NAME=FOLDER)")
    per_method = {}
    for name, folder in method_dirs.items():
        check_name("method name", name)
        vids = list_videos(Path(folder))
        if not vids:
            raise StudyError(f"method folder {folder} ({name}) holds no videos ({', '.join(VIDEO_SUFFIXES)})")
        per_method[name] = vids
    common = set.intersection(*(set(v) for v in per_method.values()))
    dropped = {m: sorted(set(v) - common) for m, v in per_method.items() if set(v) - common}
    if not common:
        listing = "; ".join(f"{m}: {sorted(v)[:5]}" for m, v in per_method.items())
        raise StudyError(f"no clip name is found in every method folder ({listing}); name each method's output after its clip")
    if dropped:
        n = len(set().union(*dropped.values()))
        log.warning(
            "%d clip(s) are not in every method folder and are dropped: %s",
            n,
            "; ".join(f"{m}: {', '.join(c)}" for m, c in dropped.items()),
        )
    clips = {c: {m: per_method[m][c] for m in per_method} for c in sorted(common)}
    return ClipMatch(clips, dropped)


# --------------------------------------------------------------------------- trials
@dataclass
class PlannedTrial:
    """A trial before rendering: blind id, clip, methods shown (A, B) or (single,), pair, check."""

    id: str
    clip: str
    methods: list[str]
    pair: list[str] | None = None
    check: dict | None = None

    def to_key(self) -> TrialKey:
        return TrialKey(clip=self.clip, methods=list(self.methods), pair=list(self.pair) if self.pair else None, check=self.check)


def parse_pairs(pairs: Iterable[str | Sequence[str]] | None, methods: Sequence[str]) -> list[list[str]]:
    """Method pairs (``"ours:baseline"`` or ``[ours, baseline]``); default: the first method vs each other one."""
    out: list[list[str]] = []
    if not pairs:
        if len(methods) < 2:
            raise StudyError("an A/B study needs at least two methods (--method NAME=FOLDER twice)")
        return [[methods[0], m] for m in methods[1:]]
    for p in pairs:
        parts = p.split(":") if isinstance(p, str) else list(p)
        if len(parts) != 2 or parts[0] == parts[1]:
            raise StudyError(f"pair {p!r} must be two different methods as NAME:NAME (e.g. ours:baseline)")
        for m in parts:
            if m not in methods:
                raise StudyError(f"pair {p!r} names {m!r}, which is not a --method (have {list(methods)})")
        if parts in out or parts[::-1] in out:
            raise StudyError(f"pair {p!r} is given twice")
        out.append(list(parts))
    return out


def check_question(questions: Sequence[Question]) -> str:
    """The question that attention checks are scored on: ``lip_sync`` if asked, else the first."""
    ids = [q.id for q in questions]
    return "lip_sync" if "lip_sync" in ids else ids[0]


def _balanced_sides(n: int, rng: np.random.Generator, start: int) -> list[int]:
    """``n`` values in {0, 1}, as many 0s as 1s (the odd one is ``start``), in random order."""
    sides = [(start + i) % 2 for i in range(n)]
    rng.shuffle(sides)
    return sides


def plan_trials(
    clips: Sequence[str],
    methods: Sequence[str],
    *,
    scale: str = "2afc",
    pairs: Sequence[Sequence[str]] | None = None,
    questions: Sequence[Question] | None = None,
    n_checks: int = 2,
    check_method: str | None = None,
    seed: int = 0,
    check_offset_s: float = CHECK_OFFSET_S,
) -> list[PlannedTrial]:
    """Plan the trials of a study (no rendering), reproducibly from ``seed``.

    - 2AFC: one trial per method pair × clip. Within each pair, the method shown as A (left/first)
      is counterbalanced: as many clips with ``pair[0]`` as A as with ``pair[1]`` as A (an odd
      count alternates between pairs).
    - mos5: one trial per method × clip.
    - ``n_checks`` attention checks on clips of ``check_method`` (default the first method): for
      2AFC the same clip on both sides with one side's video shifted ``check_offset_s`` against
      the audio (expected answer: the other side, on the lip-sync question); for mos5 the shifted
      clip alone (expected rating ≤ 2).

    Trial ids ``t01…`` are assigned in a random order, so they reveal neither method nor clip.
    """
    check_scale(scale)
    if not clips:
        raise StudyError("no clips to plan trials for")
    methods = list(methods)
    questions = list(questions) if questions is not None else [Question(q, q) for q in DEFAULT_QUESTION_IDS]
    if n_checks < 0:
        raise StudyError(f"the number of attention checks must be ≥ 0, got {n_checks}")
    rng = np.random.default_rng(seed)
    planned: list[PlannedTrial] = []
    if scale == "2afc":
        pair_list = [list(p) for p in (pairs or parse_pairs(None, methods))]
        for i, pair in enumerate(pair_list):
            sides = _balanced_sides(len(clips), rng, start=i % 2)
            for clip, side in zip(clips, sides):
                shown = pair if side == 0 else pair[::-1]
                planned.append(PlannedTrial("", clip, list(shown), list(pair)))
    else:
        used = methods if not pairs else list(dict.fromkeys(m for p in pairs for m in p))
        for m in used:
            for clip in clips:
                planned.append(PlannedTrial("", clip, [m]))
    if n_checks:
        cm = check_method or methods[0]
        if cm not in methods:
            raise StudyError(f"--check-method {cm!r} is not a --method (have {methods})")
        qid = check_question(questions)
        order = list(rng.permutation(len(clips)))
        check_clips = [clips[order[i % len(clips)]] for i in range(n_checks)]
        shifted_sides = _balanced_sides(n_checks, rng, start=0)
        for clip, s in zip(check_clips, shifted_sides):
            if scale == "2afc":
                shifted = "AB"[s]
                expected = ["B" if shifted == "A" else "A"]
                planned.append(PlannedTrial("", clip, [cm, cm], None,
                                            {"question": qid, "expected": expected, "shifted": shifted, "offset_s": check_offset_s}))
            else:
                expected = [str(r) for r in range(1, MOS_CHECK_MAX + 1)]
                planned.append(PlannedTrial("", clip, [cm], None,
                                            {"question": qid, "expected": expected, "shifted": "single", "offset_s": check_offset_s}))
    width = max(2, len(str(len(planned))))
    for trial, number in zip(planned, rng.permutation(len(planned)) + 1):
        trial.id = f"t{int(number):0{width}d}"
    planned.sort(key=lambda t: t.id)
    return planned


def study_id_for(seed: int, clips: Sequence[str], methods: Mapping[str, str | Path], trials: Sequence[PlannedTrial], scale: str) -> str:
    """A stable, one-way id of a study design (shown to participants; reveals nothing of the key)."""
    blob = json.dumps([seed, list(clips), sorted(methods), [(t.id, t.clip, t.methods) for t in trials], scale])
    return "s" + sha256_text(blob, length=12)


def derive_order_seed(seed: int, study_id: str) -> int:
    """Default seed of the per-participant orders (a one-way function of the design seed)."""
    return int(sha256_text(f"order:{seed}:{study_id}", length=8), 16) & 0x7FFFFFFF


# --------------------------------------------------------------------------- per-participant order
_M32 = 0xFFFFFFFF


def _fnv1a32(text: str) -> int:
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & _M32
    return h


def _mulberry32(state: int):
    a = state & _M32

    def rand() -> float:
        nonlocal a
        a = (a + 0x6D2B79F5) & _M32
        t = ((a ^ (a >> 15)) * (1 | a)) & _M32
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & _M32)) & _M32) ^ t
        return ((t ^ (t >> 14)) & _M32) / 4294967296.0

    return rand


def participant_order(trial_ids: Sequence[str], order_seed: int, participant: str) -> list[str]:
    """The order in which ``participant`` sees the trials: a Fisher–Yates shuffle seeded by
    FNV-1a(``"{order_seed}:{participant}"``) through mulberry32.

    Deterministic, and bit-identical to the JavaScript in the HTML form, so a participant gets the
    same order in the form and in ``facial-study serve``.
    """
    ids = list(trial_ids)
    rand = _mulberry32(_fnv1a32(f"{int(order_seed)}:{participant}"))
    for i in range(len(ids) - 1, 0, -1):
        j = int(math.floor(rand() * (i + 1)))
        ids[i], ids[j] = ids[j], ids[i]
    return ids


def check_participant_id(participant: str) -> str:
    """Strip and validate a participant id (1–64 printable characters, no commas or quotes)."""
    pid = (participant or "").strip()
    if not pid:
        raise StudyError("enter a participant id (any short code you were given, e.g. P07)")
    if len(pid) > 64 or any(c in pid for c in ',"\n\r\t') or not pid.isprintable():
        raise StudyError("the participant id must be at most 64 printable characters without commas or quotes")
    return pid
