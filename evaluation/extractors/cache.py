"""Content-hash keyed cache of extracted arrays (landmarks, pose, …).

A key is ``<kind>-v<version>-<sha256 of the file's content>[-<params>]``, so a renamed or copied
clip reuses its extraction and an edited one does not. Entries are ``.npz`` files written to a
temporary name and renamed (never half-written); a corrupt entry is treated as missing.
The default folder is ``$FACIAL_EVAL_CACHE`` or ``~/.cache/facial/eval``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from facial import atomic, hashing
from facial.cache import eval_cache_root

log = logging.getLogger(__name__)

_HASHES: dict[tuple[str, int, int], str] = {}


def default_cache_dir() -> Path:
    """``$FACIAL_EVAL_CACHE`` or ``~/.cache/facial/eval`` (:func:`facial.cache.eval_cache_root`)."""
    return eval_cache_root()


def content_hash(path: str | Path) -> str:
    """sha256 (hex) of a file's content, memoised per (path, size, mtime) in this process."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = hashing.sha256_file(path)
    return _HASHES[key]


def params_key(**params: Any) -> str:
    """Short stable hash of keyword parameters (for cache keys)."""
    return hashing.sha256_json(params, length=10)


class ArrayCache:
    """A folder of ``<key>.npz`` entries. ``root=None`` disables caching (every lookup misses)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root).expanduser() if root is not None else None

    def path(self, key: str) -> Path | None:
        return None if self.root is None else self.root / f"{key}.npz"

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.path(key)
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except Exception as exc:  # corrupt or truncated entry: recompute
            log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
            return None

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        path = self.path(key)
        if path is None:
            return
        with atomic.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
