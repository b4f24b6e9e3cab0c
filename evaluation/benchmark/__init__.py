"""Benchmarks: a spec (clips × protocol × methods × metrics) → rows, tables, plots, provenance.

A spec is YAML (examples in ``evaluation/specs/``)::

    name: smoke
    clips:                      # a manifest (filtered) or a folder of videos
      manifest: ../shared/data/MANIFEST.csv
      filter: {origin: real}    # exact column values (a list allows several)
      ids: [pcavs__Input_00010] # optional: these clips, in this order
      min_seconds: 4            # optional: skip shorter clips (manifest duration_s or probe)
      max_clips: 2
    protocol:
      name: self_reenactment    # | cross_driving | measure
      test_fraction: 0.4        # self-reenactment: the last 40 % is held out
      max_test_seconds: 4
    methods: [ground_truth, static, replay, lips_only, ours,
              {name: wav2lip, manifest: results/wav2lip.csv}]
    metrics: [default]          # names or groups (`facial-eval list`)
    options: {syncnet_weights: null, max_seconds: null}   # EvalConfig fields

Protocols:

- ``self_reenactment`` — the speaker is built from the first part of each clip
  (``prepared/<clip>/speaker.mp4``), driven with the held-out last part's audio
  (``driving.wav``) and compared with the real last part (``reference.mp4``).
- ``cross_driving`` — the speaker (first ``speaker_seconds`` of the clip) is driven with another
  clip's speech (the next clip in the list whose ``person`` differs; ``max_seconds`` long);
  measurements only, plus ``*_ratio`` against the speaker's real footage.
- ``measure`` — every method's videos are scored as they are (measurements only); the built-in
  ``ground_truth`` uses the spec's clips, external methods their own manifest rows.

Relative paths in a spec are looked up from the spec's folder, then from the working folder;
``$VARS`` are expanded. The prepared inputs are written under ``OUT/prepared`` so that external
tools can be run on exactly the same inputs.

Outputs in ``OUT``: ``rows.csv`` (``method, clip, metric, value``), ``unavailable.csv`` (what was
not computed and why), ``aggregate.csv`` (``method, metric, n, mean, std, ci_lo, ci_hi``,
BCa bootstrap 95 % CI over clips), ``aggregate.md`` / ``aggregate.tex`` (one table per
metric family, ``mean ± std [CI]``), ``comparisons.csv`` (paired Wilcoxon / t-tests of ``ours`` —
or ``plots: {compare: METHOD}`` — against every other method, per metric), ``plots/`` (per-metric bars with CIs, pose/blink traces of
one clip), ``provenance.json`` (git commit, spec, versions, date, host). Each (method, clip) cell
is cached in ``OUT/results`` under a key of (method, clip content, protocol, metrics, config), so
re-running after adding a method or a clip computes only the new cells.

Modules: :mod:`~evaluation.benchmark.spec` (parsing and validation), :mod:`~evaluation.benchmark.prepare`
(protocol inputs), :mod:`~evaluation.benchmark.run` (cells, worker pool, :func:`run_benchmark`),
:mod:`~evaluation.benchmark.report` (rows, Markdown/LaTeX tables via :mod:`evaluation.tables`,
paired comparisons), :mod:`~evaluation.benchmark.plots`, :mod:`~evaluation.benchmark.prov`
(provenance). Their public names are re-exported here.
"""
from __future__ import annotations

from evaluation.benchmark.plots import plot_metric_bars, plot_traces
from evaluation.benchmark.prepare import prepare_task
from evaluation.benchmark.prov import VERSIONED_PACKAGES, git_commit, package_versions, provenance
from evaluation.benchmark.report import (
    MAX_TABLE_COLUMNS,
    cells_to_frames,
    method_notes,
    paired_comparisons,
    render_latex,
    render_markdown,
    summary_cells,
)
from evaluation.benchmark.run import TOOLKIT_RESULT_VERSION, BenchmarkResult, CellResult, run_benchmark, run_unit
from evaluation.benchmark.spec import (
    CLIP_KEYS,
    PROTOCOL_DEFAULTS,
    PROTOCOL_KEYS,
    PROTOCOLS,
    SPEC_KEYS,
    BenchmarkSpec,
    ClipRef,
    SpecError,
    load_spec,
    resolve_path,
    spec_from_dict,
)

__all__ = [
    "BenchmarkResult", "BenchmarkSpec", "CLIP_KEYS", "CellResult", "ClipRef", "MAX_TABLE_COLUMNS", "PROTOCOLS",
    "PROTOCOL_DEFAULTS", "PROTOCOL_KEYS", "SPEC_KEYS", "SpecError", "TOOLKIT_RESULT_VERSION", "VERSIONED_PACKAGES",
    "cells_to_frames", "git_commit", "load_spec", "method_notes", "package_versions", "paired_comparisons",
    "plot_metric_bars", "plot_traces", "prepare_task", "provenance", "render_latex", "render_markdown",
    "resolve_path", "run_benchmark", "run_unit", "spec_from_dict", "summary_cells",
]
