"""Training: ``yolo train`` against our ``Trainer`` recipe, side by side in one run (CPU), same init and data.

For each configuration both contenders start from the same random ``yolov8n.yaml`` weights (one ``.pt``, seeded;
ours converts it), train on the same generated YOLO detection folder with the same epochs, batch and image size,
and are scored by Ultralytics' ``val`` (default ``rect=True``) on the same validation split (ours is exported back
to a ``.pt`` with ``save_ultralytics_checkpoint`` for that). Time per epoch is the training part of each epoch
(epoch start to epoch end callbacks, no validation), at the same thread count: the one Ultralytics' trainer sets for
CPU training (``min(8, cpus - 1)``: 1 on a 2-core machine), which ours then uses too.

Configurations:

* ``shifted``: validation objects are smaller or larger than any in training, on smooth random-colour backgrounds
  (training: mid-size objects on grey noise), so augmentation (scale, HSV, mosaic) matters;
* ``easy``: validation images drawn like the training ones.

Ours = ``fine_tune(..., augment=True, recipe=UltralyticsRecipe())``: Ultralytics' augmentation classes, optimiser
groups, warmup/decay, nominal batch size and EMA inside ``transformers.Trainer``.

Targets: ours >= 1.0x ``yolo train``'s mAP50-95 and <= 1.1x its time per epoch.

Run: ``python benchmarks/training.py --epochs 15 --imgsz 128`` (``--help``). Minutes per epoch on a shared CPU.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
# benchmarks/datasets.py would shadow the `datasets` package for a script run from this folder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

CLASSES = ["rectangle", "ellipse", "triangle"]
TARGETS = {"map": 1.0, "time": 1.1}
_COLOURS = [(0, 0, 220), (220, 60, 0), (40, 200, 40)]


def _background(rng: np.random.Generator, size: int, textured: bool) -> np.ndarray:
    """Grey noise (training look) or a smooth random colour field with grain (the shifted look)."""
    import cv2

    if not textured:
        return rng.integers(90, 140, size=(size, size, 3), dtype=np.uint8)
    coarse = rng.integers(30, 230, size=(4, 4, 3), dtype=np.uint8)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    return np.clip(smooth + rng.integers(-15, 16, size=(size, size, 1)), 0, 255).astype(np.uint8)


def _draw(rng: np.random.Generator, size: int, shifted: bool) -> tuple[np.ndarray, list[list[float]]]:
    """One image with 1-3 objects and its YOLO labels.

    Training look: objects of ``size/6``-``size/2.5`` anywhere on grey noise. Shifted look: half the objects smaller
    (``size/9``-``size/6``) and half larger (``size/2.5``-``size/1.8``) than any training object, on a smooth
    random-colour background.
    """
    import cv2

    image = _background(rng, size, textured=shifted)
    labels = []
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.integers(0, len(CLASSES)))
        if shifted and rng.random() < 0.5:  # smaller than any training object
            w, h = (int(v) for v in rng.integers(max(size // 9, 6), size // 6, size=2))
        elif shifted:  # larger than any training object
            w, h = (int(v) for v in rng.integers(int(size / 2.5), int(size / 1.8), size=2))
        else:
            w, h = (int(v) for v in rng.integers(size // 6, int(size // 2.5), size=2))
        x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        if cls == 0:
            cv2.rectangle(image, (x0, y0), (x0 + w - 1, y0 + h - 1), _COLOURS[0], thickness=-1)
        elif cls == 1:
            cv2.ellipse(image, (x0 + w // 2, y0 + h // 2), (w // 2, h // 2), 0, 0, 360, _COLOURS[1], thickness=-1)
        else:
            corners = np.array([[x0 + w // 2, y0], [x0, y0 + h - 1], [x0 + w - 1, y0 + h - 1]], np.int32)
            cv2.fillPoly(image, [corners], _COLOURS[2])
        labels.append([cls, (x0 + w / 2) / size, (y0 + h / 2) / size, w / size, h / size])
    return image, labels


def make_dataset(root: Path, *, train: int, val: int, shifted: bool, size: int, seed: int = 0) -> Path:
    """Write a YOLO detection folder; the validation split is shifted when ``shifted``. Returns ``data.yaml``."""
    import cv2

    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image, labels = _draw(rng, size, shifted=shifted and split == "val")
            cv2.imwrite(str(root / "images" / split / f"{index:04d}.png"), image)
            lines = "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in labels)
            (root / "labels" / split / f"{index:04d}.txt").write_text(lines)
    names = "".join(f"  {i}: {n}\n" for i, n in enumerate(CLASSES))
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}")
    return root / "data.yaml"


def _initial_checkpoint(folder: Path, seed: int) -> Path:
    """The shared random initialisation: ``yolov8n.yaml`` with 3 classes, seeded, saved as an Ultralytics ``.pt``."""
    from ultralytics import YOLO

    path = folder / "init-random.pt"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = YOLO("yolov8n.yaml")
        model.model.yaml["nc"] = len(CLASSES)
        from ultralytics.nn.tasks import DetectionModel

        model.model = DetectionModel(model.model.yaml, nc=len(CLASSES), verbose=False)
        model.model.names = dict(enumerate(CLASSES))
        model.save(str(path))
    return path


def _ultralytics_val(weights: Path, data_yaml: Path, imgsz: int, batch: int) -> float:
    """mAP50-95 of ``weights`` by Ultralytics' default ``val`` on the val split."""
    from ultralytics import YOLO

    metrics = YOLO(str(weights)).val(data=str(data_yaml), imgsz=imgsz, batch=batch, workers=0, plots=False,
                                     verbose=False, device="cpu")  # fmt: skip
    return float(metrics.box.map)


