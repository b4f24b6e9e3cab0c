"""``facial publish``: a checkpoint folder or a speaker profile → a Hugging Face Hub repo.

```
facial publish PATH --repo OWNER/NAME [--private] [--revision BRANCH] [--message TEXT]
               [--consent "NOTE"] [--include-footage] [--license ID] [--dry-run]
```
What PATH is comes from its files: ``config.json`` with a registered ``model_type`` (FACIAL-GAN,
neural renderer, sync expert, expression basis) or ``profile.json`` (a speaker). A fresh model card
is written for the upload; the folder itself is not changed. Speakers need ``--consent`` (the
person agreed to be animated) and are published without their footage unless ``--include-footage``
is given for a clip you own. The token is the Hub's usual one (``HF_TOKEN`` or ``hf auth login``).
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def cmd_publish(args: argparse.Namespace) -> int:
    """Handler of ``facial publish``; 0 on success, 1 when the Hub refused or failed, 2 for bad input."""
    from facial.hub import publish
    from facial.hub.upload import HubUploadError, check_repo_id, stage

    path = Path(args.path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such folder (give a checkpoint folder or a speaker profile folder)")
    repo = check_repo_id(args.repo)
    if args.dry_run:
        with tempfile.TemporaryDirectory(prefix="facial-publish-") as tmp:
            kind, files = stage(path, Path(tmp) / "upload", repo_id=repo, consent=args.consent,
                                include_footage=args.include_footage, license=args.license)
        print(f"would publish {path} ({kind}) to {repo}@{args.revision or 'main'}: {', '.join(files)}")
        return 0
    try:
        result = publish(path, repo, private=True if args.private else None, revision=args.revision,
                         commit_message=args.message, consent=args.consent, include_footage=args.include_footage,
                         license=args.license)
    except HubUploadError as exc:  # refused or failed by the Hub (bad input is a ValueError: exit 2 in facial.cli.main)
        log.error("%s", exc)
        return 1
    print(f"published {path} ({result.kind}) → {result.url}")
    if result.commit_url:
        print(f"commit: {result.commit_url}")
    return 0


def register(subparsers) -> None:
    """Add ``publish`` to the ``facial`` CLI's sub-parsers."""
    p = subparsers.add_parser("publish", help="publish a checkpoint folder or a speaker profile to the Hugging Face Hub",
                              description="Publish a checkpoint folder (config.json + model.safetensors) or a speaker "
                                          "profile to a Hugging Face Hub model repo, with a model card written from its "
                                          "config. The token comes from HF_TOKEN or `hf auth login`.")
    p.add_argument("path", type=Path, help="checkpoint folder or speaker profile folder")
    p.add_argument("--repo", required=True, help="target repo id, owner/name (created when missing)")
    p.add_argument("--private", action="store_true", help="create the repo private (an existing repo keeps its visibility)")
    p.add_argument("--revision", help="branch to commit to (created from main when missing; default main)")
    p.add_argument("-m", "--message", help="commit message (default: 'Publish <kind> with facial')")
    p.add_argument("--consent", help="speakers: note that the person agreed to be animated and published (required)")
    p.add_argument("--include-footage", action="store_true",
                   help="speakers: also publish the clip (frames.mp4) — only footage you own and may publish")
    p.add_argument("--license", help="speakers: the card's licence id (default: other)")
    p.add_argument("--dry-run", action="store_true", help="list what would be published and stop (no network)")
    p.set_defaults(func=cmd_publish)
