"""Model cards (``README.md`` with YAML metadata), written by code from what a folder holds.

A card is built from the checkpoint's own ``config.json`` (its provenance: data, command, steps,
validation) and the weights file (size, stored values, sha256), so a re-trained checkpoint gets a
fresh, true card: :func:`model_card` for any registered kind, :func:`speaker_card` for a speaker
profile (consent note and the clip's content hash, never the footage). Metadata goes through
``huggingface_hub``'s :class:`~huggingface_hub.ModelCardData` / :class:`~huggingface_hub.ModelCard`.

The cards of the checkpoints shipped in ``facial/assets/`` are committed next to them and must equal
what :func:`asset_cards` writes (a test checks it). After re-training one, refresh them with::

    python -m facial.hub.cards            # rewrite facial/assets/*/README.md
    python -m facial.hub.cards --check    # exit 1 when a committed card is stale
"""
from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any, Iterable

from facial.hub.registry import SPEAKER, Kind, get_kind, kind_for_config
from facial.hub.resolve import CONFIG_FILE, WEIGHTS_FILE, read_config

CARD_FILE = "README.md"
LICENSE_FILE = "LICENSE.md"  # written beside the card on upload when ``license: other`` (the card's license_link)
LIBRARY_NAME = "facial"
RESEARCH_LICENSE = "research-only"
PLACEHOLDER_REPO = "OWNER/NAME"
NO_PIPELINE_TAG = None  # the Hub has no task tag for audio → face motion / rendering; none is claimed


def assets_dir() -> Path:
    """``facial/assets`` (the packaged checkpoints)."""
    return Path(__file__).resolve().parent.parent / "assets"


# --------------------------------------------------------------------------- small formatting helpers
def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


def weights_facts(folder: Path, weights: str = WEIGHTS_FILE) -> dict[str, Any]:
    """Size, stored values, dtypes and sha256 of a safetensors file (read from its header)."""
    from safetensors import safe_open

    from facial import hashing

    path = Path(folder) / weights
    if not path.is_file():
        return {}
    values, dtypes = 0, set()
    with safe_open(str(path), "np") as f:
        for name in f.keys():
            sl = f.get_slice(name)
            values += int(math.prod(sl.get_shape()))
            dtypes.add(str(sl.get_dtype()).lower())
    return {"bytes": path.stat().st_size, "values": values, "dtypes": sorted(dtypes), "sha256": hashing.sha256_file(path)}


def _files_table(rows: Iterable[tuple[str, str]]) -> str:
    lines = ["| file | what |", "|---|---|"]
    lines += [f"| `{name}` | {what} |" for name, what in rows]
    return "\n".join(lines)


def _weights_line(facts: dict) -> str:
    if not facts:
        return "weights missing"
    dtypes = ", ".join(facts["dtypes"])
    return (f"{_num(facts['values'])} stored values ({dtypes}), {_mb(facts['bytes'])}; "
            f"sha256 `{facts['sha256']}`")


def _scalars(tree: Any, prefix: str = "", depth: int = 2) -> list[tuple[str, Any]]:
    """Numeric leaves of a nested dict (lists skipped), as ``("a.b", value)`` in key order."""
    out: list[tuple[str, Any]] = []
    if not isinstance(tree, dict) or depth < 0:
        return out
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out.append((name, value))
        elif isinstance(value, dict):
            out += _scalars(value, name + ".", depth - 1)
    return out


def _use_block(load_code: str, extra: str = "") -> str:
    return f"## Use\n\n```python\n{load_code}\n```\n{extra}".rstrip() + "\n"


RESPONSIBLE_USE = ("## Responsible use\n\n"
                   "Animate only people who agreed to it, label the results as synthetic, and do not use the "
                   "outputs to deceive. Talking-face models can be misused for impersonation.\n")