def run_ultralytics(init: Path, data_yaml: Path, work: Path, args: argparse.Namespace) -> tuple[float, float]:
    """``yolo train`` from ``init``: ``(mAP50-95, seconds per epoch)``."""
    from ultralytics import YOLO

    model = YOLO(str(init))
    epoch_times: list[float] = []
    started: list[float] = []
    model.add_callback("on_train_epoch_start", lambda trainer: started.append(time.perf_counter()))
    model.add_callback("on_train_epoch_end", lambda trainer: epoch_times.append(time.perf_counter() - started[-1]))
    model.train(data=str(data_yaml), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, workers=0,
                device="cpu", seed=args.seed, deterministic=True, plots=False, amp=False, val=False,
                close_mosaic=args.close_mosaic, project=str(work), name="ultralytics", exist_ok=True,
                verbose=False)  # fmt: skip
    weights = work / "ultralytics" / "weights" / "last.pt"
    return _ultralytics_val(weights, data_yaml, args.imgsz, args.batch), float(np.mean(epoch_times))


def run_ours(init: Path, data_yaml: Path, work: Path, args: argparse.Namespace) -> tuple[float, float]:
    """Our ``fine_tune`` with Ultralytics' recipe from ``init``: ``(mAP50-95, seconds per epoch)``."""
    from transformers import TrainerCallback

    from yolo_transformers import YoloForObjectDetection
    from yolo_transformers.convert import convert_checkpoint
    from yolo_transformers.convert.to_ultralytics import save_ultralytics_checkpoint
    from yolo_transformers.data import load_yolo_dataset
    from yolo_transformers.training.fine_tune import fine_tune
    from yolo_transformers.training.recipe import UltralyticsRecipe

    class EpochTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.start = 0.0

        def on_epoch_begin(self, *unused, **kwargs) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, *unused, **kwargs) -> None:
            self.times.append(time.perf_counter() - self.start)

    folder = convert_checkpoint(init, work / "ours-init", verify=False).output_dir
    model = YoloForObjectDetection.from_pretrained(folder)
    model.config.image_size = args.imgsz
    dataset = load_yolo_dataset(data_yaml)
    timer = EpochTimer()
    fine_tune(model, {"train": dataset["train"]}, work / "ours", epochs=args.epochs, batch_size=args.batch,
              image_size=args.imgsz, seed=args.seed, augment=True, augmentation={"close_mosaic": args.close_mosaic},
              recipe=UltralyticsRecipe(), show_progress=False,
              callbacks=[timer])  # fmt: skip
    weights = save_ultralytics_checkpoint(model, work / "ours.pt")
    return _ultralytics_val(weights, data_yaml, args.imgsz, args.batch), float(np.mean(timer.times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--train", type=int, default=300, help="training images")
    parser.add_argument("--val", type=int, default=60, help="validation images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--close-mosaic", type=int, default=10, help="mosaic off for the last N epochs (both)")
    parser.add_argument("--configs", default="shifted,easy")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both (default: what Ultralytics' trainer sets, min(8, cpus - 1))")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads is None:  # Ultralytics' select_device sets this for CPU training, whatever the caller chose
        from ultralytics.utils import NUM_THREADS

        args.threads = NUM_THREADS
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="yolo-train-bench-") as tmp:
        work = Path(tmp)
        init = _initial_checkpoint(work, args.seed)
        for config in args.configs.split(","):
            data_yaml = make_dataset(work / config, train=args.train, val=args.val, shifted=config == "shifted",
                                     size=args.imgsz, seed=args.seed + 1)  # fmt: skip
            theirs = run_ultralytics(init, data_yaml, work / f"{config}-runs", args)
            torch.set_num_threads(args.threads)  # Ultralytics' select_device sets its own
            ours = run_ours(init, data_yaml, work / f"{config}-runs", args)
            rows.append((config, theirs, ours))
            print(f"{config}: yolo train mAP50-95 {theirs[0]:.3f} ({theirs[1]:.1f} s/epoch), "
                  f"ours {ours[0]:.3f} ({ours[1]:.1f} s/epoch)", flush=True)  # fmt: skip
    print(f"\n{args.train} train / {args.val} val images, imgsz {args.imgsz}, batch {args.batch}, "
          f"{args.epochs} epochs (close_mosaic {args.close_mosaic}), {args.threads} threads, yolov8n from the same "
          "random init\n")
    print("| configuration | `yolo train` mAP50-95 | ours mAP50-95 | ratio | `yolo train` s/epoch | ours s/epoch | ratio |")
    print("|---|---|---|---|---|---|---|")
    for config, (their_map, their_time), (our_map, our_time) in rows:
        map_ratio = our_map / their_map if their_map else math.inf
        time_ratio = our_time / their_time
        verdict = ("met" if map_ratio >= TARGETS["map"] else "NOT met") + " / " + (
            "met" if time_ratio <= TARGETS["time"] else "NOT met")
        print(f"| {config} | {their_map:.3f} | {our_map:.3f} | {map_ratio:.2f}x | {their_time:.1f} | {our_time:.1f} | "
              f"{time_ratio:.2f}x | {verdict}")


if __name__ == "__main__":
    main()
