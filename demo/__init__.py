"""The Gradio app of the FACIAL toolkit: :func:`build_demo` (layout, :mod:`demo.ui`), the actions
behind its buttons (:mod:`demo.handlers`, one module per tab in :mod:`demo.tabs`; inputs, limits and
zips in :mod:`demo.uploads`; error messages in :mod:`demo.errors`) and its settings (:mod:`demo.config`)."""
from __future__ import annotations

__all__ = ["build_demo", "DemoConfig"]


def __getattr__(name: str):  # keep `import demo` light: gradio loads on first use
    if name == "build_demo":
        from demo.ui import build_demo

        return build_demo
    if name == "DemoConfig":
        from demo.config import DemoConfig

        return DemoConfig
    raise AttributeError(name)
