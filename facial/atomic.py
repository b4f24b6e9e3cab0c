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


@contextmanager
def atomic_dir(directory: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``directory``; on success it takes ``directory``'s place,
    on failure it is removed and ``directory`` is untouched.

    An existing ``directory`` is first renamed aside (one ``os.replace``), the new one renamed in,
    and only then is the old one deleted, so a crash leaves either the old or the new folder whole.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.partial-", dir=directory.parent))
    old = None
    try:
        yield tmp
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
            os.replace(directory, old)
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class OutputNotWritable(PermissionError, ValueError):
    """The output location cannot take the file; the message says why and what to do."""


def check_writable(path: str | Path, *, is_dir: bool = False) -> Path:
    """Fail fast, before any work, when ``path`` (a file, or a folder with ``is_dir``) cannot be written.

    Checks that the nearest existing ancestor is a folder we can create files in (by creating and
    removing a probe file: permission bits, read-only mounts and ``chattr +i`` folders all show up),
    and that an existing target is not a folder (for a file) or a file (for a folder) and can be
    replaced. Creates nothing that stays.
    """
    path = Path(path).expanduser()
    what = "folder" if is_dir else "file"
    if path.exists():
        if is_dir and not path.is_dir():
            raise OutputNotWritable(f"{path} is a file; the output must be a folder (it is created if missing)")
        if not is_dir and path.is_dir():
            raise OutputNotWritable(f"{path} is a folder; give a file name for the output")
    parent = path if is_dir and path.is_dir() else path.parent
    probe_dir = parent
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise OutputNotWritable(f"cannot write the output {what} {path}: {probe_dir} is a file, not a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=".facial-write-check-", dir=probe_dir)
        os.close(fd)
        os.unlink(name)
        if path.exists() and not is_dir:
            # an immutable or read-only target cannot be replaced even in a writable folder
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError as exc:
        raise OutputNotWritable(f"cannot write the output {what} {path} ({exc.strerror or exc}); "
                                "choose a folder you can write to") from None
    return path
