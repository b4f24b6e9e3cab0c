"""Methods to compare: each turns one prepared clip task into a video to score.

- ``ours`` — the FACIAL pipeline (:func:`facial.pipeline.generate`), one method per renderer
  (``ours_warp``, ``ours_neural``).
- built-in baselines needing no outside code:

  - ``ground_truth`` — the real footage itself (self-reenactment: the held-out part; cross-driving:
    the speaker's real clip with its own speech, i.e. the natural level of every measurement);
  - ``static`` — the first frame of the speaker footage held for the whole driving speech;
  - ``replay`` — the speaker footage replayed from its start (forwards then backwards when it is
    shorter than the speech), natural head motion and blinks but lips not synced to the speech;
  - ``lips_only`` — FACIAL with head pose and blinks frozen (``freeze_pose_blink=True``).
- ``external`` — result videos of another tool, listed by a manifest CSV (columns ``clip`` or
  ``id``, and ``video`` or ``path``; relative paths from the manifest's folder; optional
  ``filter`` (exact column values) and ``contains`` (case-insensitive substrings)), or a folder
  (clip id = file stem). ``../shared/data/MANIFEST.csv`` works as is (rows of kind
  ``talking_video``).

A method that cannot run (the pipeline not installed, no output listed for a clip) raises
:class:`MethodUnavailable` with the reason; the benchmark records it and goes on.
"""
from __future__ import annotations

import csv
import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

log = logging.getLogger(__name__)

RENDERERS = ("warp", "neural")
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
BUILTINS = ("ground_truth", "static", "replay", "lips_only", "ours")


class MethodUnavailable(RuntimeError):
    """The method cannot produce this clip (the message says why)."""


@dataclass(frozen=True)
class ClipTask:
    """One clip prepared for a protocol.

    - ``speaker_video``: footage the speaker is built from;
    - ``driving_audio``: the speech to drive with;
    - ``reference``: the frame-aligned real clip (self-reenactment) or None;
    - ``real_footage``: real footage of the speaker (for ``*_ratio`` metrics) or None;
    - ``source``: the original clip; ``n_frames``: frames the output should have at ``fps``.
    """

    clip: str
    protocol: str
    source: Path
    speaker_video: Path
    driving_audio: Path
    reference: Path | None
    real_footage: Path | None
    n_frames: int
    fps: float = 25.0


class Method:
    """Base class. ``name`` labels rows; :meth:`identity` keys the result cache."""

    name = "method"
    kind = "baseline"

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "class": type(self).__name__}

    def available(self) -> str | None:
        """None when the method can run at all, else the reason it cannot."""
        return None

    def content_key(self, task: ClipTask) -> str:
        """Extra cache-key text for ``task`` (e.g. the hash of an external output file)."""
        return ""

    def produce(self, task: ClipTask, out_dir: Path) -> Path:
        """Return the path of this method's video for ``task`` (writing it under ``out_dir`` if needed)."""
        raise NotImplementedError


def _iter_frames(path: Path, fps: float) -> Iterator[np.ndarray]:
    from facial import media

    for chunk in media.iter_video(path, fps):
        yield from chunk


class GroundTruth(Method):
    name = "ground_truth"

    def produce(self, task: ClipTask, out_dir: Path) -> Path:
        if task.protocol == "self_reenactment":
            return task.reference
        if task.protocol == "cross_driving":
            return task.real_footage or task.source
        return task.source


class Static(Method):
    name = "static"

    def produce(self, task: ClipTask, out_dir: Path) -> Path:
        from facial import media

        first = next(_iter_frames(task.speaker_video, task.fps))
        out = out_dir / f"{task.clip}.mp4"
        media.write_video(out, (first for _ in range(task.n_frames)), task.fps, media.load_audio(task.driving_audio))
        return out


class Replay(Method):
    name = "replay"

    def produce(self, task: ClipTask, out_dir: Path) -> Path:
        from facial import media

        from itertools import islice

        # only the first n_frames are ever shown: hold no more than that in memory
        frames = list(islice(_iter_frames(task.speaker_video, task.fps), task.n_frames))
        n = len(frames)
        order = np.concatenate([np.arange(n), np.arange(n - 2, 0, -1)]) if n > 2 else np.arange(n)
        idx = np.resize(order, task.n_frames)
        out = out_dir / f"{task.clip}.mp4"
        media.write_video(out, (frames[i] for i in idx), task.fps, media.load_audio(task.driving_audio))
        return out


