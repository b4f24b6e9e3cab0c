"""What the user hands over, and the files handed back as zips.

Uploads arrive as Gradio values (:func:`upload_path`) and are checked against the limits of
:class:`~demo.config.DemoConfig` (:class:`UploadChecks`: size, decodability, duration). Zips are
extracted safely (:func:`safe_extract`) and written atomically (:func:`zip_dir`). Folders typed by
the user name paths on the server and are only allowed within ``FACIAL_DATA_ROOT`` or on a
loopback-only server (:meth:`UploadChecks.server_folder`).
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

from demo.config import DemoConfig
from demo.errors import error
from facial.atomic import atomic_path

MIN_AUDIO_S = 0.3


def upload_path(value: Any) -> Path | None:
    """A file path from what Gradio hands over (str, dict with ``path``, FileData-like object)."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        value = value.get("path") or value.get("name")
    elif hasattr(value, "path") and not isinstance(value, (str, Path)):
        value = value.path
    return Path(value) if value else None


# --------------------------------------------------------------------------- zips
def zip_dir(src: Path, dst: Path, *, exclude: Iterable[str] = ()) -> Path:
    """Zip the content of folder ``src`` into the new file ``dst`` (written atomically), leaving out
    links and everything under the top-level entries named in ``exclude``."""
    exclude = tuple(exclude)
    with atomic_path(dst) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(src.rglob("*")):
                rel = p.relative_to(src)
                if p.is_file() and not p.is_symlink() and rel.parts[0] not in exclude:
                    zf.write(p, rel.as_posix())
    return dst


MAX_ZIP_ENTRIES = 5000  # files in one uploaded archive


