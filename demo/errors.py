"""The app's error messages: every problem the user can fix reaches them as :class:`gradio.Error`
saying what was wrong and what to do; :func:`user_error` maps the libraries' exceptions onto such
messages (and logs the unexpected ones, which are bugs)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import gradio as gr

log = logging.getLogger(__name__)

ERROR_SECONDS = 30  # how long an error toast stays (the user can close it sooner)


def error(message: str) -> gr.Error:
    """A :class:`gradio.Error` toast with ``message`` (no server-side traceback: the user's input was wrong)."""
    return gr.Error(message, duration=ERROR_SECONDS, print_exception=False)


def _short(text: str, names: dict[str, str]) -> str:
    """``text`` with long temporary upload paths replaced by the file names the user knows."""
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if path:
            text = text.replace(path, name)
    return text


def user_error(exc: BaseException, what: str, files: Iterable[str | Path | None] = ()) -> gr.Error:
    """A :class:`gradio.Error` for a library exception: what failed (``what``), why, and what to do."""
    from facial.media import MediaError

    names = {str(f): Path(f).name for f in files if f}
    msg = _short(str(exc).strip() or type(exc).__name__, names)
    tracking_error = _tracking_error_type()
    if tracking_error is not None and isinstance(exc, tracking_error):
        return error(f"{what}: no usable face was found ({msg}). Upload a clip or photo where one face is clearly "
                     "visible, roughly frontal and at least ~100 pixels tall.")
    if isinstance(exc, MediaError):
        return error(f"{what}: {msg}")
    if isinstance(exc, FileNotFoundError):
        return error(f"{what}: a file is missing ({msg}). Upload it again; if it is a checkpoint, "
                     "check FACIAL_CHECKPOINT.")
    if isinstance(exc, (ValueError, KeyError)):
        return error(f"{what}: {msg}")
    log.error("%s failed unexpectedly", what, exc_info=exc)
    return error(f"{what} failed unexpectedly ({type(exc).__name__}: {msg}). This is a bug, not your input: "
                 "please report it with the server log.")


def _tracking_error_type():
    try:
        from facial.speaker.landmarks import FaceTrackingError
    except Exception:  # pragma: no cover - the speaker package is part of the project
        return None
    return FaceTrackingError
