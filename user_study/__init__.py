"""User-study kit: build, run and analyse perceptual studies of talking-face videos.

- :mod:`user_study.types` — manifest, key, questions (validated JSON/YAML).
- :mod:`user_study.design` — clip matching, counterbalanced blind trials, attention checks, orders.
- :mod:`user_study.stimuli` — side-by-side / sequential mp4 stimuli with normalised loudness.
- :mod:`user_study.forms` — self-contained HTML form and questions CSV.
- :mod:`user_study.build` — ``facial-study build`` as a library call (:func:`build_study`).
- :mod:`user_study.app` — ``facial-study serve`` (Gradio).
- :mod:`user_study.analysis` — ``facial-study analyze`` (screening, preferences, MOS, agreement).
- :mod:`user_study.cli` — the ``facial-study`` command.

See docs/USER_STUDY.md. Nothing is imported or run at package import.
"""
