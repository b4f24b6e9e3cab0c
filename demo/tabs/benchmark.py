"""The Benchmark tab: a bundled or uploaded benchmark spec, or folders of method outputs → the
summary table, the plots, and every result as a zip."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gradio as gr

from demo.errors import error, user_error
from demo.tabs.base import TabBase, request
from demo.uploads import upload_path, zip_dir

#: Top-level folders of a benchmark's output that stay out of the results zip (large intermediates).
BUNDLE_EXCLUDE = ("cache", "prepared", "results")


class BenchmarkTab(TabBase):
    """The Benchmark tab's actions (a mixin of :class:`demo.handlers.Handlers`)."""

    @staticmethod
    def benchmark_specs() -> list[str]:
        """Names of the bundled benchmark specs (``evaluation/specs/*.yaml``)."""
        try:
            import evaluation

            folder = Path(evaluation.__file__).resolve().parent / "specs"
        except Exception:  # pragma: no cover
            return []
        return sorted(p.name for p in folder.glob("*.y*ml")) if folder.is_dir() else []

    @request
    def run_benchmark(self, spec_name: str | None, spec_upload: Any = None, methods_text: str = "", reference_dir: str = "",
                      progress: Callable[..., Any] | None = gr.Progress(track_tqdm=True)) -> tuple[str, list[str], str]:
        """A bundled or uploaded spec, or method folders → (Markdown summary, plot files, results zip).

        Method folders (``NAME=FOLDER`` lines, videos named after their clips) are scored as they are
        (``measure`` protocol, measurements only); a folder of the real clips adds ``ground_truth``.
        """
        from evaluation.benchmark import load_spec, run_benchmark, spec_from_dict

        upload = upload_path(spec_upload)
        given = [bool(spec_name), upload is not None, bool((methods_text or "").strip())]
        if sum(given) == 0:
            raise error("Nothing to run: pick a bundled spec, upload a spec (YAML), or give method folders (NAME=FOLDER lines).")
        if sum(given) > 1:
            raise error("Give only one of: a bundled spec, an uploaded spec, or method folders (clear the others).")
        run = self.new_run_dir("benchmark")
        try:
            if spec_name:
                import evaluation

                path = Path(evaluation.__file__).resolve().parent / "specs" / Path(spec_name).name
                if not path.is_file():
                    raise error(f"No bundled spec named {spec_name!r}; pick one of {', '.join(self.benchmark_specs()) or 'none'}.")
                spec = load_spec(path)
            elif upload is not None:
                self._check_server_paths_allowed("Uploaded benchmark specs (they name clips on the server)")
                self._check_size(upload, "The spec")
                # every path the spec names must lie inside FACIAL_DATA_ROOT (when set), relative ones from it
                spec = load_spec(upload, data_root=self.config.data_root)
            else:
                methods = self._method_folders(methods_text, None, run)
                entries: list[Any] = [{"name": n, "folder": str(p)} for n, p in methods.items()]
                clips = {"folder": str(next(iter(methods.values())))}
                if (reference_dir or "").strip():
                    clips = {"folder": str(self.server_folder(reference_dir.strip()))}
                    entries.insert(0, "ground_truth")
                spec = spec_from_dict({"name": "method_folders", "clips": clips, "protocol": "measure",
                                       "methods": entries, "metrics": ["measurements"]}, base=run,
                                      data_root=self.config.data_root)
        except gr.Error:
            raise
        except Exception as exc:
            raise user_error(exc, "The benchmark spec is not usable") from exc
        if progress is not None:
            progress(0.0, desc=f"Benchmark {spec.name}: {len(spec.clips)} clips × {len(spec.methods)} methods")
        try:
            result = run_benchmark(spec, run / "out", jobs=1, progress=True)
        except Exception as exc:
            raise user_error(exc, "The benchmark failed") from exc
        out = result.out_dir
        summary = (out / "aggregate.md").read_text() if (out / "aggregate.md").is_file() else "No results."
        if len(result.unavailable):
            summary += f"\n\n{len(result.unavailable)} cell(s) could not be computed; see `unavailable.csv` in the zip."
        plots = sorted(str(p) for p in (out / "plots").glob("*.png")) if (out / "plots").is_dir() else []
        bundle = zip_dir(out, run / f"benchmark_{spec.name}.zip", exclude=BUNDLE_EXCLUDE)
        return summary, plots, str(bundle)
