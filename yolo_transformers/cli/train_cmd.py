"""``yolo-hf train``: fine-tune a YOLO model with ``transformers.Trainer``, evaluate it, save it, push it."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
  yolo-hf train my-detector shapes/data.yaml --epochs 10                       # converted folder, YOLO dataset
  yolo-hf train runs/detect/train/weights/best.pt alice/shapes --epochs 30 --output shapes-ft
  yolo-hf train alice/coco-detector alice/ppe --classes-from-data --epochs 50 --push-to-hub alice/ppe-detector

MODEL: a folder written by `yolo-hf convert`, a Hub model id, or an Ultralytics .pt (converted and verified first).
DATA: a YOLO data.yaml or folder, a folder written by Dataset(Dict).save_to_disk, or a Hub dataset id.
--classes-from-data re-heads the model to the dataset's classes: the class layers are re-initialised (as
from_pretrained(..., id2label=..., ignore_mismatched_sizes=True) does), every other weight is kept.
At the end the model is evaluated on the validation split; the metrics go into config.json and the model card.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a model on a dataset with transformers' Trainer, evaluate, save and push",
        description="Fine-tune a YOLO model of any task with transformers' Trainer and Ultralytics' recipe (the "
        "task's augmentation as Ultralytics trains it, "
        "optimiser groups, warmup and decay, nominal batch size 64, EMA) on a YOLO, saved or Hub dataset; evaluate "
        "it on the validation split, save it (with the metrics in config.json) and optionally push it to the Hub.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="converted folder, Hub model id, or Ultralytics .pt")
    parser.add_argument("data", metavar="DATA", help="YOLO data.yaml or folder, save_to_disk folder, or Hub dataset id")
    parser.add_argument("--epochs", type=float, required=True, help="training epochs")
    parser.add_argument("--output", type=Path, help="output folder (default: <model name>-finetuned)")
    parser.add_argument("--batch", type=int, default=16, help="images per step (default 16)")
    parser.add_argument("--imgsz", type=int, help="training and evaluation size (default: the model's)")
    parser.add_argument("--optimizer", default="auto", choices=["auto", "AdamW", "Adam", "SGD"],
                        help="Ultralytics' optimizer choice (default auto: AdamW at a class-count-fitted lr)")
    parser.add_argument("--lr0", type=float, default=0.01, help="initial learning rate (ignored by --optimizer auto)")
    parser.add_argument("--lrf", type=float, default=0.01, help="final learning rate fraction (default 0.01)")
    parser.add_argument("--cos-lr", action="store_true", help="cosine instead of linear learning-rate decay")
    parser.add_argument("--no-ema", action="store_true", help="save the raw weights instead of their EMA")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-augment", action="store_true",
                        help="letterbox only, without Ultralytics' training augmentation of the task (mosaic, "
                        "perspective, HSV, flips; classify: random resized crop, RandAugment, erasing)")
    parser.add_argument("--classes-from-data", action="store_true",
                        help="re-head the model to the dataset's classes (new class layers, other weights kept)")
    parser.add_argument("--push-to-hub", metavar="USER/NAME", help="push the trained model to this Hub repo")
    parser.add_argument("--private", action="store_true", help="create the pushed repo as private")
    parser.add_argument("--revision", help="model revision (branch, tag or commit) on the Hub")
    parser.add_argument("--token", metavar="TOKEN", help="Hub token (default: HF_TOKEN, then `hf auth login`)")
    parser.set_defaults(func=run)


def _model_folder(model: str, work: Path) -> str:
    """A converted folder or Hub id for ``model``: an Ultralytics ``.pt`` is converted (and verified) first."""
    if Path(model).suffix in {".pt", ".pth"} and Path(model).is_file():
        from ..convert import convert_checkpoint

        print(f"converting {model} (verified against Ultralytics)")
        return str(convert_checkpoint(model, work / "converted").output_dir)
    return model


def run(args: argparse.Namespace) -> int:
    """Train, evaluate, save, push. Returns the exit code."""
    from transformers import AutoModel

    from ..training.fine_tune import dataset_classes, fine_tune, load_for_dataset
    from ..training.recipe import UltralyticsRecipe
    from .eval_cmd import load_data

    data = load_data(args.data, None)
    if not hasattr(data, "keys"):  # a YOLO data.yaml / folder
        from ..data.from_yolo import load_yolo_dataset

        data = load_yolo_dataset(data)
    classes = dataset_classes(data) if args.classes_from_data else None
    output = args.output or Path(f"{Path(args.model.rstrip('/')).stem or 'model'}-finetuned")
    with tempfile.TemporaryDirectory(prefix="yolo-hf-train-") as work:
        source = _model_folder(args.model, Path(work))
        extra = {"revision": args.revision} if args.revision else {}
        if args.token:
            extra["token"] = args.token
        model = load_for_dataset(AutoModel, source, classes, **extra)
        if classes is not None:
            print(f"re-headed to the dataset's {len(classes)} classes: {', '.join(classes.values())}")
        result = fine_tune(model, data, output, epochs=args.epochs, batch_size=args.batch, image_size=args.imgsz,
                           seed=args.seed, dataset_name=args.data, augment=not args.no_augment,
                           recipe=UltralyticsRecipe(optimizer=args.optimizer, lr0=args.lr0, lrf=args.lrf,
                                                    cos_lr=args.cos_lr, ema=not args.no_ema))  # fmt: skip
    print(f"saved {output}")
    for name, value in result.metrics.items():
        print(f"{name:<10} {value:.4f}")
    if args.push_to_hub:
        url = result.model.push_to_hub(args.push_to_hub, token=args.token, private=args.private)
        print(f"pushed to {url}")
    return 0
