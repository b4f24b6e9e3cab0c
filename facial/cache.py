"""The one home of the project's cache locations.

- :func:`cache_root`: ``cache_dir``, else ``$FACIAL_CACHE``, else ``~/.cache/facial`` — speaker
  profiles (``profiles/<content hash>-<fps>fps/``) and the built-in example (``examples/``).
- :func:`eval_cache_root`: ``$FACIAL_EVAL_CACHE``, else ``~/.cache/facial/eval`` — the
  evaluation toolkit's extraction cache.

Nothing here creates folders; callers create what they write into.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The project's cache folder: ``cache_dir``, else ``$FACIAL_CACHE``, else ``~/.cache/facial``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("FACIAL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facial"


def eval_cache_root() -> Path:
    """The evaluation extraction cache: ``$FACIAL_EVAL_CACHE`` or ``~/.cache/facial/eval``."""
    env = os.environ.get("FACIAL_EVAL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facial" / "eval"


def profile_dir(root: Path, content_hash: str, fps: float) -> Path:
    """Cache folder of a tracked speaker: ``<root>/profiles/<hash[:20]>-<fps>fps``."""
    return Path(root) / "profiles" / f"{content_hash[:20]}-{fps:g}fps"


def touch(directory: Path) -> None:
    """Mark a cache entry as just used (its folder's mtime), for :func:`enforce_cap`."""
    try:
        os.utime(directory)
    except OSError:  # read-only cache: nothing to record
        pass


def folder_bytes(directory: Path) -> int:
    """Bytes of the regular files below ``directory``."""
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file() and not p.is_symlink())


def enforce_cap(parent: Path, max_bytes: float | None, *, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used entries (sub-folders of ``parent``, by mtime) until the rest
    fit in ``max_bytes``; ``keep`` (the entry just made) is never removed. Returns what went."""
    import shutil

    parent = Path(parent)
    if max_bytes is None or not parent.is_dir():
        return []
    entries = [(d.stat().st_mtime, d, folder_bytes(d)) for d in parent.iterdir() if d.is_dir() and not d.name.startswith(".")]
    total = sum(size for _, _, size in entries)
    removed = []
    for _, d, size in sorted(entries, key=lambda e: e[0]):
        if total <= max_bytes:
            break
        if keep is not None and d.resolve() == Path(keep).resolve():
            continue
        shutil.rmtree(d, ignore_errors=True)
        total -= size
        removed.append(d)
    return removed
