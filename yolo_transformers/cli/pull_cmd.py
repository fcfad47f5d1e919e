"""``yolo-hf pull``: download a model from the Hub, as a transformers folder or an Ultralytics ``.pt``."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]

EXAMPLES = """examples:
  yolo-hf pull --repo alice/shapes-detector                          # into the Hugging Face cache; prints the folder
  yolo-hf pull --repo alice/shapes-detector --revision v1.0 --output shapes-v1
  yolo-hf pull --repo alice/shapes-detector --format ultralytics --output .   # writes ./shapes-detector.pt
  yolo predict model=shapes-detector.pt source=image.jpg             # then use it with Ultralytics

--revision takes a branch, a tag or a commit sha. Private repos need a token that can read them
(--token, HF_TOKEN or `hf auth login`). With HF_HUB_OFFLINE=1 a model pulled before is served from the cache.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pull`` sub-command."""
    parser = subparsers.add_parser(
        "pull",
        help="download a model repo as a transformers folder or an Ultralytics .pt",
        description="Download config, safetensors weights and preprocessor config of a yolo-transformers model "
        "(never a pickle); with --format ultralytics, also write a .pt that ultralytics.YOLO loads.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repo", required=True, metavar="USER/NAME", help="model repo to download")
    parser.add_argument("--revision", metavar="REV", help="branch, tag or commit sha (default: main)")
    parser.add_argument("--output", type=Path, metavar="DIR", help="folder to write to (default: the HF cache)")
    parser.add_argument("--format", choices=("hf", "ultralytics"), default="hf",
                        help="hf: transformers folder (default); ultralytics: a .pt for ultralytics.YOLO")
    parser.add_argument("--token", metavar="TOKEN",
                        help="token for private repos (default: HF_TOKEN, then `hf auth login`)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Download and print the local path. Returns the exit code."""
    from ..hub.download import download_model

    path = download_model(
        args.repo, revision=args.revision, local_dir=args.output, token=args.token, format=args.format
    )
    print(path)
    return 0
