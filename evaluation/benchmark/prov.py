"""Provenance of a benchmark run: git commit, package versions, spec, config, date and host.

(Named ``prov`` rather than ``provenance`` so that ``evaluation.benchmark.provenance`` stays the
function it has always been.)
"""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from facial.hashing import sha256_json

if TYPE_CHECKING:
    from evaluation.benchmark.spec import BenchmarkSpec

VERSIONED_PACKAGES = ("facial-toolkit", "numpy", "scipy", "pandas", "torch", "torchvision", "mediapipe",
                      "opencv-contrib-python", "scikit-image", "librosa", "lpips", "syncnet-python", "imageio-ffmpeg", "av")


def git_commit(start: Path | None = None) -> str | None:
    """The checked-out commit, read from ``.git`` (no git process), or None."""
    here = (start or Path(__file__)).resolve()
    for d in [here, *here.parents]:
        git = d / ".git"
        if git.is_file():  # worktree: "gitdir: …"
            text = git.read_text().strip()
            if text.startswith("gitdir:"):
                git = (d / text.split(":", 1)[1].strip()).resolve()
        if git.is_dir():
            head = (git / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head
            ref = head.split(":", 1)[1].strip()
            for base in (git, Path(str(git).split("/worktrees/")[0]) if "/worktrees/" in str(git) else git):
                if (base / ref).is_file():
                    return (base / ref).read_text().strip()
                packed = base / "packed-refs"
                if packed.is_file():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
            return None
    return None


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    from importlib import metadata

    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def provenance(spec: BenchmarkSpec, *, argv: list[str] | None = None, seconds: float | None = None) -> dict[str, Any]:
    """Git commit, spec, config, versions, date and host of a run."""
    import sys

    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "spec_path": str(spec.path) if spec.path else None,
        "spec_sha256": sha256_json(spec.raw, length=16),
        "spec": spec.raw,
        "protocol": spec.protocol,
        "metrics": spec.metrics,
        "config": spec.config.to_dict(),
        "clips": [{"id": c.id, "path": str(c.path)} for c in spec.clips],
        "versions": {"python": sys.version.split()[0], **package_versions()},
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "argv": argv,
        "seconds": round(seconds, 1) if seconds is not None else None,
    }