def safe_extract(archive: Path, dest: Path, *, max_bytes: int) -> Path:
    """Extract a zip into ``dest``, refusing absolute paths, ``..``, links, more than
    :data:`MAX_ZIP_ENTRIES` entries and archives over ``max_bytes`` (Python's zipfile never
    inflates an entry past the size its header declares, so the sum of those sizes bounds the disk)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise error(f"{archive.name} is not a zip archive ({exc}); upload a .zip file") from exc
    with zf:
        total = 0
        if len(zf.infolist()) > MAX_ZIP_ENTRIES:
            raise error(f"{archive.name} holds {len(zf.infolist())} entries, over the limit of {MAX_ZIP_ENTRIES}; "
                        "zip only the clips (and their manifest)")
        for info in zf.infolist():
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in Path(name).parts or re.match(r"^[A-Za-z]:", name):
                raise error(f"{archive.name} contains the unsafe path {name!r}; zip the folders with relative paths")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise error(f"{archive.name} contains a symbolic link ({name}); zip real files only")
            total += info.file_size
        if total > max_bytes:
            raise error(f"{archive.name} unpacks to {total / 2**20:.0f} MB, over the limit of {max_bytes / 2**20:.0f} MB; "
                        "upload fewer or shorter clips, or raise FACIAL_MAX_UPLOAD_MB")
        dest.mkdir(parents=True, exist_ok=True)
        try:
            zf.extractall(dest)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # e.g. an entry larger than its header says
            raise error(f"{archive.name} is damaged ({exc}); zip the folders again and upload the new archive") from None
    return dest


def single_root(folder: Path) -> Path:
    """``folder``, or its only sub-folder when the zip wrapped everything in one folder."""
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


# --------------------------------------------------------------------------- checks
class UploadChecks:
    """Checks of the user's inputs against the limits of ``self.config`` (a :class:`DemoConfig`).

    A mixin of the app's tabs (:class:`demo.tabs.base.TabBase`); each check returns the checked path
    or raises a :class:`gradio.Error` saying what to do.
    """

    config: DemoConfig

    def _check_size(self, path: Path, what: str) -> None:
        size = path.stat().st_size
        if size > self.config.max_upload_bytes:
            raise error(f"{what} '{path.name}' is {size / 2**20:.0f} MB, over the upload limit of "
                        f"{self.config.max_upload_mb:g} MB; upload a shorter or more compressed file "
                        "(or raise FACIAL_MAX_UPLOAD_MB)")
        if size == 0:
            raise error(f"{what} '{path.name}' is empty (0 bytes); upload the file again")

    def _probe_upload(self, value: Any, label: str, *, missing: str, unreadable: str,
                      must_exist: bool = True) -> tuple[Path, Any]:
        """(path, :func:`facial.media.probe` info) of an upload called ``label`` in messages ("The speech
        file"): given (else ``missing``), still on the server (when ``must_exist``), within the size
        limit, and decodable (else ``unreadable``, where ``{name}`` is the file's name)."""
        from facial.media import MediaError, probe

        path = upload_path(value)
        if path is None:
            raise error(missing)
        if must_exist and not path.is_file():
            raise error(f"{label} '{path.name}' is gone from the server; upload it again.")
        self._check_size(path, label)
        try:
            info = probe(path)
        except MediaError as exc:
            raise error(unreadable.format(name=path.name)) from exc
        return path, info

    def check_audio(self, value: Any) -> Path:
        """The speech file, checked: readable, has sound, within the duration limit."""
        path, info = self._probe_upload(
            value, "The speech file",
            missing="No speech given: upload or record an audio file (wav, mp3, m4a), or click “Use the built-in example”.",
            unreadable="The speech file '{name}' is not audio that can be read; upload a wav, mp3 or m4a "
                       "recording (a video with sound works too).")
        if not info.has_audio:
            raise error(f"The speech file '{path.name}' has no sound track; upload a speech recording "
                        "(wav, mp3, m4a) or a video with sound.")
        if info.duration > self.config.max_audio_s + 0.05:
            raise error(f"The speech '{path.name}' lasts {info.duration:.1f} s, over the limit of "
                        f"{self.config.max_audio_s:g} s; trim it (or raise FACIAL_MAX_AUDIO_S).")
        if 0 < info.duration < MIN_AUDIO_S:
            raise error(f"The speech '{path.name}' lasts only {info.duration:.2f} s; give at least "
                        f"{MIN_AUDIO_S:g} s of speech.")
        return path

    def check_speaker(self, value: Any) -> Path:
        """The speaker clip or photo, checked: a readable picture, within the duration limit."""
        from facial.media import is_image

        path, info = self._probe_upload(
            value, "The speaker file",
            missing="No speaker given: upload a short video of the person talking (mp4, mov, webm; "
                    "a few seconds, face visible) or one photo, or click “Use the built-in example”.",
            unreadable="The speaker file '{name}' is not a video or photo: it could not be decoded. "
                       "Upload a clip (mp4, mov, webm) or a photo (jpg, png) of the speaker.")
        if not info.has_video:
            raise error(f"The speaker file '{path.name}' has no picture (is it audio only?). Upload a clip "
                        "(mp4, mov, webm) or a photo (jpg, png) of the speaker.")
        if not is_image(path) and info.duration > self.config.max_clip_s + 0.05:
            raise error(f"The speaker clip '{path.name}' lasts {info.duration:.1f} s, over the limit of "
                        f"{self.config.max_clip_s:g} s; trim it (10–60 s is plenty) or raise FACIAL_MAX_CLIP_S.")
        return path

    def check_video(self, value: Any, what: str) -> Path:
        """A clip to evaluate: readable, has a picture, within the duration limit."""
        from facial.media import is_image

        path, info = self._probe_upload(
            value, f"The {what}", must_exist=False,
            missing=f"No {what} given: upload an mp4 (or mov, webm) clip.",
            unreadable=f"The {what} '{{name}}' is not a video that can be decoded; upload an mp4, mov or webm clip.")
        if not info.has_video or is_image(path):
            raise error(f"The {what} '{path.name}' is not a video (no moving picture); upload an mp4, mov or webm clip.")
        if info.duration > self.config.max_clip_s + 0.05:
            raise error(f"The {what} '{path.name}' lasts {info.duration:.1f} s, over the limit of "
                        f"{self.config.max_clip_s:g} s; trim it (or raise FACIAL_MAX_CLIP_S).")
        return path

    # ---------------------------------------------------------------- folders on the server
    def _check_server_paths_allowed(self, what: str) -> None:
        if self.config.data_root is None and not self.config.loopback_only:
            raise error(f"{what} naming folders on the server are switched off on a public server. Upload the videos as a "
                        "zip instead, or (as the server's admin) set FACIAL_DATA_ROOT to the folder that may be read.")

    def server_folder(self, text: str) -> Path:
        """A folder typed by the user: must exist, and lie inside FACIAL_DATA_ROOT when that is set
        (typed folders are refused on a non-loopback server without FACIAL_DATA_ROOT)."""
        self._check_server_paths_allowed("Typed folders")
        folder = Path(text).expanduser()
        root = self.config.data_root
        if root is not None and not folder.is_absolute():
            folder = root / folder
        if not folder.is_dir():
            raise error(f"The folder {text!r} does not exist on the server; give a folder path that exists there, "
                        "or upload the folders as a zip instead.")
        if root is not None:
            r = Path(root).expanduser().resolve()
            if folder.resolve() != r and r not in folder.resolve().parents:
                raise error(f"The folder {text!r} lies outside FACIAL_DATA_ROOT ({root}); only folders inside it can be used. "
                            "Upload the folders as a zip instead.")
        return folder

    def _method_folders(self, text: str, archive: Any, run: Path) -> dict[str, Path]:
        """``NAME=FOLDER`` lines (folders on the server) and/or a zip whose top folders are the methods."""
        methods: dict[str, Path] = {}
        for i, line in enumerate((text or "").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                raise error(f"Line {i} of the method folders ({line!r}) is not NAME=FOLDER; write e.g. ours=results/ours")
            name, folder = (s.strip() for s in line.split("=", 1))
            methods[name] = self.server_folder(folder)
        zpath = upload_path(archive)
        if zpath is not None:
            root = single_root(safe_extract(zpath, run / "methods", max_bytes=4 * self.config.max_upload_bytes))
            for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))):
                if d.name in methods:
                    raise error(f"Method {d.name!r} is given twice (as a folder and inside {zpath.name}); rename one")
                methods[d.name] = d
        return methods
