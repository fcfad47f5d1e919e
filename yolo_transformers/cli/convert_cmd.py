"""``yolo-hf convert``: the same command as ``python -m yolo_transformers.convert``."""

from __future__ import annotations

import argparse

from ..convert import add_arguments, run

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
