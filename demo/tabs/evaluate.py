"""The Evaluate tab: one clip (plus, optionally, the real clip it should reproduce) → a table of
metrics with their directions, the clip's head-pose / blink / mouth curves, and every value as JSON."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import gradio as gr

from demo.errors import user_error
from demo.tabs.base import TabBase, request
from demo.uploads import upload_path
from facial.plotting import new_figure, save_figure

log = logging.getLogger(__name__)


class EvaluateTab(TabBase):
    """The Evaluate tab's actions (a mixin of :class:`demo.handlers.Handlers`)."""

    @request
    def evaluate(self, video: Any, reference: Any = None, metrics: Sequence[str] | str | None = None,
                 progress: Callable[..., Any] | None = gr.Progress()) -> tuple[Any, str | None, str]:
        """Clip (+ optional frame-aligned real clip) → (metric table, curves plot, JSON download)."""
        import pandas as pd

        from evaluation import registry
        from evaluation.scoring import score_clip, values_to_json
        from evaluation.types import ClipInput, EvalConfig

        video_path = self.check_video(video, "video to evaluate")
        ref_path = self.check_video(reference, "reference clip") if upload_path(reference) is not None else None
        metrics = [m for m in ([metrics] if isinstance(metrics, str) else (metrics or [])) if m] or ["default"]
        try:
            registry.resolve(metrics)
        except Exception as exc:
            raise user_error(exc, "Unknown metric") from exc
        if progress is not None:
            progress(0.05, desc="Tracking the face and computing the metrics")
        run = self.new_run_dir("evaluate")
        try:
            # the decode stops at FACIAL_MAX_CLIP_S whatever the file's header claims
            config = EvalConfig(max_seconds=self.config.max_clip_s)
            result = score_clip(ClipInput(video_path, reference=ref_path), metrics, config, progress=False)
        except Exception as exc:
            raise user_error(exc, "Evaluation failed", (video_path, ref_path)) from exc
        rows = []
        for v in result.values:
            spec = registry.get(v.name)
            rows.append({
                "metric": v.name,
                "better": spec.arrow,
                "value": round(v.value, 4) if v.value is not None else None,
                "unit": spec.unit,
                "status": "ok" if v.is_ok else f"{v.status}: {v.reason}",
                "what it measures": spec.summary,
            })
        table = pd.DataFrame(rows, columns=["metric", "better", "value", "unit", "status", "what it measures"])
        plot = self.plot_traces(result.traces, run / "evaluated_curves.png", title=video_path.name) if result.traces else None
        out = run / f"{Path(video_path).stem}_metrics.json"
        out.write_text(json.dumps(values_to_json(result), indent=2, ensure_ascii=False))
        return table, (str(plot) if plot else None), str(out)

    @staticmethod
    def plot_traces(traces: dict, path: Path, *, title: str = "", fps: float = 25.0) -> Path:
        """Yaw/pitch/roll, blink and mouth opening of an evaluated clip, as a PNG."""
        import numpy as np

        groups = [("rotation (deg)", [k for k in ("yaw", "pitch", "roll") if k in traces]),
                  ("blink (1 = closed)", ["blink"] if "blink" in traces else []),
                  ("mouth opening", ["mouth"] if "mouth" in traces else [])]
        groups = [g for g in groups if g[1]]
        fig, axes = new_figure(len(groups), 1, figsize=(10, 2.1 * len(groups)), sharex=True, squeeze=False)
        axes = axes[:, 0]
        for ax, (label, keys) in zip(axes, groups):
            for k in keys:
                y = np.asarray(traces[k], dtype=float)
                ax.plot(np.arange(len(y)) / fps, y, lw=1, label=k)
            ax.set_ylabel(label)
            if len(keys) > 1:
                ax.legend(loc="upper right", fontsize=7, ncol=3)
        axes[-1].set_xlabel("time (s)")
        if title:
            fig.suptitle(title, fontsize=10)
        return save_figure(fig, path, dpi=90)

    @staticmethod
    def metric_choices() -> list[str]:
        """Group names first, then every metric name (for the Evaluate tab's picker)."""
        try:
            from evaluation import registry

            groups = list(registry.groups())
            return groups + [n for n in registry.names() if n not in groups]
        except Exception as exc:  # the app still starts; Evaluate reports the problem when used
            log.warning("metric registry unavailable: %s", exc)
            return ["default"]
