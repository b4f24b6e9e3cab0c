"""User-study kit: build, run and analyse perceptual studies of talking-face videos.

- :mod:`user_study.types` — manifest, key, questions (validated JSON/YAML).
- :mod:`user_study.design` — clip matching, counterbalanced blind trials, attention checks, orders.
- :mod:`user_study.stimuli` — side-by-side / sequential mp4 stimuli with normalised loudness.
- :mod:`user_study.forms` — self-contained HTML form and questions CSV.
- :mod:`user_study.build` — ``facial-study build`` as a library call (:func:`build_study`).
- :mod:`user_study.app` — ``facial-study serve`` (Gradio).
- :mod:`user_study.analysis` — ``facial-study analyze`` as a library call (:func:`~user_study.analysis.analyze`),
  built from :mod:`user_study.answers` (read, validate, screen), :mod:`user_study.preference` (2AFC),
  :mod:`user_study.mos` (mos5), :mod:`user_study.agreement` (Fleiss' κ, Krippendorff's α) and
  :mod:`user_study.report` (tables, plot, report).
- :mod:`user_study.cli` — the ``facial-study`` command.

See docs/USER_STUDY.md. Nothing is imported or run at package import.
"""
