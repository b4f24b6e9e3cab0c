"""The User-study tab: folders of result videos → a blind, counterbalanced study (a private zip with
the key, and a package for the participants); then the study plus the answers → the analysis."""
from __future__ import annotations

from typing import Any, Callable

import gradio as gr

from demo.errors import error, user_error
from demo.tabs.base import TabBase, request
from demo.uploads import safe_extract, single_root, upload_path, zip_dir


class StudyTab(TabBase):
    """The User-study tab's actions (a mixin of :class:`demo.handlers.Handlers`)."""

    @request
    def build_study(self, folders_text: str, archive: Any, scale: str = "2afc", checks: float = 2, seed: float = 0,
                    progress: Callable[..., Any] | None = gr.Progress()) -> tuple[list[str], str]:
        """Method folders → ([study zip (keep private), participant zip], Markdown summary)."""
        from user_study.build import BuildConfig, build_study
        from user_study.types import StudyError

        run = self.new_run_dir("study")
        methods = self._method_folders(folders_text, archive, run)
        if not methods:
            raise error("No result folders given: write NAME=FOLDER lines (e.g. ours=results/ours) or upload a zip with one "
                        "folder of videos per method.")
        if progress is not None:
            progress(0.1, desc=f"Rendering the stimuli of {len(methods)} methods")
        try:
            cfg = BuildConfig(methods={k: str(v) for k, v in methods.items()}, scale=scale, checks=int(checks), seed=int(seed))
            report = build_study(cfg, run / "study")
        except (StudyError, ValueError, FileNotFoundError) as exc:
            raise user_error(exc, "The study could not be built") from exc
        except Exception as exc:
            raise user_error(exc, "Building the study") from exc
        full = zip_dir(run / "study", run / f"study_{report['study_id']}_PRIVATE_with_key.zip")
        public = zip_dir(run / "study" / "public", run / f"study_{report['study_id']}_participants.zip")
        summary = (f"**Study {report['study_id']}**: {report['n_trials']} trials ({report['n_attention_checks']} attention checks), "
                   f"{report['n_clips']} clips of {report['clip_duration_s']:.2f} s, methods {', '.join(report['methods'])}.\n\n"
                   f"- `{public.name}`: give this to participants (open `index.html`).\n"
                   f"- `{full.name}`: keep it private (it holds `key.json`); upload it below with the answers to analyse.")
        if report.get("dropped_clips"):
            summary += "\n- Dropped clips (not in every folder): " + "; ".join(f"{m}: {', '.join(c)}" for m, c in report["dropped_clips"].items())
        return [str(full), str(public)], summary

    @request
    def analyze_study(self, study: Any, answers: Any, max_failed_checks: float = 0,
                      progress: Callable[..., Any] | None = gr.Progress()) -> tuple[str, str | None, str]:
        """Study zip (with key) + answer files → (Markdown report, plot, results zip)."""
        from user_study.analysis import analyze, report_markdown, write_results
        from user_study.types import StudyError

        zpath = upload_path(study)
        if zpath is None:
            raise error("No study given: upload the study zip made by “Build” (the PRIVATE one, with key.json).")
        answer_paths = [p for p in (upload_path(a) for a in (answers if isinstance(answers, (list, tuple)) else [answers])) if p]
        if not answer_paths:
            raise error("No answers given: upload the answer files (CSV from the form or the study server, or the form's JSON).")
        run = self.new_run_dir("analysis")
        root = single_root(safe_extract(zpath, run / "study", max_bytes=4 * self.config.max_upload_bytes))
        try:
            result = analyze(root, answer_paths, max_failed_checks=int(max_failed_checks))
            written = write_results(result, run / "results", protect=answer_paths)
        except (StudyError, ValueError, FileNotFoundError) as exc:
            raise user_error(exc, "The answers could not be analysed", answer_paths + [zpath]) from exc
        except Exception as exc:
            raise user_error(exc, "Analysing the study") from exc
        plot = next((str(p) for n, p in written.items() if n.endswith(".png")), None)
        results_zip = zip_dir(run / "results", run / "study_results.zip")
        return report_markdown(result), plot, str(results_zip)
