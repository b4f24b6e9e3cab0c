"""Benchmark specs: parse and validate a YAML spec (clips × protocol × methods × metrics).

See :mod:`evaluation.benchmark` for the spec format; every error is a :class:`SpecError` whose
message says where and how to fix it.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from evaluation import registry
from evaluation.types import EvalConfig

PROTOCOLS = ("self_reenactment", "cross_driving", "measure")
SPEC_KEYS = ("name", "description", "clips", "protocol", "methods", "metrics", "options", "plots", "cache_dir")
CLIP_KEYS = ("manifest", "folder", "filter", "contains", "ids", "min_seconds", "max_clips")
PROTOCOL_KEYS = {
    "self_reenactment": ("test_fraction", "max_test_seconds", "min_test_seconds"),
    "cross_driving": ("speaker_seconds", "max_seconds"),
    "measure": ("max_seconds",),
}
PROTOCOL_DEFAULTS = {
    "self_reenactment": {"test_fraction": 0.4, "max_test_seconds": None, "min_test_seconds": 1.0},
    "cross_driving": {"speaker_seconds": None, "max_seconds": 8.0},
    "measure": {"max_seconds": None},
}


class SpecError(ValueError):
    """The benchmark spec is malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class ClipRef:
    """A clip of the benchmark: ``id``, ``path``, optional ``person`` label and duration."""

    id: str
    path: Path
    person: str = ""
    duration: float | None = None


@dataclass
class BenchmarkSpec:
    """A validated spec (the format is described in :mod:`evaluation.benchmark`)."""

    name: str
    clips: list[ClipRef]
    protocol: dict[str, Any]
    methods: list[Any]
    metrics: list[str]
    config: EvalConfig
    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    base: Path = field(default_factory=Path.cwd)
    plots: dict[str, Any] = field(default_factory=dict)
    data_root: Path | None = None  # when set, every path of the spec was checked to lie inside it


def _check_keys(d: dict, allowed: Iterable[str], where: str) -> None:
    allowed = list(allowed)
    for k in d:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=2)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else f" Allowed: {', '.join(allowed)}."
            raise SpecError(f"{where}: unknown key {k!r}.{hint}")


def resolve_path(value: str | Path, base: Path) -> Path:
    """``$VARS``/``~`` expanded; relative paths from ``base`` (the spec's folder), else the CWD."""
    p = Path(os.path.expanduser(os.path.expandvars(str(value))))
    if p.is_absolute():
        return p
    for root in (base, Path.cwd()):
        if (root / p).exists():
            return (root / p).resolve()
    return (base / p).resolve()


def _inside(path: Path, root: Path) -> bool:
    """``path`` (after symlinks) lies in ``root`` (after symlinks)."""
    real, top = Path(path).resolve(), Path(root).resolve()
    return real == top or top in real.parents


def spec_path(value: Any, field: str, base: Path, data_root: Path | None) -> Path:
    """A path a spec names, resolved for ``field`` (its name in messages).

    Without ``data_root``: :func:`resolve_path` (``$VARS``, ``~``, relative to the spec's folder).
    With ``data_root`` (a public app): taken literally (no ``$VARS`` or ``~``), relative to the data
    root, and refused unless it lies inside it after symlinks are followed. Messages repeat only
    what the spec wrote, never what a file holds.
    """
    if data_root is None:
        return resolve_path(value, base)
    text = str(value)
    if text.startswith("~") or "$" in text:
        raise SpecError(f"{field}: {text!r} uses ~ or $VARIABLES; give a path inside the data root instead")
    p = Path(text)
    p = p if p.is_absolute() else Path(data_root) / p
    if not _inside(p, data_root):
        raise SpecError(f"{field}: {text!r} lies outside the data root; only files and folders inside it can be used")
    return p.resolve()


def _check_rows_inside(rows: list[dict[str, Any]], field: str, data_root: Path | None) -> None:
    """Every path a manifest row names (video, audio, reference) lies inside ``data_root``."""
    if data_root is None:
        return
    for r in rows:
        for key in ("video", "audio", "reference"):
            if r.get(key) is not None and not _inside(r[key], data_root):
                raise SpecError(f"{field}: the {key} of clip {r['clip']!r} lies outside the data root; "
                                "manifests may only name files inside it")


