"""Typed objects of a user study and their (validated) JSON/YAML form.

Two files describe a built study, and they are kept apart on purpose:

- the **manifest** (:class:`Manifest`, ``public/study.json``) is participant-facing: blind trial ids,
  stimulus paths, questions, scale, the seed of the per-participant order. It names no method and
  no clip, and it does not say which trials are attention checks.
- the **key** (:class:`Key`, ``key.json`` next to — never inside — ``public/``) says, per trial,
  which clip and which method is shown as A (left/first) and B (right/second), and which trials are
  attention checks with their expected answer.

Answers are long-format rows (:data:`ANSWER_COLUMNS`), one per participant × trial × question.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

MANIFEST_FORMAT = "facial-study/1"
KEY_FORMAT = "facial-study-key/1"
SCALES = ("2afc", "mos5")
LAYOUTS = ("side_by_side", "sequential")
ANSWER_COLUMNS = ("study_id", "participant", "trial", "question", "answer", "position", "timestamp", "source")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
TRIAL_ID_RE = re.compile(r"^t[0-9]{2,5}$")


class StudyError(ValueError):
    """Bad study input (folders, manifest, key, answers); the message says what and what to do."""


@dataclass(frozen=True)
class Question:
    """One question asked about every trial: a short ``id`` (a column name) and the ``prompt`` shown."""

    id: str
    prompt: str


DEFAULT_QUESTION_IDS = ("lip_sync", "head_motion", "eye_blink", "realism")
_PROMPTS_2AFC = {
    "lip_sync": "In which video do the lip movements match the speech better?",
    "head_motion": "In which video does the head move more naturally?",
    "eye_blink": "In which video do the eye blinks look more natural?",
    "realism": "Which video looks more like a real recording of a person?",
}
_PROMPTS_MOS = {
    "lip_sync": "How well do the lip movements match the speech? (1 = very poorly, 5 = perfectly)",
    "head_motion": "How natural is the head motion? (1 = very unnatural, 5 = completely natural)",
    "eye_blink": "How natural are the eye blinks? (1 = very unnatural, 5 = completely natural)",
    "realism": "How real does the video look? (1 = clearly fake, 5 = a real recording)",
}


def default_questions(scale: str = "2afc") -> list[Question]:
    """The four questions of FACIAL's study (lip sync, head motion, eye blinks, realism), phrased for ``scale``."""
    check_scale(scale)
    prompts = _PROMPTS_2AFC if scale == "2afc" else _PROMPTS_MOS
    return [Question(q, prompts[q]) for q in DEFAULT_QUESTION_IDS]


def choices_for(scale: str) -> tuple[str, ...]:
    """Allowed answers: ``("A", "B")`` for 2AFC, ``("1", …, "5")`` for a 5-point MOS."""
    check_scale(scale)
    return ("A", "B") if scale == "2afc" else ("1", "2", "3", "4", "5")


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise StudyError(f"scale must be one of {SCALES} (2AFC: choose A or B; mos5: rate 1-5), got {scale!r}")
    return scale


