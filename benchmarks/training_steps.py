"""Per-step cost of training, ours against Ultralytics, interleaved batch by batch (run by hand, CPU).

    YOLO_OFFLINE=1 python benchmarks/training_steps.py [--rounds 12] [--threads 1]

Builds the ``easy`` set of ``benchmarks/training.py`` (300 images, imgsz 128) and one random ``yolov8n`` init, then
for each round draws 16 indices and times, one right after the other so the load of a shared machine hits both:

* ``data``: the 16 augmented samples and their collation, by Ultralytics' training ``YOLODataset`` (mosaic,
  random perspective, HSV, flip; read from disk) and by our ``AugmentedDetectionDataset`` (the same Ultralytics
  transforms over ``datasets`` rows; decoded images cached in RAM after their first read);
* ``forward+backward``: Ultralytics' ``DetectionModel(batch)`` loss and ``backward``, and ours, ``model(**batch)``
  and ``loss.backward()`` (the same loss, same gradients).

Both run in train mode at the same thread count. The optimizer step, gradient clipping and EMA update are the same
torch / Ultralytics code on both sides and are left out. Prints the median of each (the first round, which warms
caches, is listed but not in the median).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
_HERE = Path(__file__).resolve().parent
# benchmarks/datasets.py would shadow the `datasets` package for a script run from this folder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _training_benchmark():
    """``benchmarks/training.py`` as a module (its data generator and shared init)."""
    spec = importlib.util.spec_from_file_location("training_benchmark", _HERE / "training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from ultralytics import YOLO
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    from yolo_transformers import YoloForObjectDetection
    from yolo_transformers.convert import convert_checkpoint
    from yolo_transformers.data import load_yolo_dataset
    from yolo_transformers.training.augmentation import AugmentedDetectionDataset
    from yolo_transformers.training.transforms import collate_for

    bench = _training_benchmark()
    with tempfile.TemporaryDirectory(prefix="yolo-step-bench-") as tmp:
        work = Path(tmp)
        data_yaml = bench.make_dataset(work / "easy", train=300, val=10, shifted=False, size=args.imgsz, seed=1)
        init = bench._initial_checkpoint(work, 0)
        cfg = get_cfg(overrides={"imgsz": args.imgsz, "batch": args.batch, "workers": 0})
        data = check_det_dataset(str(data_yaml))
        theirs_data = build_yolo_dataset(cfg, data["train"], args.batch, data, mode="train")
        theirs = YOLO(str(init)).model.train()
        theirs.args = cfg
        for parameter in theirs.parameters():
            parameter.requires_grad_(True)
        ours = YoloForObjectDetection.from_pretrained(convert_checkpoint(init, work / "ours", verify=False).output_dir)
        ours.train()
        ours_data = AugmentedDetectionDataset(load_yolo_dataset(data_yaml)["train"], args.imgsz, seed=0)
        collate = collate_for(ours.config)
        torch.set_num_threads(args.threads)  # building Ultralytics' pieces may have changed it

        def their_step(batch: dict) -> None:
            batch = {**batch, "img": batch["img"].float() / 255}  # what DetectionTrainer.preprocess_batch does
            loss, _ = theirs(batch)
            loss.sum().backward()

        def our_step(batch: dict) -> None:
            ours(**batch).loss.backward()

        times: dict[str, list[float]] = {k: [] for k in ("theirs data", "ours data", "theirs f+b", "ours f+b")}
        rng = np.random.default_rng(0)
        for _ in range(args.rounds):
            indices = rng.integers(0, len(ours_data), args.batch).tolist()
            batches = {}
            for name, dataset, collate_batch in (("theirs data", theirs_data, theirs_data.collate_fn),
                                                 ("ours data", ours_data, collate)):  # fmt: skip
                start = time.perf_counter()
                batches[name] = collate_batch([dataset[i] for i in indices])
                times[name].append(time.perf_counter() - start)
            for name, step, batch in (("theirs f+b", their_step, batches["theirs data"]),
                                      ("ours f+b", our_step, batches["ours data"])):  # fmt: skip
                start = time.perf_counter()
                step(batch)
                times[name].append(time.perf_counter() - start)
            theirs.zero_grad(set_to_none=True)
            ours.zero_grad(set_to_none=True)
    print(f"batch {args.batch}, imgsz {args.imgsz}, {args.threads} thread(s), {args.rounds} interleaved rounds\n")
    print("| per step | Ultralytics (s) | ours (s) | ratio |\n|---|---|---|---|")
    for part in ("data", "f+b"):
        their, our = (statistics.median(times[f"{side} {part}"][1:]) for side in ("theirs", "ours"))
        print(f"| {part} | {their:.3f} | {our:.3f} | {our / their:.2f}x |")
    total_theirs = statistics.median(a + b for a, b in zip(times["theirs data"][1:], times["theirs f+b"][1:]))
    total_ours = statistics.median(a + b for a, b in zip(times["ours data"][1:], times["ours f+b"][1:]))
    print(f"| data + f+b | {total_theirs:.3f} | {total_ours:.3f} | {total_ours / total_theirs:.2f}x |")
    print("\nall rounds:", {k: " ".join(f"{v:.3f}" for v in values) for k, values in times.items()})


if __name__ == "__main__":
    main()
