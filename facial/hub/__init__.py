"""Checkpoints and speakers through the Hugging Face Hub: one layer for loading and publishing.

- :mod:`.resolve` — :func:`resolve_dir` (a local folder, or a repo id fetched with
  ``snapshot_download``, offline first), :func:`is_repo_id` (a mistyped local path never goes to the
  network), :class:`CheckpointNotFound` / :class:`CheckpointError` with one-line messages,
  :func:`read_config`, :func:`load_safetensors`.
- :mod:`.registry` — what a folder is, from ``config.json``'s ``model_type``: :class:`Kind`,
  :func:`register` (new networks plug in without editing this package), :func:`from_pretrained`
  (load any registered checkpoint, local or ``owner/name``).
- :mod:`.upload` — :func:`publish` (a checkpoint folder or speaker profile → a Hub repo, through
  ``HfApi.create_repo`` / ``create_branch`` / ``upload_folder``), :func:`push_to_hub` (a model object).
- :mod:`.cards` — model cards written from a checkpoint's config and weights (:func:`model_card`,
  :func:`speaker_card`, :func:`asset_cards` for ``facial/assets``).
- :mod:`.speaker` — published speakers: :func:`load_speaker` (``owner/name`` → a local profile
  folder), :func:`speaker_model` (its personalised FACIAL-GAN), :func:`has_footage`.

Nothing here touches the network or the disk at import time; ``huggingface_hub`` is imported on use.
"""
from __future__ import annotations

from facial.hub.resolve import (CHECKPOINT_FILES, CONFIG_FILE, WEIGHTS_FILE, CheckpointError, CheckpointNotFound, is_repo_id,
                                load_safetensors, read_config, resolve_dir, split_revision)
from facial.hub.registry import SPEAKER, Kind, from_pretrained, get_kind, kind_for_config, kind_of, kinds, register

__all__ = [
    "CHECKPOINT_FILES", "CONFIG_FILE", "WEIGHTS_FILE", "CheckpointError", "CheckpointNotFound", "is_repo_id", "load_safetensors",
    "read_config", "resolve_dir", "split_revision",
    "SPEAKER", "Kind", "from_pretrained", "get_kind", "kind_for_config", "kind_of", "kinds", "register",
    "PublishError", "PublishResult", "PushToHubMixin", "publish", "push_to_hub",
    "asset_cards", "model_card", "speaker_card", "write_card",
    "has_footage", "hub_info", "load_speaker", "require_footage", "speaker_model", "thumbnail",
]

_LAZY = {
    "PublishError": "upload", "PublishResult": "upload", "PushToHubMixin": "upload", "publish": "upload",
    "push_to_hub": "upload",
    "asset_cards": "cards", "model_card": "cards", "speaker_card": "cards", "write_card": "cards",
    "has_footage": "speaker", "hub_info": "speaker", "load_speaker": "speaker", "require_footage": "speaker",
    "speaker_model": "speaker", "thumbnail": "speaker",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'facial.hub' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"facial.hub.{module}"), name)