# --------------------------------------------------------------------------- bodies per kind
def facial_gan_body(config: dict, folder: Path, repo_id: str = PLACEHOLDER_REPO) -> str:
    """Card body of a FACIAL-GAN checkpoint (generic or personalised) from its config's provenance."""
    prov = config.get("provenance") or {}
    facts = weights_facts(folder)
    audio = config.get("audio") or {}
    personal = config.get("personalised_for")
    title = f"FACIAL-GAN personalised to {personal}" if personal else "FACIAL-GAN (generic, pretrained)"
    out = [f"# {title}", "",
           "Generator of *FACIAL: Synthesizing Dynamic Talking Face with Implicit Attribute Learning* (Zhang et al., "
           f"ICCV 2021), re-implemented: speech ({'log-mel + phone-posterior' if audio.get('phones') else 'log-mel'} windows) "
           "→ per-frame face parameters — head pose (6), "
           f"blink (1) and expression (K = {config.get('n_expression')}) of the `{config.get('basis_id')}` basis. "
           + ("It was fine-tuned on one speaker's clip; use it for that speaker." if personal else
              "Meant to be personalised on the target speaker's clip (`facial finetune`, or the app's fine-tuning) before use."),
           "",
           _files_table([(CONFIG_FILE, "architecture, audio front end, inference and fine-tuning settings, provenance"),
                         (WEIGHTS_FILE, _weights_line(facts))]),
           "",
           f"Frame rate {_num(config.get('fps'))} fps; audio {_num(audio.get('sample_rate'))} Hz, {audio.get('n_mels')} "
           f"mel bins{' + 40 phone posteriors (pocketsphinx en-us phone loop)' if audio.get('phones') else ''}, "
           f"{_num(audio.get('hop_ms'))} ms hop, a {audio.get('window')}-step window per video frame; "
           f"{config.get('seq_len')}-frame groups.",
           "",
           _use_block(f'from facial.audio2face import FacialGAN\n\nmodel = FacialGAN.from_pretrained("{repo_id}")  # or a local folder',
                      f"\nCommand line: `facial generate --audio2face {repo_id} --audio SPEECH.wav --speaker CLIP.mp4 -o out.mp4`; "
                      f"in the app: `FACIAL_CHECKPOINT={repo_id}`.\n")]
    # ---- data
    clips = prov.get("clips") or []
    speakers = [s for s in (config.get("speakers") or []) if s]
    val_clips = prov.get("validation_clips") or []
    held_out = prov.get("held_out_speakers") or []
    out += ["## Training data", ""]
    if clips:
        out.append(f"- {len(clips)} clips of {len(speakers) or 'unknown'} speakers (listed in `config.json` → "
                   "`provenance.clips` and `speakers`), tracked with MediaPipe FaceMesh at "
                   f"{_num(config.get('fps'))} fps; no footage is stored here.")
    else:
        out.append("- not recorded in this checkpoint's provenance.")
    if val_clips:
        out.append(f"- validation (early stopping): {len(val_clips)} clips of speakers kept out of training: "
                   + ", ".join(f"`{c}`" for c in val_clips) + ".")
    if held_out:
        out.append("- held out entirely (for evaluation): " + ", ".join(f"`{s}`" for s in held_out) + ".")
    out.append("- the clips are research-use talking-head videos; the weights inherit that restriction (see Licence).")
    ft = prov.get("finetune")
    if ft:
        out.append(f"- personalisation: fine-tuned from base weights `{ft.get('base')}` on {_num(ft.get('frames'))} frames "
                   f"of the speaker's clip ({_num(ft.get('steps'))} steps, {_num(ft.get('seconds'))} s).")
    out.append("")
    # ---- training
    train = prov.get("train") or {}
    out += ["## Training", ""]
    if prov.get("command"):
        out.append(f"- command: `{prov['command']}`")
    if train:
        out.append(f"- {_num(prov.get('steps_done'))} of {_num(train.get('steps'))} steps in {_num(prov.get('seconds'))} s on "
                   f"{train.get('device', '?')}; batch {train.get('batch_size')}, lr {_num(train.get('lr'), 6)}, "
                   f"adversarial weight {_num((config.get('losses') or {}).get('adversarial'))}, seed {train.get('seed')}.")
    if prov.get("best_step") is not None:
        out.append(f"- weights kept from step {prov['best_step']} (best validation score).")
    if len(out) and out[-1] == "":
        out.append("- not recorded.")
    out.append("")
    # ---- measured
    out += ["## Measured", "", "| measure | value | on |", "|---|---|---|"]
    rows = 0
    if prov.get("best_score") is not None:
        out.append(f"| zero-shot mouth-opening correlation r (best validation step {prov.get('best_step')}) | "
                   f"{_num(prov['best_score'])} | {len(val_clips)} clips of speakers unseen in training |")
        rows += 1
    validation = prov.get("validation") or []
    if validation:
        last = validation[-1]
        out.append(f"| same, at the last step ({last.get('step')}) | {_num(last.get('score'))} | same clips |")
        rows += 1
    final = prov.get("final_losses") or {}
    if final:
        out.append(f"| training loss at step {final.get('step')} (total) | {_num(final.get('total'))} | training batches |")
        rows += 1
    for name, value in _scalars(prov.get("evaluation") or {}):
        out.append(f"| {name} | {_num(value)} | `provenance.evaluation` |")
        rows += 1
    if not rows:
        out.append("| (nothing recorded in the provenance) | | |")
    out += ["", "The speaker-disjoint protocol (9 speakers in 3 folds, each fold's checkpoint trained with the same recipe "
            "without its speakers; each clip split into a speaker part and a test part; mouth r, mouth error against the "
            "held frame, pose-std and angular-speed ratios, blinks, `sync_*`) is run by `benchmarks/speaker_disjoint.py`; "
            "its numbers are in the project's docs/AUDIO2FACE.md §4 (they describe the recipe, not these exact weights; "
            "the rows from `provenance.evaluation` above are copied from there). Measured there: the head motion matches "
            "the person's own footage after the calibration at generation (`inference.motion_calibration`); several dev "
            "clips carry their own audio–video offset, which training and personalisation take out "
            "(`facial/audio2face/realign.py`) and mouth r is also reported with it taken out; personalisation adds the "
            "lip-sync expert's loss (`finetune.sync`; the protocol gives every fold an expert that never saw its speakers), "
            "which raised the mean mouth r of `fast` there; the adversarial "
            "discriminator does no measurable work (its loss collapses within about 100 steps).", ""]
    out += ["## Licence", "",
            "Code: Apache-2.0. Weights: research use only — they were learnt from research-use footage and inherit its "
            "restriction (`license: other`, `license_name: research-only`).", "", RESPONSIBLE_USE]
    return "\n".join(out)


