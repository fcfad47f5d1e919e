"""``yolo-hf push``: upload a checkpoint or converted folder to the Hub as one commit."""

from __future__ import annotations

import argparse
from pathlib import Path

from .commit_options import add_commit_arguments, print_commit

__all__ = ["register", "run"]

EXAMPLES = """examples:
  yolo-hf push --model runs/detect/train/weights/best.pt --repo alice/shapes-detector
  yolo-hf push --model best-hf/ --repo alice/shapes-detector --tag v1.0 --message "retrained on 2k more images"
  yolo-hf push --model best.pt --repo acme/detector --private              # a new private repo of an organization
  yolo-hf push --model best.pt --repo alice/shapes-detector --revision experiment   # branch, created from main

authentication (first found wins): --token, the HF_TOKEN environment variable, `hf auth login`.
The token needs the write scope: a 'write' token, or a fine-grained one with repo.write on the repo or namespace.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``push`` sub-command."""
    parser = subparsers.add_parser(
        "push",
        help="push a .pt or converted folder to a Hub model repo (one commit, with a model card)",
        description="Upload config.json, model.safetensors, preprocessor_config.json, a model card and its "
        "training curves as one commit. A .pt is converted and checked against Ultralytics first.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, type=Path, metavar="PATH",
                        help="Ultralytics .pt checkpoint, or a folder written by `yolo-hf convert`")
    add_commit_arguments(parser, kind="model", default_message="model, classes, metrics, source")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--image", action="append", type=Path, dest="images", metavar="IMAGE",
                        help="image for the .pt parity check (repeatable; default: Ultralytics' sample images)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Push and print where the model went. Returns the exit code."""
    from ..hub.upload import upload_model

    result = upload_model(
        args.model,
        args.repo,
        token=args.token,
        private=args.private,
        revision=args.revision,
        tag=args.tag,
        commit_message=args.message,
        create_pr=args.create_pr,
        overwrite_card=args.overwrite_card,
        verify_images=args.images,
    )
    print_commit(args.model, result, changed=result.changed)
    return 0