def _read_manifest(path: Path, field: str, given: Any, data_root: Path | None, *args) -> list[dict[str, Any]]:
    from evaluation.methods import read_manifest

    try:
        rows = read_manifest(path, *args)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        if data_root is not None:  # a public app: say what is wrong without echoing the file
            raise SpecError(f"{field}: {str(given)!r} is not a clip manifest (a CSV with columns clip|id and video|path)") from None
        raise SpecError(f"{field}: {exc}") from exc
    _check_rows_inside(rows, field, data_root)
    return rows


def _select_clips(section: dict[str, Any], base: Path, data_root: Path | None = None) -> list[ClipRef]:
    from evaluation.methods import VIDEO_SUFFIXES

    if not isinstance(section, dict):
        raise SpecError("'clips' must be a mapping with 'manifest' or 'folder'")
    _check_keys(section, CLIP_KEYS, "clips")
    if ("manifest" in section) == ("folder" in section):
        raise SpecError("clips: give exactly one of 'manifest' (a CSV) or 'folder' (of videos)")
    if "manifest" in section:
        path = spec_path(section["manifest"], "clips.manifest", base, data_root)
        if not path.is_file():
            raise SpecError(f"clips.manifest: {path if data_root is None else repr(str(section['manifest']))} does not exist")
        rows = _read_manifest(path, "clips.manifest", section["manifest"], data_root, section.get("filter"), section.get("contains"))
        clips = []
        for r in rows:
            dur = r["row"].get("duration_s")
            clips.append(ClipRef(r["clip"], r["video"], r.get("person") or "", float(dur) if dur else None))
    else:
        folder = spec_path(section["folder"], "clips.folder", base, data_root)
        if not folder.is_dir():
            raise SpecError(f"clips.folder: {folder if data_root is None else repr(str(section['folder']))} is not a folder")
        clips = [ClipRef(p.stem, p) for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
        outside = [c.id for c in clips if data_root is not None and not _inside(c.path, data_root)]
        if outside:  # a symlink in the folder pointing out of the root
            raise SpecError(f"clips.folder: {outside[0]!r} links to a file outside the data root")
    if section.get("ids"):
        by_id = {c.id: c for c in clips}
        missing = [i for i in section["ids"] if i not in by_id]
        if missing:
            close = {m: difflib.get_close_matches(m, list(by_id), n=1) for m in missing}
            raise SpecError(f"clips.ids not found among the selected clips: {close}")
        clips = [by_id[i] for i in section["ids"]]
    if section.get("min_seconds"):
        from facial import media

        keep = []
        for c in clips:
            d = c.duration if c.duration is not None else media.probe(c.path).duration
            if d >= float(section["min_seconds"]):
                keep.append(c)
        clips = keep
    if section.get("max_clips"):
        clips = clips[: int(section["max_clips"])]
    if not clips:
        raise SpecError("the clip selection is empty; loosen clips.filter / min_seconds or check the manifest")
    ids = [c.id for c in clips]
    if len(set(ids)) != len(ids):
        raise SpecError(f"clip ids must be unique, repeated: {sorted({i for i in ids if ids.count(i) > 1})}")
    return clips


def spec_from_dict(raw: dict[str, Any], *, base: Path | None = None, path: Path | None = None,
                   overrides: dict[str, Any] | None = None, data_root: str | Path | None = None) -> BenchmarkSpec:
    """Validate a spec mapping; ``overrides`` replace ``options`` (EvalConfig) fields.

    ``data_root`` (set by a public app): every path the spec names — clips folder or manifest and the
    files its rows name, external method folders and manifests, ``cache_dir``, weight files — must
    lie inside it after symlinks, or the spec is refused with a message naming the field.
    """
    data_root = None if data_root is None else Path(data_root).expanduser().resolve()
    from evaluation.methods import make_methods

    if not isinstance(raw, dict):
        raise SpecError("a spec must be a YAML mapping (name, clips, protocol, methods, metrics)")
    _check_keys(raw, SPEC_KEYS, "spec")
    base = Path(base or Path.cwd())
    for key in ("clips", "methods"):
        if key not in raw:
            raise SpecError(f"spec: '{key}' is required")
    proto = raw.get("protocol", "self_reenactment")
    proto = {"name": proto} if isinstance(proto, str) else dict(proto)
    pname = proto.pop("name", None)
    if pname not in PROTOCOLS:
        close = difflib.get_close_matches(str(pname), PROTOCOLS, n=1)
        raise SpecError(f"protocol.name {pname!r} is not one of {PROTOCOLS}" + (f"; did you mean {close[0]!r}?" if close else ""))
    _check_keys(proto, PROTOCOL_KEYS[pname], f"protocol ({pname})")
    protocol = {"name": pname, **PROTOCOL_DEFAULTS[pname], **proto}
    if pname == "self_reenactment" and not 0.05 <= float(protocol["test_fraction"]) <= 0.95:
        raise SpecError(f"protocol.test_fraction must be in [0.05, 0.95], got {protocol['test_fraction']}")
    metrics = raw.get("metrics", ["default"])
    try:
        specs = registry.resolve(metrics)
    except (KeyError, ValueError) as exc:
        raise SpecError(f"metrics: {exc}") from exc
    options = dict(raw.get("options") or {})
    options.update({k: v for k, v in (overrides or {}).items() if v is not None})
    fields = EvalConfig.__dataclass_fields__
    _check_keys(options, fields, "options")
    for key in ("syncnet_weights", "s3fd_weights", "lpips_backbone"):
        if not options.get(key):
            continue
        if data_root is not None:
            options[key] = str(spec_path(options[key], f"options.{key}", base, data_root))
        elif Path(os.path.expandvars(str(options[key]))).expanduser().exists():
            options[key] = str(resolve_path(options[key], base))
    config = EvalConfig(**options)
    methods = raw["methods"]
    if not isinstance(methods, list) or not methods:
        raise SpecError("methods: give a non-empty list of method names or mappings")
    methods = [{**m, **{k: str(spec_path(m[k], f"methods.{m.get('name', '?')}.{k}", base, data_root))
                        for k in ("manifest", "folder") if m.get(k)}}
               if isinstance(m, dict) else m for m in methods]
    for m in methods:
        if data_root is None or not isinstance(m, dict):
            continue
        if m.get("manifest"):
            field = f"methods.{m.get('name', '?')}.manifest"
            _read_manifest(Path(m["manifest"]), field, m["manifest"], data_root, m.get("filter"), m.get("contains"))
        if m.get("folder") and Path(m["folder"]).is_dir():
            out = next((f.name for f in Path(m["folder"]).iterdir() if not _inside(f, data_root)), None)
            if out is not None:
                raise SpecError(f"methods.{m.get('name', '?')}.folder: {out!r} links to a file outside the data root")
    if raw.get("cache_dir") is not None:
        spec_path(raw["cache_dir"], "cache_dir", base, data_root)
    try:
        make_methods(methods, base=base)  # validate now; workers rebuild them
    except ValueError as exc:
        raise SpecError(f"methods: {exc}") from exc
    clips = _select_clips(raw["clips"], base, data_root)
    return BenchmarkSpec(name=str(raw.get("name") or (path.stem if path else "benchmark")), clips=clips,
                         protocol=protocol, methods=methods, metrics=[s.name for s in specs], config=config,
                         raw=raw, path=path, base=base, plots=dict(raw.get("plots") or {}), data_root=data_root)


def load_spec(path: str | Path, overrides: dict[str, Any] | None = None, *, data_root: str | Path | None = None) -> BenchmarkSpec:
    """Read and validate a YAML spec file (``data_root``: see :func:`spec_from_dict`)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name} is not valid YAML: {exc}") from exc
    return spec_from_dict(raw, base=path.resolve().parent, path=path.resolve(), overrides=overrides, data_root=data_root)