def renderer_body(config: dict, folder: Path, repo_id: str = PLACEHOLDER_REPO) -> str:
    """Card body of a neural renderer (one speaker's rendering-to-video network)."""
    facts = weights_facts(folder)
    extra = config.get("extra") or {}
    out = ["# FACIAL neural renderer (one speaker)", "",
           "Rendering-to-Video network of FACIAL: a window of textured mesh renders and eye attention maps → "
           "photoreal frames of the speaker it was trained on. Its weights file also holds that speaker's reference "
           "frame (the background it pastes onto), so publish it only with the speaker's consent.", "",
           _files_table([(CONFIG_FILE, "network size, input window, crop box, texture frame index, training summary"),
                         (WEIGHTS_FILE, _weights_line(facts) + "; includes the reference frame")]),
           "",
           f"Output {config.get('size')}² px over the crop box {config.get('box')}, {config.get('window')}-frame input window, "
           f"reference frame {'used' if config.get('use_reference') else 'not used'}.", "",
           _use_block(f'from facial.face2vid import NeuralRenderer\n\nrenderer = NeuralRenderer.from_pretrained("{repo_id}")'),
           "## Measured", "", "| measure | value |", "|---|---|"]
    rows = [(k, v) for k, v in _scalars(extra) if k not in ("steps",)]
    if extra.get("steps") is not None:
        out.append(f"| training steps | {_num(extra['steps'])} |")
    for name, value in rows:
        out.append(f"| {name.replace('_', ' ')} | {_num(value)} |")
    if not extra:
        out.append("| (nothing recorded) | |")
    out += ["", "Held-out numbers are measured on the last frames of the speaker's own clip (not used for training).", "",
            RESPONSIBLE_USE]
    return "\n".join(out)