def check_name(kind: str, name: str) -> str:
    """Validate a method name or question id: letters, digits and ``_ . + -``, at most 64 characters."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise StudyError(
            f"{kind} {name!r} is not a valid name: use letters, digits and _ . + - (start with a letter or digit, at most 64 characters)"
        )
    return name


@dataclass(frozen=True)
class Trial:
    """A participant-facing trial: blind ``id`` (``t01``…) and the stimulus path relative to ``public/``."""

    id: str
    stimulus: str


@dataclass
class Manifest:
    """Participant-facing description of a study (see module docstring). Validated on construction."""

    study_id: str
    title: str
    instructions: str
    scale: str
    layout: str
    questions: list[Question]
    trials: list[Trial]
    order_seed: int
    duration_s: float
    width: int
    height: int
    format: str = MANIFEST_FORMAT

    def __post_init__(self) -> None:
        if self.format != MANIFEST_FORMAT:
            raise StudyError(f"manifest format {self.format!r} is not {MANIFEST_FORMAT!r}; rebuild the study with this version")
        check_scale(self.scale)
        if self.layout not in LAYOUTS:
            raise StudyError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not self.questions:
            raise StudyError("a study needs at least one question")
        qids = [q.id for q in self.questions]
        for q in qids:
            check_name("question id", q)
        if len(set(qids)) != len(qids):
            raise StudyError(f"question ids must be unique, got {qids}")
        if not self.trials:
            raise StudyError("a study needs at least one trial")
        tids = [t.id for t in self.trials]
        if len(set(tids)) != len(tids):
            raise StudyError("trial ids must be unique")
        for t in self.trials:
            if not TRIAL_ID_RE.match(t.id):
                raise StudyError(f"trial id {t.id!r} must look like t01 (blind ids only)")
            p = Path(t.stimulus)
            if p.is_absolute() or ".." in p.parts or not t.stimulus:
                raise StudyError(f"stimulus path {t.stimulus!r} of trial {t.id} must be relative and stay inside the study folder")

    @property
    def choices(self) -> tuple[str, ...]:
        return choices_for(self.scale)

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def trial_ids(self) -> list[str]:
        return [t.id for t in self.trials]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"format": d.pop("format"), **d}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Manifest":
        _require(data, "manifest", ["study_id", "scale", "layout", "questions", "trials", "order_seed"])
        try:
            return cls(
                study_id=str(data["study_id"]),
                title=str(data.get("title", "Talking-face user study")),
                instructions=str(data.get("instructions", "")),
                scale=data["scale"],
                layout=data["layout"],
                questions=[Question(str(q["id"]), str(q["prompt"])) for q in data["questions"]],
                trials=[Trial(str(t["id"]), str(t["stimulus"])) for t in data["trials"]],
                order_seed=int(data["order_seed"]),
                duration_s=float(data.get("duration_s", 0.0)),
                width=int(data.get("width", 0)),
                height=int(data.get("height", 0)),
                format=str(data.get("format", MANIFEST_FORMAT)),
            )
        except (KeyError, TypeError) as exc:
            raise StudyError(f"malformed manifest entry ({exc!r}): questions need id+prompt, trials need id+stimulus") from exc


@dataclass
class TrialKey:
    """Researcher-only truth about one trial.

    ``methods`` is ``[A, B]`` for an A/B trial (A = left/first) or ``[method]`` for a rated one;
    ``pair`` is the method pair as the study designer gave it (``ours:baseline``), so a 2AFC answer
    is scored as a vote for ``pair[0]`` or ``pair[1]``. ``check`` is None, or for an attention
    check ``{"question", "expected" (answers that pass), "shifted" (A/B/single), "offset_s"}``.
    """

    clip: str
    methods: list[str]
    pair: list[str] | None = None
    check: dict[str, Any] | None = None


@dataclass
class Key:
    """Researcher-only key of a study (``key.json``)."""

    study_id: str
    seed: int
    order_seed: int
    methods: dict[str, str]
    pairs: list[list[str]]
    trials: dict[str, TrialKey]
    dropped_clips: dict[str, list[str]] = field(default_factory=dict)
    trimmed_clips: dict[str, float] = field(default_factory=dict)
    audio_from: str | None = None
    loudness_dbfs: float | None = None
    format: str = KEY_FORMAT

    def __post_init__(self) -> None:
        if self.format != KEY_FORMAT:
            raise StudyError(f"key format {self.format!r} is not {KEY_FORMAT!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"format": d.pop("format"), **d}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Key":
        _require(data, "key", ["study_id", "seed", "order_seed", "methods", "pairs", "trials"])
        try:
            trials = {str(t): TrialKey(**v) for t, v in data["trials"].items()}
        except TypeError as exc:
            raise StudyError(f"malformed key trial entry ({exc})") from exc
        return cls(
            study_id=str(data["study_id"]),
            seed=int(data["seed"]),
            order_seed=int(data["order_seed"]),
            methods={str(k): str(v) for k, v in data["methods"].items()},
            pairs=[list(p) for p in data["pairs"]],
            trials=trials,
            dropped_clips=dict(data.get("dropped_clips", {})),
            trimmed_clips=dict(data.get("trimmed_clips", {})),
            audio_from=data.get("audio_from"),
            loudness_dbfs=data.get("loudness_dbfs"),
            format=str(data.get("format", KEY_FORMAT)),
        )


def _require(data: Any, what: str, keys: list[str]) -> None:
    if not isinstance(data, Mapping):
        raise StudyError(f"the {what} must be a JSON/YAML mapping, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise StudyError(f"the {what} lacks {missing}; is this a file written by `facial-study build`?")


def read_mapping(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML (``.yaml``/``.yml``) file into a dict, with a clear error when it is neither."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise StudyError(f"{path} is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {exc}") from exc
    if not isinstance(data, dict):
        raise StudyError(f"{path} must contain a mapping at the top level")
    return data
