"""Pretraining FACIAL-GAN on a corpus of many speakers (depends on :mod:`facial.audio2face`, never
the other way round).

- :mod:`facial.training.corpus` — MANIFEST.csv / folders → tracked profiles → training clips;
- :mod:`facial.training.validation` — held-out speakers for early stopping;
- :mod:`facial.training.pretrain` — :func:`~facial.training.pretrain.pretrain` and the whole job
  behind ``facial train audio2face`` (:func:`~facial.training.pretrain.pretrain_from_data`).

The training loop, its data and losses are FACIAL-GAN's own: :mod:`facial.audio2face.trainer`,
:mod:`facial.audio2face.data`, :mod:`facial.audio2face.losses`.
"""
