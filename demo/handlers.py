"""What the buttons of the app do: check the inputs, call the libraries, return file paths.

:class:`Handlers` gathers the tabs (:mod:`demo.tabs`: generate, evaluate, benchmark, study) over the
shared upload checks and per-request folders (:mod:`demo.tabs.base`, :mod:`demo.uploads`). Every
problem the user can fix reaches them as :class:`gradio.Error` saying what was wrong and what to do
(:mod:`demo.errors`). Each request writes into its own new folder under the app's work folder; no user
file is ever written to or overwritten.

The handlers take plain values (file paths, numbers) so they can be called directly in tests;
``progress`` is any callable with :class:`gradio.Progress`'s signature.
"""
from __future__ import annotations

from demo.errors import ERROR_SECONDS, user_error
from demo.tabs.benchmark import BenchmarkTab
from demo.tabs.evaluate import EvaluateTab
from demo.tabs.generate import (BLINK_RATE_RANGE, FINETUNE_EFFORTS, HEAD_MOTION_RANGE, RENDERERS, STAGE_ALIASES,
                                STAGE_LABELS, STAGE_SPANS, GenerateTab, StageProgress)
from demo.tabs.study import StudyTab
from demo.uploads import MIN_AUDIO_S, safe_extract

__all__ = ["Handlers", "StageProgress", "safe_extract", "user_error", "RENDERERS", "FINETUNE_EFFORTS",
           "HEAD_MOTION_RANGE", "BLINK_RATE_RANGE", "MIN_AUDIO_S", "ERROR_SECONDS", "STAGE_SPANS", "STAGE_LABELS",
           "STAGE_ALIASES"]


class Handlers(GenerateTab, EvaluateTab, BenchmarkTab, StudyTab):
    """The app's actions, bound to one pipeline and one :class:`~demo.config.DemoConfig`."""
