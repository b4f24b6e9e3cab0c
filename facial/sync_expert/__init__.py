"""A lip-sync expert of our own: a SyncNet-style two-stream network over 0.2 s of lips and speech.

```
clip ─► features (FaceMesh lip shapes | mouth crops, log-mel) ─► model.SyncExpert ─► scoring (offset, conf, dist)
MANIFEST.csv ─► data (speaker-disjoint split, augmentation, contrastive batches) ─► train ─► config.json + model.safetensors
FACIAL-GAN lips + audio windows ─► loss.sync_loss (frozen landmark expert)
```
- :mod:`~facial.sync_expert.config` — :class:`SyncExpertConfig` (travels with the weights);
- :mod:`~facial.sync_expert.features` — lip shapes, mouth crops, log-mel, windows, the tracked-input cache;
- :mod:`~facial.sync_expert.model` — :class:`SyncExpert` (``save_pretrained`` / ``from_pretrained``;
  no argument = the expert shipped in ``facial/assets/sync_expert``);
- :mod:`~facial.sync_expert.scoring` — :func:`score_video` / :func:`score_inputs` → offset, conf, dist;
- :mod:`~facial.sync_expert.data`, :mod:`~facial.sync_expert.train` — training (``facial train sync-expert``);
- :mod:`~facial.sync_expert.loss` — the differentiable sync loss for FACIAL-GAN (``LossWeights.sync``).

The metrics ``sync_offset`` / ``sync_conf`` / ``sync_dist`` live in ``evaluation/metrics/sync_expert.py``.
Importing this package is cheap; torch loads with the model.
"""
from __future__ import annotations

from facial.sync_expert.config import SyncExpertConfig

__all__ = ["SyncExpert", "SyncExpertConfig", "score_video", "score_inputs"]


def __getattr__(name: str):
    if name == "SyncExpert":
        from facial.sync_expert.model import SyncExpert

        return SyncExpert
    if name in ("score_video", "score_inputs"):
        from facial.sync_expert import scoring

        return getattr(scoring, name)
    raise AttributeError(f"module 'facial.sync_expert' has no attribute {name!r}")
