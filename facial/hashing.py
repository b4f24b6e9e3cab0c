"""The one home of content hashing: file digests, JSON digests and tensor digests.

Every cache key and checkpoint id in the project is built from these functions, so two modules
can never disagree on how a file or a config is hashed (chunk size, key order, encoding).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

CHUNK = 1 << 20


def sha256_file(path: str | Path, *, length: int | None = None) -> str:
    """sha256 (hex) of a file's content, read in 1 MiB chunks; ``length`` truncates the hex digest."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    digest = h.hexdigest()
    return digest if length is None else digest[:length]


def sha256_json(obj: Any, *, length: int | None = None) -> str:
    """sha256 (hex) of ``obj`` as canonical JSON (sorted keys, ``str`` for non-JSON values)."""
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
    return digest if length is None else digest[:length]


def sha256_text(text: str, *, length: int | None = None) -> str:
    """sha256 (hex) of a UTF-8 string."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    return digest if length is None else digest[:length]


def sha256_arrays(items: Iterable[tuple[str, np.ndarray]], *, length: int | None = None) -> str:
    """sha256 (hex) of named arrays (name, then raw bytes, in the order given)."""
    h = hashlib.sha256()
    for name, value in items:
        h.update(name.encode())
        h.update(np.ascontiguousarray(value).tobytes())
    digest = h.hexdigest()
    return digest if length is None else digest[:length]


def sha256_tree(root: str | Path, *, length: int | None = None) -> str:
    """Cheap fingerprint of a folder: relative path, size and mtime of every file (not contents)."""
    root = Path(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            st = p.stat()
            h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    digest = h.hexdigest()
    return digest if length is None else digest[:length]
