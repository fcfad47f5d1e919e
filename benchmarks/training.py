"""Training: ``yolo train`` against our ``Trainer`` recipe, side by side in one run (CPU), same init and data.

For each configuration both contenders start from the same random ``yolov8n.yaml`` weights (one ``.pt``, seeded;
ours converts it), train on the same generated YOLO detection folder with the same epochs, batch and image size,
and are scored by Ultralytics' ``val`` (default ``rect=True``) on the same validation split (ours is exported back
to a ``.pt`` with ``save_ultralytics_checkpoint`` for that). Both run at the thread count Ultralytics' trainer sets
for CPU training (``min(8, cpus - 1)``: 1 on a 2-core machine), with no dataloader workers (Ultralytics' trainer
forces ``workers=0`` on CPU).

Seconds per epoch measure the same work on both sides: epoch start to epoch end (data loading and augmentation,
forward, loss, backward, optimizer steps, EMA updates, per-step logging), without validation or checkpointing
(``yolo train`` runs with ``val=False`` so it validates only after its last epoch, outside the clock; ours does not
evaluate during training). s/step is s/epoch over the batches of an epoch.

Configurations (300 training images of 1-3 filled shapes, 3 classes; see ``_draw``):

* ``shifted``: training objects are mid-sized, inside the central part of the image, on one dull background each;
  validation objects are 0.55-0.75x or 1.3-1.5x those sizes, anywhere in the image, on a four-tile background, under
  a global saturation/brightness gain. Every shift stays inside what Ultralytics' default augmentation draws
  (``scale=0.5``, ``translate=0.1`` and mosaic's placement, mosaic's tiling, ``hsv_s=0.7``/``hsv_v=0.4``), so a
  trainer that augments like Ultralytics can learn it and a letterbox-only one (``--letterbox-baseline``) cannot;
* ``easy``: validation images drawn like the training ones.

Ours = ``fine_tune(..., augment=True, recipe=UltralyticsRecipe())``: Ultralytics' augmentation classes, optimiser
groups, warmup/decay, nominal batch size and EMA inside ``transformers.Trainer``.

Targets: ours >= 1.0x ``yolo train``'s mAP50-95 and <= 1.1x its time per epoch.

Run: ``python benchmarks/training.py --epochs 20`` (``--help``): both configurations, four 20-epoch trainings at
imgsz 128; see the README's "Training benchmark" section for the wall time.
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
_COLOURS = np.array([(40, 40, 210), (210, 90, 30), (50, 190, 50)], dtype=np.int16)  # BGR per class

#: Training objects: sides in [size/6, size/3], inside the central [0.2, 0.8] square of the image.
_TRAIN_SIDES, _TRAIN_AREA = (1 / 6, 1 / 3), (0.2, 0.8)
#: Shifted validation: object sides x [0.55, 0.75] or x [1.3, 1.5] (Ultralytics' ``scale=0.5`` draws 0.5-1.5x),
#: anywhere in the image (``translate`` and mosaic move training objects there), on a four-tile background split at
#: a random point (what mosaic composes), under a global HSV gain within ``hsv_v=0.4`` / ``hsv_s=0.7``.
_SHIFT_SCALES = ((0.55, 0.75), (1.3, 1.5))
_SHIFT_VALUE, _SHIFT_SATURATION = ((0.6, 0.75), (1.25, 1.4)), ((0.5, 0.7), (1.3, 1.6))


def _tile(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A training-look background: a random dull colour (grey 90-160, tint +-20) with per-pixel grain +-20."""
    base = rng.integers(90, 161) + rng.integers(-20, 21, size=3)
    grain = rng.integers(-20, 21, size=(height, width, 1))
    return np.clip(base + grain, 0, 255).astype(np.int16)


def _either(rng: np.random.Generator, ranges: tuple[tuple[float, float], ...]) -> float:
    """A draw from one of ``ranges`` picked at random."""
    low, high = ranges[int(rng.integers(0, len(ranges)))]
    return float(rng.uniform(low, high))


def _hsv_gain(image: np.ndarray, saturation: float, value: float) -> np.ndarray:
    """Scale saturation and value of a BGR image (as Ultralytics' ``RandomHSV`` does with its gains)."""
    import cv2

    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] *= saturation
    hsv[..., 2] *= value
    return cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)


