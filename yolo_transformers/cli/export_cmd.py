"""``yolo-hf export``: write a verified ONNX graph or OpenVINO IR of a converted model (folder or Hub repo)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]

EXAMPLES = """examples:
  yolo-hf export yolo11n-hf --format onnx --output yolo11n-hf        # adds onnx/model.onnx to the folder
  yolo-hf export alice/shapes-detector --format openvino --output shapes-ov
  yolo-hf push --model yolo11n-hf --repo alice/yolo11n                # the push then includes onnx/model.onnx

The graph is compared with the PyTorch model on the verification images (Ultralytics' bus.jpg and zidane.jpg, or
--image) and is written only if the predictions match: detections equal, boxes within 0.5 px, scores within 1e-3.
Load it with from_pretrained(DIR, runtime="onnx") or pipeline(..., model_kwargs={"runtime": "onnx"}).
Needs the extra: pip install "yolo-transformers[onnx]" (or [openvino]).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    parser = subparsers.add_parser(
        "export",
        help="export a converted model to ONNX or OpenVINO, verified against the PyTorch model",
        description="Write onnx/model.onnx (ONNX opset 17) or openvino/model.xml + .bin, with dynamic batch and "
        "image size, beside config.json, model.safetensors and preprocessor_config.json.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="a folder written by `yolo-hf convert`, or a Hub repo id")
    parser.add_argument("--format", choices=("onnx", "openvino"), default="onnx", help="graph format (default onnx)")
    parser.add_argument("--output", required=True, type=Path, metavar="DIR",
                        help="folder to write (may be MODEL's own folder)")
    parser.add_argument("--revision", metavar="REV", help="branch, tag or commit of a Hub repo (default: main)")
    parser.add_argument("--token", metavar="TOKEN", help="token for a private repo (default: HF_TOKEN)")
    parser.add_argument("--image", action="append", type=Path, dest="images", metavar="IMAGE",
                        help="verification image (repeatable; default: Ultralytics' sample images)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, print the verification and where the graph went. Returns the exit code."""
    from transformers import AutoImageProcessor, AutoModel

    from ..runtime.export import ONNX_OPSET, export_model

    hub = {"revision": args.revision, "token": args.token}
    model = AutoModel.from_pretrained(args.model, **hub).eval()
    processor = AutoImageProcessor.from_pretrained(args.model, **hub)
    result = export_model(model, args.output, args.format, processor=processor, images=args.images,
                          opset=args.opset or ONNX_OPSET)
    print(result.report.summary())
    for name in result.files:
        print(f"wrote {result.output_dir / name}")
    return 0