def basis_body(config: dict, folder: Path, repo_id: str = PLACEHOLDER_REPO) -> str:
    """Card body of the expression basis (PCA over FaceMesh)."""
    facts = weights_facts(folder)
    ratio = config.get("explained_variance_ratio") or []
    clips = config.get("clips") or []
    out = [f"# FACIAL expression basis `{config.get('basis_id')}`", "",
           f"Linear expression basis over the {config.get('n_points')} MediaPipe FaceMesh points: K = {config.get('k')} "
           "orthonormal components of canonical-frame landmark residuals (pose removed). Eye-region points are zero in "
           "every component (blinks are a separate track). Every speaker profile and FACIAL-GAN checkpoint names the basis "
           "it was made with (`basis_id`).", "",
           _files_table([(CONFIG_FILE, "basis id, K, explained variance, the clips it was learnt from"),
                         (WEIGHTS_FILE, _weights_line(facts) + " — `components [K, 478, 3]`, `explained_variance [K]`")]),
           "",
           _use_block(f'from facial.speaker.face_model import ExpressionBasis\n\nbasis = ExpressionBasis.from_pretrained("{repo_id}")'),
           "## Training data", "",
           f"- {len(clips)} clips ({_num(config.get('n_clips'))} tracked, {_num(config.get('n_frames'))} frames), file names "
           "in `config.json` → `clips`; research-use talking-head videos, no footage stored here.",
           f"- {len(config.get('eye_region_excluded') or [])} eye-region points excluded.", "",
           "## Measured", "", "| measure | value |", "|---|---|",
           f"| explained variance, all {config.get('k')} components | {_num(config.get('explained_variance_ratio_total'))} |"]
    if ratio:
        out.append(f"| explained variance, first component | {_num(ratio[0])} |")
        first5 = sum(ratio[:5])
        out.append(f"| explained variance, first 5 components | {_num(first5)} |")
    out += ["", "## Licence", "",
            "Code: Apache-2.0. The basis was learnt from research-use footage and inherits its restriction "
            "(`license: other`, `license_name: research-only`).", ""]
    return "\n".join(out)


def sync_expert_body(config: dict, folder: Path, repo_id: str = PLACEHOLDER_REPO) -> str:
    """Card body of the lip-sync expert: its config and whatever its provenance measured."""
    return generic_body(config, folder, repo_id, kind=get_kind("facial-sync-expert"),
                        load_code=f'from facial.sync_expert.model import SyncExpert\n\nexpert = SyncExpert.from_pretrained("{repo_id}")')


def generic_body(config: dict, folder: Path, repo_id: str = PLACEHOLDER_REPO, *, kind: Kind | None = None,
                 load_code: str | None = None) -> str:
    """Card body of any registered kind: description, files, settings, provenance numbers."""
    kind = kind or kind_for_config(config)
    facts = weights_facts(folder)
    prov = config.get("provenance") or {}
    settings = [(k, v) for k, v in config.items() if k not in ("model_type", "provenance") and isinstance(v, (int, float, str))
                and not isinstance(v, bool)]
    out = [f"# {kind.name}", "", (kind.description[:1].upper() + kind.description[1:] + ".") if kind.description else "", "",
           _files_table([(CONFIG_FILE, f"settings (`model_type: {kind.model_type}`) and provenance"),
                         (WEIGHTS_FILE, _weights_line(facts))]), ""]
    if settings:
        out += ["Settings: " + ", ".join(f"{k} = {_num(v) if not isinstance(v, str) else v}" for k, v in settings) + ".", ""]
    out.append(_use_block(load_code or f'import facial.hub\n\nmodel = facial.hub.from_pretrained("{repo_id}")'))
    data = {k: v for k, v in prov.items() if k in ("data", "command", "clips", "speakers", "val_speakers", "validation_clips")}
    out += ["## Training data", ""]
    if data:
        for key, value in data.items():
            if isinstance(value, list):
                out.append(f"- {key}: {len(value)} (listed in `config.json` → `provenance.{key}`)")
            else:
                out.append(f"- {key}: `{value}`")
    else:
        out.append("- not recorded in this checkpoint's provenance.")
    out += ["", "## Measured", "", "| measure | value |", "|---|---|"]
    numbers = _scalars(prov)
    out += [f"| {name} | {_num(value)} |" for name, value in numbers] or ["| (nothing recorded in the provenance) | |"]
    out += ["", "## Licence", "", "Code: Apache-2.0. Weights learnt from research-use footage inherit its restriction "
            "(`license: other`, `license_name: research-only`).", "", RESPONSIBLE_USE]
    return "\n".join(out)