def _draw(rng: np.random.Generator, size: int, shifted: bool) -> tuple[np.ndarray, list[list[float]]]:
    """One ``size`` x ``size`` BGR image with 1-3 filled shapes and its YOLO labels ``[cls, cx, cy, w, h]``.

    Training look: sides in ``_TRAIN_SIDES`` x ``size``, inside ``_TRAIN_AREA``, on one :func:`_tile`. Shifted look:
    see ``_SHIFT_*``.
    """
    import cv2

    if shifted:
        cy, cx = (int(v) for v in rng.integers(size // 4, 3 * size // 4, size=2))
        image = np.empty((size, size, 3), np.int16)
        for rows in (slice(0, cy), slice(cy, size)):
            for cols in (slice(0, cx), slice(cx, size)):
                image[rows, cols] = _tile(rng, rows.stop - rows.start, cols.stop - cols.start)
    else:
        image = _tile(rng, size, size)
    image = np.ascontiguousarray(image)
    labels = []
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.integers(0, len(CLASSES)))
        factor = _either(rng, _SHIFT_SCALES) if shifted else 1.0
        w, h = (max(int(round(rng.uniform(*_TRAIN_SIDES) * size * factor)), 4) for _ in range(2))
        low, high = (0, size) if shifted else (int(_TRAIN_AREA[0] * size), int(_TRAIN_AREA[1] * size))
        x0, y0 = int(rng.integers(low, high - w + 1)), int(rng.integers(low, high - h + 1))
        colour = tuple(int(c) for c in np.clip(_COLOURS[cls] + rng.integers(-20, 21, size=3), 0, 255))
        if cls == 0:
            cv2.rectangle(image, (x0, y0), (x0 + w - 1, y0 + h - 1), colour, thickness=-1)
        elif cls == 1:
            cv2.ellipse(image, (x0 + w // 2, y0 + h // 2), (w // 2, h // 2), 0, 0, 360, colour, thickness=-1)
        else:
            corners = np.array([[x0 + w // 2, y0], [x0, y0 + h - 1], [x0 + w - 1, y0 + h - 1]], np.int32)
            cv2.fillPoly(image, [corners], colour)
        labels.append([cls, (x0 + w / 2) / size, (y0 + h / 2) / size, w / size, h / size])
    image = image.astype(np.uint8)
    if shifted:
        image = _hsv_gain(image, _either(rng, _SHIFT_SATURATION), _either(rng, _SHIFT_VALUE))
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


class _EpochClock:
    """Seconds of each training epoch: epoch start to epoch end, before any validation or saving."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start = 0.0

    def begin(self, *unused: object, **kwargs: object) -> None:
        self.start = time.perf_counter()

    def end(self, *unused: object, **kwargs: object) -> None:
        self.times.append(time.perf_counter() - self.start)


def run_ultralytics(init: Path, data_yaml: Path, work: Path, args: argparse.Namespace) -> tuple[float, list[float]]:
    """``yolo train`` from ``init``: ``(mAP50-95, seconds of each epoch)``.

    ``val=False``: Ultralytics then validates only after the last epoch (by default it validates after every epoch;
    ours does not evaluate during training), and that validation is outside the epoch clock.
    """
    from ultralytics import YOLO

    model = YOLO(str(init))
    clock = _EpochClock()
    model.add_callback("on_train_epoch_start", clock.begin)
    model.add_callback("on_train_epoch_end", clock.end)
    model.train(data=str(data_yaml), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, workers=0,
                device="cpu", seed=args.seed, deterministic=True, plots=False, amp=False, val=False,
                close_mosaic=args.close_mosaic, project=str(work), name="ultralytics", exist_ok=True,
                verbose=False)  # fmt: skip
    weights = work / "ultralytics" / "weights" / "last.pt"
    return _ultralytics_val(weights, data_yaml, args.imgsz, args.batch), clock.times


def run_ours(init: Path, data_yaml: Path, work: Path, args: argparse.Namespace, augment: bool = True
             ) -> tuple[float, list[float]]:  # fmt: skip
    """Our ``fine_tune`` with Ultralytics' recipe from ``init``: ``(mAP50-95, seconds of each epoch)``.

    ``augment=False``: the letterbox-only baseline (same recipe), which shows what augmentation is worth on the data.
    """
    from transformers import TrainerCallback

    from yolo_transformers import YoloForObjectDetection
    from yolo_transformers.convert import convert_checkpoint
    from yolo_transformers.convert.to_ultralytics import save_ultralytics_checkpoint
    from yolo_transformers.data import load_yolo_dataset
    from yolo_transformers.training.fine_tune import fine_tune
    from yolo_transformers.training.recipe import UltralyticsRecipe

    clock = _EpochClock()

    class EpochClock(TrainerCallback):
        on_epoch_begin, on_epoch_end = clock.begin, clock.end

    name = "ours" if augment else "ours-letterbox"
    folder = convert_checkpoint(init, work / f"{name}-init", verify=False).output_dir
    model = YoloForObjectDetection.from_pretrained(folder)
    model.config.image_size = args.imgsz
    dataset = load_yolo_dataset(data_yaml)
    fine_tune(model, {"train": dataset["train"]}, work / name, epochs=args.epochs, batch_size=args.batch,
              image_size=args.imgsz, seed=args.seed, augment=augment,
              augmentation={"close_mosaic": args.close_mosaic} if augment else None, recipe=UltralyticsRecipe(),
              show_progress=False, callbacks=[EpochClock()])  # fmt: skip
    weights = save_ultralytics_checkpoint(model, work / f"{name}.pt")
    return _ultralytics_val(weights, data_yaml, args.imgsz, args.batch), clock.times


def _verdict(ratio: float, target: float, higher_is_better: bool) -> str:
    return "met" if (ratio >= target if higher_is_better else ratio <= target) else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--train", type=int, default=300, help="training images")
    parser.add_argument("--val", type=int, default=100, help="validation images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--close-mosaic", type=int, default=10, help="mosaic off for the last N epochs (both)")
    parser.add_argument("--configs", default="shifted,easy")
    parser.add_argument("--letterbox-baseline", action="store_true",
                        help="also train ours without augmentation (what augmentation is worth on each set)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both (default: what Ultralytics' trainer sets, min(8, cpus - 1))")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads is None:  # Ultralytics' select_device sets this for CPU training, whatever the caller chose
        from ultralytics.utils import NUM_THREADS

        args.threads = NUM_THREADS
    began = time.perf_counter()
    batches = math.ceil(args.train / args.batch)
    rows = []
    with tempfile.TemporaryDirectory(prefix="yolo-train-bench-") as tmp:
        work = Path(tmp)
        init = _initial_checkpoint(work, args.seed)
        for config in args.configs.split(","):
            data_yaml = make_dataset(work / config, train=args.train, val=args.val, shifted=config == "shifted",
                                     size=args.imgsz, seed=args.seed + 1)  # fmt: skip
            runs = work / f"{config}-runs"
            theirs = run_ultralytics(init, data_yaml, runs, args)
            torch.set_num_threads(args.threads)  # Ultralytics' select_device sets its own
            ours = run_ours(init, data_yaml, runs, args)
            baseline = run_ours(init, data_yaml, runs, args, augment=False) if args.letterbox_baseline else None
            rows.append((config, theirs, ours, baseline))
            print(f"{config}: yolo train mAP50-95 {theirs[0]:.3f} (s/epoch {' '.join(f'{t:.1f}' for t in theirs[1])})"
                  f"\n{config}: ours mAP50-95 {ours[0]:.3f} (s/epoch {' '.join(f'{t:.1f}' for t in ours[1])})"
                  + (f"\n{config}: ours letterbox-only mAP50-95 {baseline[0]:.3f}" if baseline else ""),
                  flush=True)  # fmt: skip
    print(f"\n{args.train} train / {args.val} val images, imgsz {args.imgsz}, batch {args.batch} ({batches} "
          f"batches/epoch), {args.epochs} epochs (close_mosaic {args.close_mosaic}), {args.threads} threads, yolov8n "
          f"from the same random init; whole run {(time.perf_counter() - began) / 60:.1f} min\n")
    print("| configuration | `yolo train` mAP50-95 | ours mAP50-95 | ratio | `yolo train` s/epoch (s/step) | "
          "ours s/epoch (s/step) | ratio | verdict (mAP / time) |" + (" ours letterbox-only mAP50-95 |"
                                                                       if args.letterbox_baseline else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if args.letterbox_baseline else ""))
    for config, (their_map, their_times), (our_map, our_times), baseline in rows:
        their_time, our_time = float(np.mean(their_times)), float(np.mean(our_times))
        map_ratio = our_map / their_map if their_map else math.nan  # nothing learned: no ratio to judge
        time_ratio = our_time / their_time
        map_verdict = _verdict(map_ratio, TARGETS["map"], True) if their_map else "n/a"
        verdict = f"{map_verdict} / {_verdict(time_ratio, TARGETS['time'], False)}"
        print(f"| {config} | {their_map:.3f} | {our_map:.3f} | {map_ratio:.2f}x | {their_time:.1f} "
              f"({their_time / batches:.3f}) | {our_time:.1f} ({our_time / batches:.3f}) | {time_ratio:.2f}x | "
              f"{verdict} |" + (f" {baseline[0]:.3f} |" if baseline else ""))  # fmt: skip


if __name__ == "__main__":
    main()
