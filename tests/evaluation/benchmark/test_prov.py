"""Provenance of a run: git commit, package versions (evaluation.benchmark.prov)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from evaluation import benchmark as bm
from evaluation.types import EvalConfig


def test_git_commit_and_versions():
    commit = bm.git_commit()
    assert commit is None or (len(commit) == 40 and all(c in "0123456789abcdef" for c in commit))
    v = bm.package_versions(["numpy", "surely-not-installed-pkg"])
    assert v["numpy"] == np.__version__ and v["surely-not-installed-pkg"] is None


def test_provenance_hashes_the_spec_as_before():
    raw = {"name": "t", "clips": {"folder": "clips"}, "methods": ["ground_truth"], "options": {"max_seconds": 2.5}}
    spec = bm.BenchmarkSpec(name="t", clips=[bm.ClipRef("c1", Path("c1.mp4"))], protocol={"name": "measure", "max_seconds": None},
                            methods=["ground_truth"], metrics=["av_corr"], config=EvalConfig(), raw=raw)
    prov = bm.provenance(spec, argv=["run", "x.yaml"], seconds=1.234)
    # the legacy formula: sha256 of the sorted-key JSON, 16 hex digits
    assert prov["spec_sha256"] == hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]
    assert prov["clips"] == [{"id": "c1", "path": "c1.mp4"}] and prov["seconds"] == 1.2 and prov["argv"] == ["run", "x.yaml"]
    assert prov["versions"]["numpy"] == np.__version__
