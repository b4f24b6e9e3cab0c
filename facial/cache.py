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