class Pipeline(Method):
    """FACIAL through :func:`facial.pipeline.generate` (imported when used)."""

    kind = "ours"

    def __init__(self, name: str, renderer: str = "warp", *, freeze_pose_blink: bool = False, head_motion: float = 1.0,
                 seed: int = 0, options: dict[str, Any] | None = None):
        self.name = name
        self.renderer = renderer
        self.freeze_pose_blink = freeze_pose_blink
        self.head_motion = head_motion
        self.seed = seed
        self.options = dict(options or {})  # further keyword arguments of generate (e.g. neural_options)
        self.cache_dir: Path | None = None  # set by the benchmark: where speaker profiles are cached
        self.last_info: dict[str, Any] = {}

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "renderer": self.renderer, "freeze_pose_blink": self.freeze_pose_blink,
                "head_motion": self.head_motion, "seed": self.seed, "options": self.options, "code": _facial_fingerprint()}

    def _generate(self):
        try:
            from facial.pipeline import generate
        except ImportError as exc:
            raise MethodUnavailable(f"the FACIAL pipeline is not available (facial.pipeline.generate: {exc})") from exc
        return generate

    def available(self) -> str | None:
        try:
            self._generate()
        except MethodUnavailable as exc:
            return str(exc)
        return None

    def produce(self, task: ClipTask, out_dir: Path) -> Path:
        import inspect

        generate = self._generate()
        out = out_dir / f"{task.clip}.mp4"
        kwargs = dict(renderer=self.renderer, head_motion=self.head_motion, freeze_pose_blink=self.freeze_pose_blink,
                      seed=self.seed, **self.options)
        params = inspect.signature(generate).parameters
        if self.cache_dir is not None and ("cache_dir" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())):
            kwargs["cache_dir"] = self.cache_dir
        result = generate(task.driving_audio, task.speaker_video, out, **kwargs)
        if not out.exists():
            raise MethodUnavailable(f"facial.pipeline.generate did not write {out}")
        self.last_info = {k: getattr(result, k) for k in ("driver", "renderer", "notes", "timings") if hasattr(result, k)}
        return out


def _facial_fingerprint() -> str:
    """Hash of the facial package's code and assets (names, sizes, mtimes): a new checkpoint or a
    code change invalidates cached results of ``ours``/``lips_only``."""
    import facial.media  # a module file: the package itself may be a namespace under some installs
    from facial.hashing import sha256_tree

    return sha256_tree(Path(facial.media.__file__).resolve().parent, length=16)


def _matches(row: dict[str, str], filt: dict[str, Any], contains: dict[str, Any]) -> bool:
    for col, want in filt.items():
        allowed = [str(w) for w in (want if isinstance(want, (list, tuple)) else [want])]
        if str(row.get(col, "")) not in allowed:
            return False
    for col, want in contains.items():
        needles = [str(w).lower() for w in (want if isinstance(want, (list, tuple)) else [want])]
        if not any(n in str(row.get(col, "")).lower() for n in needles):
            return False
    return True


