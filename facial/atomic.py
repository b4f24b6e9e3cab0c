"""The one home of atomic file writes: write to a hidden temporary beside the target, then
``os.replace`` it into place, so a reader never sees a half-written file and a failure (or a
``kill -9``) leaves the previous version, or nothing, behind.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path`` atomically.

    ``suffix`` (default: the target's own) keeps tools that look at the extension (ffmpeg,
    OpenCV, numpy) happy. On any exception the temporary is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix if suffix is None else suffix}",
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def copy_file(src: str | Path, dst: str | Path) -> Path:
    """Copy ``src`` to ``dst`` atomically (``dst`` appears whole or not at all)."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)


def replace_dir(tmp_dir: str | Path, directory: str | Path) -> Path:
    """Move every file of ``tmp_dir`` into ``directory`` one ``os.replace`` at a time."""
    tmp_dir, directory = Path(tmp_dir), Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for item in sorted(tmp_dir.iterdir()):
        os.replace(item, directory / item.name)
    return directory
