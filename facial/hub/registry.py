"""What a checkpoint folder is, from its ``config.json``: a small registry of kinds by ``model_type``.

Each :class:`Kind` names the class that loads it (``"module:Class"``, imported only when used, so
registering costs nothing and a kind whose package is absent never breaks the others), the files
it is made of, and what its model card says. The built-in kinds:

============================  ========================================================  ==============
``model_type``                class                                                     folder
============================  ========================================================  ==============
``facial-gan``                :class:`facial.audio2face.FacialGAN`                      ``facial/assets/audio2face``
``facial-face2vid``           :class:`facial.face2vid.NeuralRenderer`                   ``PROFILE/face2vid``
``facial-sync-expert``        :class:`facial.sync_expert.model.SyncExpert`              ``facial/assets/sync_expert``
``facial-expression-basis``   :class:`facial.speaker.face_model.ExpressionBasis`        ``facial/assets/expression_basis``
============================  ========================================================  ==============

The expression basis predates ``model_type``: a config with ``basis_id`` and ``components`` is
recognised by :attr:`Kind.detect`. A new network plugs in with one call, without touching this
package::

    facial.hub.register(Kind("my-net", "My net", "mypkg.model:MyNet", description="…"))

as long as its class has ``from_pretrained(folder)`` and ``save_pretrained(folder)`` over
``config.json`` (with that ``model_type``) + ``model.safetensors``. Speaker profiles are not
checkpoints: a folder with ``profile.json`` is a speaker (:mod:`facial.hub.speaker`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from facial.hub.resolve import CHECKPOINT_FILES, CONFIG_FILE, CheckpointError, read_config, resolve_dir

SPEAKER = "facial-speaker"  # the kind name of speaker profiles (profile.json, not config.json)


@dataclass(frozen=True)
class Kind:
    """One kind of checkpoint: its ``model_type``, display name, loader and model-card facts.

    - ``loader``: ``"module:Class"``; the class has ``from_pretrained(folder)`` (and
      ``save_pretrained(folder)`` for :func:`facial.hub.push_to_hub`).
    - ``detect``: for configs without ``model_type`` (``detect(config) -> bool``).
    - ``card``: ``"module:function"`` writing the card body (``function(config, folder) -> str``);
      default: the generic body of :mod:`facial.hub.cards`.
    - ``tags`` / ``pipeline_tag`` / ``license``: the card's YAML metadata.
    """

    model_type: str
    name: str
    loader: str
    description: str = ""
    files: tuple[str, ...] = CHECKPOINT_FILES
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    license: str = "other"
    detect: Callable[[dict], bool] | None = field(default=None, compare=False)
    card: str | None = None

    def load_class(self) -> Any:
        module, _, attr = self.loader.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise CheckpointError(f"{self.model_type} checkpoints need {self.loader}, which cannot be imported ({exc})") from None


_KINDS: dict[str, Kind] = {}


def register(kind: Kind, *, replace: bool = False) -> Kind:
    """Add a kind (``replace=True`` to redefine an existing ``model_type``)."""
    if kind.model_type in _KINDS and not replace and _KINDS[kind.model_type] != kind:
        raise ValueError(f"model_type {kind.model_type!r} is already registered ({_KINDS[kind.model_type].loader})")
    _KINDS[kind.model_type] = kind
    return kind


def kinds() -> tuple[Kind, ...]:
    """The registered kinds, in registration order."""
    return tuple(_KINDS.values())


def get_kind(model_type: str) -> Kind:
    try:
        return _KINDS[model_type]
    except KeyError:
        raise CheckpointError(f"unknown model_type {model_type!r}; known: {', '.join(_KINDS)} "
                              "(a new kind is added with facial.hub.register)") from None


def kind_for_config(config: dict, where: str | Path = "config.json") -> Kind:
    """The kind a parsed ``config.json`` belongs to (its ``model_type``, else a kind's ``detect``)."""
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type:
        if model_type not in _KINDS:
            raise CheckpointError(f"{where}: unknown model_type {model_type!r}; known: {', '.join(_KINDS)}")
        return _KINDS[model_type]
    for kind in _KINDS.values():
        if kind.detect is not None and kind.detect(config):
            return kind
    raise CheckpointError(f"{where} has no model_type and matches no known checkpoint ({', '.join(_KINDS)})")


def kind_of(folder: str | Path) -> str:
    """``model_type`` of a local checkpoint folder, or :data:`SPEAKER` for a speaker profile folder."""
    folder = Path(folder)
    if (folder / "profile.json").is_file():
        return SPEAKER
    if not (folder / CONFIG_FILE).is_file():
        raise CheckpointError(f"{folder} is neither a checkpoint (config.json + model.safetensors) nor a speaker "
                              "profile (profile.json)")
    return kind_for_config(read_config(folder / CONFIG_FILE), folder / CONFIG_FILE).model_type


def from_pretrained(path_or_repo: str | Path, *, revision: str | None = None, **kwargs: Any) -> Any:
    """Load any registered checkpoint from a local folder or a Hugging Face repo id, whatever its kind
    (the class is picked from ``config.json``); ``kwargs`` go to the class's ``from_pretrained``."""
    directory = resolve_dir(path_or_repo, CHECKPOINT_FILES, revision=revision)
    kind = kind_for_config(read_config(directory / CONFIG_FILE), directory / CONFIG_FILE)
    return kind.load_class().from_pretrained(directory, **kwargs)


def _is_basis(config: dict) -> bool:
    return "basis_id" in config and "k" in config and "n_points" in config


register(Kind("facial-gan", "FACIAL-GAN", "facial.audio2face.model:FacialGAN",
              description="audio → face parameters (head pose, blink, expression) generator of FACIAL (ICCV 2021)",
              tags=("facial", "talking-face", "audio-driven", "speech-to-motion", "pytorch", "safetensors"),
              card="facial.hub.cards:facial_gan_body"))
register(Kind("facial-face2vid", "FACIAL neural renderer", "facial.face2vid.renderer:NeuralRenderer",
              description="rendering-to-video network: mesh renders + eye attention map → photoreal frames of one speaker",
              tags=("facial", "talking-face", "neural-rendering", "pytorch", "safetensors"),
              card="facial.hub.cards:renderer_body"))
register(Kind("facial-sync-expert", "FACIAL lip-sync expert", "facial.sync_expert.model:SyncExpert",
              description="SyncNet-style two-stream embedding of 0.2 s of lips and speech (distance = 1 − cos)",
              tags=("facial", "talking-face", "lip-sync", "audio-visual", "pytorch", "safetensors"),
              card="facial.hub.cards:sync_expert_body"))
register(Kind("facial-expression-basis", "FACIAL expression basis", "facial.speaker.face_model:ExpressionBasis",
              description="linear (PCA) expression basis over the 478 MediaPipe FaceMesh points",
              tags=("facial", "talking-face", "face-model", "mediapipe", "safetensors"),
              detect=_is_basis, card="facial.hub.cards:basis_body"))
