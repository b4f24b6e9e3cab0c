"""What every tab shares: the pipeline, the settings, the upload checks and the per-request folders.

Each request writes into its own new folder (:meth:`TabBase.new_run_dir`) under the app's work
folder; no user file is ever written to or overwritten. Disk stays bounded: a request that fails
(:func:`request` on each tab action) removes the folders it made, and folders older than
:data:`RUN_TTL_S` (long after Gradio has served their files) are removed when a new one is made.
"""
from __future__ import annotations

import functools
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
RUN_TTL_S = 3600.0  # a result folder lives this long after it was made (Gradio serves from its own cache)
_MADE = threading.local()


def request(action: F) -> F:
    """Decorate a tab action: the run folders it makes are removed again if it fails (nothing half-done stays)."""

    @functools.wraps(action)
    def wrapper(self, *args, **kwargs):
        _MADE.runs = []
        try:
            return action(self, *args, **kwargs)
        except BaseException:
            for run in _MADE.runs:
                shutil.rmtree(run, ignore_errors=True)
            raise
        finally:
            _MADE.runs = []

    return wrapper  # type: ignore[return-value]

from demo.config import DemoConfig
from demo.uploads import UploadChecks


class TabBase(UploadChecks):
    """Bound to one pipeline and one :class:`~demo.config.DemoConfig`; the tabs are mixins on top of it."""

    def __init__(self, pipeline: Any, config: DemoConfig | None = None):
        self.pipeline = pipeline
        self.config = config or DemoConfig()
        self._work: Path | None = None

    @property
    def work_dir(self) -> Path:
        """Parent of the per-request folders (made on first use; a new temp folder unless configured)."""
        if self._work is None:
            if self.config.work_dir is not None:
                self.config.work_dir.mkdir(parents=True, exist_ok=True)
                self._work = Path(tempfile.mkdtemp(prefix="facial-app-", dir=self.config.work_dir))
            else:
                self._work = Path(tempfile.mkdtemp(prefix="facial-app-"))
        return self._work

    def new_run_dir(self, kind: str) -> Path:
        """A new folder for one request's outputs (old ones past :data:`RUN_TTL_S` are removed first)."""
        self.prune_runs()
        run = Path(tempfile.mkdtemp(prefix=f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=self.work_dir))
        if isinstance(getattr(_MADE, "runs", None), list):
            _MADE.runs.append(run)
        return run

    def prune_runs(self, ttl_s: float = RUN_TTL_S) -> list[Path]:
        """Remove request folders older than ``ttl_s`` seconds; returns what went."""
        if self._work is None or not self._work.is_dir():
            return []
        cutoff = time.time() - ttl_s
        gone = [d for d in self._work.iterdir() if d.is_dir() and d.stat().st_mtime < cutoff]
        for d in gone:
            shutil.rmtree(d, ignore_errors=True)
        return gone
