"""What every tab shares: the pipeline, the settings, the upload checks and the per-request folders.

Each request writes into its own new folder (:meth:`TabBase.new_run_dir`) under the app's work
folder; no user file is ever written to or overwritten.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

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
        return Path(tempfile.mkdtemp(prefix=f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=self.work_dir))
