"""``yolo-hf eval``: Ultralytics-equal metrics of a converted model of any task on a YOLO or Hub dataset."""

from __future__ import annotations

import argparse
import json
import os

__all__ = ["register", "run", "load_data"]

EXAMPLES = """examples:
  yolo-hf eval my-detector shapes/data.yaml                 # converted folder, YOLO dataset (val split)
  yolo-hf eval alice/shapes-detector alice/shapes --split validation   # Hub model and Hub dataset
  yolo-hf eval my-detector shapes/data.yaml --imgsz 640 --batch 16 --json

Detection: pycocotools' 101-point COCO AP with Ultralytics val's settings (confidence 0.001, multi-label NMS at
IoU 0.7, 300 detections per image); precision and recall at the best mean-F1 confidence. Other tasks: Ultralytics'
own validator scores the model's predictions: box+mask mAP (segment), box+pose mAP with OKS (pose), rotated mAP
(obb), top-1/top-5 (classify), mIoU and pixel accuracy (semantic), delta1-3, abs_rel, rmse, silog (depth).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` sub-command."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model of any task: mAP (detect, segment, pose, obb), accuracy, mIoU, depth metrics",
        description="Evaluate a transformers YOLO model (folder or Hub repo) of any task on a dataset of that task: a "
        "YOLO data.yaml / folder, a dataset saved with save_to_disk, or a Hub dataset id.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="converted model folder or Hub repo id")
    parser.add_argument("data", metavar="DATA", help="YOLO data.yaml or folder, save_to_disk folder, or Hub dataset id")
    parser.add_argument("--split", help="split to evaluate (default: validation, val, valid or test)")
    parser.add_argument("--imgsz", type=int, help="square letterbox size (default: the model's image size)")
    parser.add_argument("--batch", type=int, default=8, help="images per forward pass (default 8)")
    parser.add_argument("--conf", type=float, help="confidence threshold (default Ultralytics val's: 0.001, obb 0.01)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    parser.add_argument("--max-det", type=int, default=300, help="detections per image (default 300)")
    parser.add_argument("--revision", help="model revision (branch, tag or commit) on the Hub")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(func=run)


def load_data(data: str, split: str | None):
    """A YOLO dataset path, a ``save_to_disk`` folder or a Hub dataset id, as ``datasets`` objects."""
    import datasets

    if os.path.exists(data):
        if os.path.isdir(data) and any(
            os.path.exists(os.path.join(data, name)) for name in ("dataset_dict.json", "dataset_info.json")
        ):
            return datasets.load_from_disk(data)
        return data  # a YOLO data.yaml or folder: evaluation_split converts it
    return datasets.load_dataset(data, split=split) if split else datasets.load_dataset(data)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the metrics. Returns the exit code."""
    from ..auto import model_class_for_task
    from ..configuration_yolo import YoloConfig
    from ..training.evaluation import evaluate, evaluation_split

    config = YoloConfig.from_pretrained(args.model, revision=args.revision)
    model = model_class_for_task(config.task).from_pretrained(args.model, revision=args.revision)
    dataset = evaluation_split(load_data(args.data, args.split), args.split)
    metrics = evaluate(
        model, dataset, batch_size=args.batch, conf_threshold=args.conf, iou_threshold=args.iou,
        max_det=args.max_det, image_size=args.imgsz,
    )  # fmt: skip
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{'images':<10} {len(dataset)}")
    for name, value in metrics.items():
        print(f"{name:<10} {value:.4f}")
    return 0