# --------------------------------------------------------------------------- licences
LICENSE_TEXTS = {
    RESEARCH_LICENSE: (
        "# Research-use only\n\n"
        "These weights were learnt from talking-head videos that may be used for research only. They may be used, "
        "copied and modified for non-commercial research; any redistribution must keep this notice. No rights to the "
        "likeness of the people shown in the training videos are granted. The code that made them is Apache-2.0.\n"),
    "consented-likeness": (
        "# Consented likeness\n\n"
        "This speaker profile represents a real person who, as the publisher states in README.md, agreed to be animated "
        "with FACIAL and to this profile being published. Use it only to make videos that are clearly labelled as "
        "synthetic; do not use it to impersonate, deceive, harass or defame the person, and delete your copies if "
        "the person or the publisher asks. No other rights to the person's likeness are granted.\n"),
}


def license_text(license_name: str | None) -> str | None:
    """The ``LICENSE.md`` published with a ``license: other`` card (None for a standard licence id)."""
    if not license_name:
        return None
    return LICENSE_TEXTS.get(license_name, f"# {license_name}\n\nSee README.md for the terms of use.\n")


# --------------------------------------------------------------------------- cards
def _card(body: str, *, tags: Iterable[str], license: str = "other", license_name: str | None = RESEARCH_LICENSE,
          pipeline_tag: str | None = NO_PIPELINE_TAG, base_model: str | None = None) -> str:
    from huggingface_hub import ModelCard, ModelCardData

    other = license == "other"
    data = ModelCardData(license=license, license_name=license_name if other else None,
                         license_link=LICENSE_FILE if other and license_name else None,
                         library_name=LIBRARY_NAME, tags=list(tags), pipeline_tag=pipeline_tag, base_model=base_model)
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body.rstrip()}\n")
    return str(card)


def model_card(folder: str | Path, *, repo_id: str | None = None) -> str:
    """The card (README.md text) of a checkpoint folder, from its config and weights."""
    folder = Path(folder)
    config = read_config(folder / CONFIG_FILE)
    kind = kind_for_config(config, folder / CONFIG_FILE)
    writer = generic_body
    if kind.card:
        module, _, attr = kind.card.partition(":")
        writer = getattr(importlib.import_module(module), attr)
    body = writer(config, folder, repo_id or PLACEHOLDER_REPO)
    tags = list(kind.tags)
    if kind.model_type == "facial-gan" and config.get("personalised_for"):
        tags.append("personalised")
    return _card(body, tags=tags, license=kind.license, pipeline_tag=kind.pipeline_tag)


def write_card(folder: str | Path, *, repo_id: str | None = None) -> Path:
    """Write ``folder/README.md`` (the card of the checkpoint or speaker profile in ``folder``)."""
    from facial import atomic
    from facial.hub.registry import kind_of

    folder = Path(folder)
    text = speaker_card(folder, repo_id=repo_id) if kind_of(folder) == SPEAKER else model_card(folder, repo_id=repo_id)
    return atomic.write_text(folder / CARD_FILE, text)


def asset_cards(root: str | Path | None = None) -> dict[Path, str]:
    """``{folder/README.md: card text}`` for every packaged checkpoint under ``facial/assets`` (any folder
    with a ``config.json``, including ones added later such as ``sync_expert``)."""
    root = Path(root) if root is not None else assets_dir()
    return {d / CARD_FILE: model_card(d) for d in sorted(root.iterdir()) if (d / CONFIG_FILE).is_file()}


