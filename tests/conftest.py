"""Shared fixtures: paths to the research clips in ../shared (skipped when absent) and tiny synthetic media."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACIAL_SHARED", ROOT.parent / "shared"))
MANIFEST = SHARED / "data" / "MANIFEST.csv"


def shared_clip(manifest_id: str) -> Path:
    """Path of a clip from ../shared/data by manifest id; skips the test when the data is absent."""
    if not MANIFEST.exists():
        pytest.skip(f"research clips not available ({MANIFEST} missing); set FACIAL_SHARED to the shared folder")
    for row in csv.DictReader(open(MANIFEST)):
        if row["id"] == manifest_id:
            path = MANIFEST.parent / row["path"]
            if not path.exists():
                pytest.skip(f"{path} listed in the manifest but missing")
            return path
    pytest.skip(f"{manifest_id} not in {MANIFEST}")


@pytest.fixture
def tone_clip():
    """2 s of a 220 Hz tone at 16 kHz."""
    from facial.types import AudioClip

    t = np.arange(32000) / 16000
    return AudioClip((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
