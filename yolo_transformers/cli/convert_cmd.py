"""``yolo-hf convert`` and ``python -m yolo_transformers.convert``: one command, two names."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..convert.converter import DTYPES, convert_checkpoint
from ..errors import YoloTransformersError
from .parser import CommandParser, configure_logging

EXAMPLES = """examples:
  yolo-hf convert runs/detect/train/weights/best.pt --output my-detector
  yolo-hf convert yolo26n.pt --end-to-end --output yolo26n-hf       # NMS-free head
  yolo-hf convert best.pt --image street.jpg --image shelf.jpg      # verify on your own photos
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` sub-command."""
    parser = subparsers.add_parser(
        "convert",
        help="convert an Ultralytics .pt into a transformers folder and prove parity",
        description="Convert an Ultralytics checkpoint to config.json + model.safetensors + preprocessor_config.json, "
        "after checking that raw outputs and detections match Ultralytics.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the converter's arguments to ``parser`` (shared by ``python -m`` and ``yolo-hf convert``)."""
    parser.add_argument("checkpoint", help="Ultralytics .pt file (best.pt/last.pt), or an official name like yolo11n.pt")
    parser.add_argument("-o", "--output", type=Path, help="folder to write (default: <checkpoint stem>-hf next to it)")
    head = parser.add_mutually_exclusive_group()
    head.add_argument("--end-to-end", dest="end_to_end", action="store_true", default=None,
                      help="YOLOv10/YOLO26: predict with the NMS-free one-to-one head (Ultralytics nms=False)")
    head.add_argument("--nms", dest="end_to_end", action="store_false",
                      help="predict with the one-to-many head plus NMS (Ultralytics' default)")
    parser.add_argument("--image", action="append", type=Path, dest="images",
                        help="real image for the parity check (repeatable; default: Ultralytics' bus.jpg, zidane.jpg)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32", help="dtype of the saved weights")
    parser.add_argument("--no-verify", action="store_true", help="skip the parity check (not recommended)")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="unpickle without the allowlist (custom modules in a checkpoint you trust)")
    parser.add_argument("--overwrite", action="store_true", help="allow writing into a non-empty --output folder")
    parser.add_argument("--push-to-hub", metavar="REPO", help="also push the converted model to this Hub repo")
    parser.add_argument("--token", help="Hub token for --push-to-hub (default: HF_TOKEN or `hf auth login`)")
    parser.add_argument("--private", action="store_true", help="create the --push-to-hub repo as private")


def run(args: argparse.Namespace) -> int:
    """Run a conversion from parsed arguments; print the parity numbers. Returns the exit code."""
    output = args.output or Path(args.checkpoint).with_name(Path(args.checkpoint).stem + "-hf")
    result = convert_checkpoint(
        args.checkpoint,
        output,
        end_to_end=args.end_to_end,
        verify=not args.no_verify,
        verify_images=args.images,
        trust_checkpoint=args.trust_checkpoint,
        dtype=args.dtype,
        overwrite=args.overwrite,
    )
    if result.report is not None:
        print(result.report.summary())
    else:
        print("parity check skipped (--no-verify)")
    print(f"saved {result.model.config.task} model to {result.output_dir}")
    if args.push_to_hub:
        from ..hub.upload import upload_model

        url = upload_model(result.output_dir, args.push_to_hub, token=args.token, private=args.private)
        print(f"pushed to {url}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m yolo_transformers.convert``."""
    parser = CommandParser(
        prog="python -m yolo_transformers.convert",
        description="Convert an Ultralytics checkpoint to a transformers model folder and prove parity.",
        epilog="example: python -m yolo_transformers.convert runs/detect/train/weights/best.pt --output my-model",
        top_level=True,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    configure_logging(args)
    try:
        return run(args)
    except (YoloTransformersError, FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

