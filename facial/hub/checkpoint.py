"""Save and load a torch network as ``config.json`` + ``model.safetensors`` — the one implementation
behind every network's ``save_pretrained`` / ``from_pretrained`` (FACIAL-GAN, the sync expert, …).

Loading resolves a local folder or a Hub repo id (:func:`facial.hub.resolve.resolve_dir`, offline
first), checks ``model_type``, builds the module from the config and loads the weights, turning
every way a checkpoint can be broken into a one-line :class:`CheckpointError` naming the file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from facial import atomic, hashing
from facial.hub.resolve import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, CheckpointNotFound, load_safetensors, read_config, resolve_dir


def save_torch_checkpoint(module, directory: str | Path, model_type: str, config: dict[str, Any]) -> str:
    """Write ``module``'s weights and ``{"model_type": …, **config}`` atomically; returns the checkpoint id
    (the first 12 hex of the weights file's sha256)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic.atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"model_type": model_type})
    atomic.write_text(directory / CONFIG_FILE, json.dumps({"model_type": model_type, **config}, indent=2))
    return hashing.sha256_file(directory / WEIGHTS_FILE, length=12)


def load_torch_checkpoint(path_or_repo: str | Path | None, *, default_dir: Path, model_type: str, build: Callable[[dict], Any],
                          what: str, train_hint: str, revision: str | None = None, map_location: Any = "cpu"):
    """The module saved in a folder or repo (``None`` → ``default_dir``, the packaged checkpoint), in eval mode,
    with ``checkpoint_id`` set. ``build(config_without_model_type)`` makes the empty module; ``what`` names it in
    messages, ``train_hint`` says how to make a missing packaged one."""
    from safetensors.torch import load_file

    target = path_or_repo if path_or_repo is not None else default_dir
    try:
        directory = resolve_dir(target, (CONFIG_FILE, WEIGHTS_FILE), revision=revision)
    except CheckpointNotFound as exc:
        if path_or_repo is None:
            raise CheckpointNotFound(f"the packaged {what} checkpoint is missing ({exc}); {train_hint}") from exc
        raise
    raw = read_config(directory / CONFIG_FILE)
    found = raw.pop("model_type", model_type)
    if found != model_type:
        raise CheckpointError(f"{directory} holds a {found!r} checkpoint, not {model_type!r}")
    try:
        model = build(raw)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory / CONFIG_FILE}: not a {what} config ({exc})") from None
    state = load_safetensors(directory / WEIGHTS_FILE, load_file, device=str(map_location))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc).splitlines()[0])
        raise CheckpointError(f"{directory / WEIGHTS_FILE}: weights do not fit {CONFIG_FILE} ({first[:160]})") from None
    if missing or unexpected:
        raise CheckpointError(f"{directory}: weights do not match the config (missing {missing}, unexpected {unexpected})")
    model.checkpoint_id = hashing.sha256_file(directory / WEIGHTS_FILE, length=12)
    model.eval()
    return model


class TorchCheckpointMixin:
    """``save_pretrained`` / ``from_pretrained`` for an ``nn.Module`` with a ``config`` (``to_dict`` /
    ``from_dict``). A subclass sets ``model_type``, ``config_class``, ``checkpoint_what`` (its name in
    messages), ``train_hint`` and :meth:`packaged_dir` (its packaged checkpoint folder)."""

    model_type: str
    config_class: Any
    checkpoint_what: str
    train_hint: str
    checkpoint_id: str = ""

    @classmethod
    def packaged_dir(cls) -> Path:
        raise NotImplementedError

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (no pickles) into ``directory``."""
        self.checkpoint_id = save_torch_checkpoint(self, directory, self.model_type, self.config.to_dict())
        return Path(directory)

    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path | None = None, revision: str | None = None, *, map_location: Any = "cpu"):
        """Load from a local folder or a Hugging Face repo id (``None`` → the packaged checkpoint), in eval mode."""
        return load_torch_checkpoint(path_or_repo, default_dir=cls.packaged_dir(), model_type=cls.model_type,
                                     build=lambda raw: cls(cls.config_class.from_dict(raw)), what=cls.checkpoint_what,
                                     train_hint=cls.train_hint, revision=revision, map_location=map_location)