def read_manifest(path: Path, filt: dict[str, Any] | None = None, contains: dict[str, Any] | None = None,
                  kind: str = "talking_video") -> list[dict[str, Any]]:
    """Rows of a clip manifest as ``{"clip", "video", "audio", "reference", "person", "row"}``.

    ``clip`` comes from the column ``clip`` or ``id``, ``video`` from ``video`` or ``path``
    (relative to the manifest's folder). When the manifest has a ``kind`` column only rows of
    ``kind`` are kept (unless ``filt`` names ``kind``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist")
    filt, contains = dict(filt or {}), dict(contains or {})
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        clip_col = next((c for c in ("clip", "id") if c in cols), None)
        video_col = next((c for c in ("video", "path") if c in cols), None)
        if clip_col is None or video_col is None:
            raise ValueError(f"manifest {path} needs a clip id column ('clip' or 'id') and a video column ('video' or 'path'); "
                             f"it has {cols}")
        for col in list(filt) + list(contains):
            if col not in cols:
                close = difflib.get_close_matches(col, cols, n=2)
                raise ValueError(f"manifest {path} has no column {col!r}" + (f"; did you mean {close}?" if close else f"; columns: {cols}"))
        if "kind" in cols and "kind" not in filt and kind:
            filt["kind"] = kind
        rows = []
        for row in reader:
            if not _matches(row, filt, contains):
                continue

            def rel(v: str | None) -> Path | None:
                return None if not v else (Path(v) if Path(v).is_absolute() else path.parent / v)

            rows.append({"clip": row[clip_col], "video": rel(row[video_col]), "audio": rel(row.get("audio") if "audio" in cols and
                         str(row.get("audio", "")).endswith((".wav", ".mp3", ".m4a", ".flac", ".mp4")) else None),
                         "reference": rel(row.get("reference")), "person": row.get("person", ""), "row": row})
    return rows


class External(Method):
    """Result videos of another tool, by clip id."""

    kind = "external"

    def __init__(self, name: str, *, manifest: Path | None = None, folder: Path | None = None,
                 filter: dict[str, Any] | None = None, contains: dict[str, Any] | None = None):
        if (manifest is None) == (folder is None):
            raise ValueError(f"external method {name!r}: give exactly one of 'manifest' or 'folder'")
        self.name = name
        self.manifest = Path(manifest) if manifest else None
        self.folder = Path(folder) if folder else None
        self.filter = dict(filter or {})
        self.contains = dict(contains or {})
        self._rows: list[dict[str, Any]] | None = None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "manifest": str(self.manifest), "folder": str(self.folder),
                "filter": self.filter, "contains": self.contains}

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            if self.manifest is not None:
                self._rows = read_manifest(self.manifest, self.filter, self.contains)
            else:
                if not self.folder.is_dir():
                    raise FileNotFoundError(f"external method {self.name!r}: folder {self.folder} does not exist")
                self._rows = [{"clip": p.stem, "video": p, "audio": None, "reference": None, "person": "", "row": {}}
                              for p in sorted(self.folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
        return self._rows

    def available(self) -> str | None:
        try:
            return None if self.rows() else f"no videos listed for {self.name}"
        except (FileNotFoundError, ValueError) as exc:
            return str(exc)

    def content_key(self, task: ClipTask) -> str:
        from evaluation.extractors.cache import content_hash

        for row in self.rows():
            if row["clip"] == task.clip and row["video"].exists():
                return content_hash(row["video"])
        return ""

    def produce(self, task: ClipTask, out_dir: Path) -> Path:
        for row in self.rows():
            if row["clip"] == task.clip:
                if not row["video"].exists():
                    raise MethodUnavailable(f"{self.name}: listed video {row['video']} does not exist")
                return row["video"]
        raise MethodUnavailable(f"{self.name} has no output for clip {task.clip}")


def make_methods(entries: Iterable[str | dict[str, Any]], *, base: Path | None = None) -> list[Method]:
    """Methods from spec entries: built-in names (``ours`` expands to one method per renderer)
    or dicts (``{name, type: ours|lips_only|external, renderer, manifest|folder, filter, contains}``).
    Relative manifest/folder paths are resolved against ``base``."""
    out: list[Method] = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"a method entry must be a name or a mapping with 'name', got {entry!r}")
        e = dict(entry)
        name = str(e.pop("name"))
        mtype = e.pop("type", None) or ("external" if ("manifest" in e or "folder" in e) else name)
        if mtype == "external":
            for key in ("manifest", "folder"):
                if e.get(key) is not None and base is not None and not Path(e[key]).is_absolute():
                    e[key] = base / e[key]
            unknown = set(e) - {"manifest", "folder", "filter", "contains"}
            if unknown:
                raise ValueError(f"external method {name!r}: unknown keys {sorted(unknown)} (use manifest|folder, filter, contains)")
            out.append(External(name, **e))
        elif mtype == "ours":
            renderers = e.pop("renderer", None) or e.pop("renderers", None) or list(RENDERERS)
            renderers = [renderers] if isinstance(renderers, str) else list(renderers)
            opts = {k: v for k, v in e.items() if k not in ("head_motion", "seed")}
            for r in renderers:
                label = f"{name}_{r}" if name == "ours" or len(renderers) > 1 else name
                out.append(Pipeline(label, r, head_motion=float(e.get("head_motion", 1.0)), seed=int(e.get("seed", 0)), options=opts))
        elif mtype == "lips_only":
            opts = {k: v for k, v in e.items() if k not in ("renderer", "seed")}
            out.append(Pipeline(name, str(e.get("renderer", "warp")), freeze_pose_blink=True, seed=int(e.get("seed", 0)), options=opts))
        elif mtype == "ground_truth":
            out.append(GroundTruth())
        elif mtype == "static":
            out.append(Static())
        elif mtype == "replay":
            out.append(Replay())
        else:
            close = difflib.get_close_matches(mtype, list(BUILTINS) + ["external"], n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"unknown method {mtype!r}.{hint} Built-ins: {', '.join(BUILTINS)}; "
                             "or give {name, manifest|folder} for an external tool's outputs")
        if mtype in ("ground_truth", "static", "replay") and name != mtype:
            out[-1].name = name
    names = [m.name for m in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"method names must be unique; repeated: {dup}")
    return out