# --------------------------------------------------------------------------- speakers
def speaker_card(folder: str | Path, *, repo_id: str | None = None, consent: str | None = None,
                 license: str = "other", license_name: str | None = "consented-likeness") -> str:
    """The card of a (staged) speaker profile: what is inside, the consent note, the clip's content hash."""
    folder = Path(folder)
    info = json.loads((folder / "profile.json").read_text(encoding="utf-8"))
    hub = info.get("hub") or {}
    consent = consent or hub.get("consent") or ""
    repo = repo_id or PLACEHOLDER_REPO
    name = hub.get("name") or repo.split("/")[-1]
    n, fps = int(info.get("n_frames") or 0), float(info.get("fps") or 25.0)
    rows = [("profile.json", f"frame rate, frame count, size {info.get('size')}, basis `{info.get('basis_id')}`, "
                             "statistics, consent and contents (`hub`)"),
            ("params.safetensors", f"tracked head pose, blink, expression and FaceMesh landmarks of {n} frames "
                                   f"({n / fps:.1f} s at {_num(fps)} fps), identity shape, blink shape")]
    a2f = hub.get("audio2face")
    if a2f:
        cfg = read_config(folder / a2f / CONFIG_FILE) if (folder / a2f / CONFIG_FILE).is_file() else {}
        ft = (cfg.get("provenance") or {}).get("finetune") or {}
        rows.append((f"{a2f}/", f"FACIAL-GAN personalised to this speaker ({_num(ft.get('steps'))} fine-tuning steps on "
                                f"{_num(ft.get('frames'))} frames, from base weights `{ft.get('base')}`)"))
    r = hub.get("face2vid")
    if r:
        cfg = read_config(folder / r / CONFIG_FILE) if (folder / r / CONFIG_FILE).is_file() else {}
        extra = cfg.get("extra") or {}
        measured = ", ".join(f"{k.replace('_', ' ')} {_num(v)}" for k, v in _scalars(extra) if k.startswith("held_out"))
        rows.append((f"{r}/", f"trained neural renderer, {cfg.get('size')}² px{'; ' + measured if measured else ''}; "
                              "its weights hold the speaker's reference frame"))
    if hub.get("footage"):
        rows.append(("frames.mp4", "the speaker's clip (published by its owner, see Consent)"))
    out = [f"# FACIAL speaker: {name}", "",
           "A speaker profile for FACIAL talking faces: what the app and `facial generate` need to animate this person "
           "with new speech — without the original footage" + (" (here the owner also published the clip)." if hub.get("footage") else "."),
           "",
           _files_table(rows), "",
           "## Consent", "",
           "> " + (consent.strip().replace("\n", "\n> ") if consent.strip() else "(no consent note)"), "",
           "The publisher states that the person shown agreed to be animated with FACIAL and to this profile being "
           "published. Ask for its removal through the repository's community tab if that is not so.", "",
           "## Source clip", "",
           f"- content hash (sha256 of the tracked file): `{info.get('source_hash') or 'unknown'}`",
           "- " + ("the clip is included as `frames.mp4` (its owner published it)." if hub.get("footage") else
                   "the clip itself is **not** published; only the tracked parameters and trained networks are."),
           "",
           "## Use", "",
           "```bash",
           f"facial generate --speaker {repo} --audio SPEECH.wav -o out.mp4" + ("" if hub.get("footage") else "   # neural renderer"),
           "```", "",
           f"In the app: `FACIAL_SPEAKERS={repo}` adds it to the gallery of the Generate tab.", "",
           RESPONSIBLE_USE]
    return _card("\n".join(out), tags=["facial", "talking-face", "speaker-profile"], license=license, license_name=license_name)


def main(argv: list[str] | None = None) -> int:
    """``python -m facial.hub.cards [--check]``: rewrite (or check) the cards of facial/assets."""
    import argparse
    import sys

    from facial import atomic

    parser = argparse.ArgumentParser(prog="python -m facial.hub.cards", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale cards (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = []
    for path, text in asset_cards().items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            atomic.write_text(path, text)
    for path in stale:
        print(("stale: " if args.check else "wrote: ") + str(path), file=sys.stderr)
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
