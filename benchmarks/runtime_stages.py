"""Per-stage time of our ONNX Runtime / OpenVINO path against Ultralytics' exported models (CPU, batch 1).

For each model (random weights from yaml, or ``--checkpoint``) it exports ours (``model.export``, verified) and
Ultralytics' own (``YOLO(pt).export``), then times, interleaved round-robin on the same photos at the same thread
count:

- ours: ``pre`` (the image processor: letterbox, ``/ 255``), ``input`` (the pixel values as the C-contiguous NCHW
  float32 array a runtime reads), ``run`` (the runtime's inference on that array), ``wrap`` (numpy outputs to the
  task's output dataclass), ``post`` (the task's ``post_process_*`` at the original image sizes) and ``total`` (the
  whole chain in one call, as a user runs it);
- theirs: ``YOLO("model.onnx").predict`` end to end (``total``), and the per-stage times its predictor records
  (``Results.speed``: ``preprocess``, ``inference``, ``postprocess``, measured inside the same calls).

Medians in milliseconds. Run: ``python benchmarks/runtime_stages.py --tasks segment classify --runtime onnx``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from inference import TASKS, _auto_class, _images  # noqa: E402  (benchmarks/ is the script's folder)

DEFAULT_THREADS = torch.get_num_threads()


def _prepare(model_yaml: str, workdir: Path, runtime: str, checkpoint: Path | None) -> tuple[Path, Path]:
    from ultralytics import YOLO

    from yolo_transformers.compat import keep_torch_threads
    from yolo_transformers.convert import convert_checkpoint

    if checkpoint is None:
        checkpoint = workdir / f"{Path(model_yaml).stem}-bench.pt"
        YOLO(model_yaml).save(str(checkpoint))
    folder = workdir / f"{checkpoint.stem}-hf"
    result = convert_checkpoint(checkpoint, folder, verify=False)
    result.model.export(folder, format=runtime)
    with keep_torch_threads():
        theirs = Path(YOLO(str(checkpoint)).export(format=runtime, verbose=False))
    return folder, theirs


def stage_times(folder: Path, theirs: Path, task: str, runtime: str, batch: int, repeats: int, warmup: int,
                threads: int) -> tuple[dict[str, float], dict[str, float]]:
    """(ours, theirs): median ms per stage (see the module docstring)."""
    from transformers import AutoImageProcessor
    from ultralytics import YOLO

    processor = AutoImageProcessor.from_pretrained(folder)
    model = _auto_class(task).from_pretrained(folder, runtime=runtime, num_threads=threads)
    post_process = TASKS[task].post_process
    bgr = _images(batch)
    rgb = [np.ascontiguousarray(image[..., ::-1]) for image in bgr]
    sizes = [image.shape[:2] for image in rgb]
    yolo = YOLO(str(theirs), task=task)
    yolo.predict(bgr, verbose=False, device="cpu")  # sets up the predictor (which sets torch's thread count)
    torch.set_num_threads(threads)

    ours: dict[str, list[float]] = {k: [] for k in ("pre", "input", "run", "wrap", "post", "total")}
    their: dict[str, list[float]] = {k: [] for k in ("preprocess", "inference", "postprocess", "total")}

    def clock(samples: list[float], function, *args):
        start = time.perf_counter()
        value = function(*args)
        samples.append(1e3 * (time.perf_counter() - start))
        return value

    def our_stages():
        pixel_values = clock(ours["pre"], lambda: processor(images=rgb, return_tensors="pt")["pixel_values"])
        array = clock(ours["input"], lambda: np.ascontiguousarray(pixel_values.numpy(), dtype=np.float32))
        arrays = clock(ours["run"], model.session.run, array)
        outputs = clock(ours["wrap"], lambda: model.output_class(
            **{name: torch.from_numpy(value) for name, value in arrays.items()}))
        clock(ours["post"], post_process, processor, outputs, sizes)
        clock(ours["total"], lambda: post_process(processor, model(**processor(images=rgb, return_tensors="pt")),
                                                  sizes))

    def their_call():
        results = clock(their["total"], lambda: yolo.predict(bgr, verbose=False, device="cpu"))
        for key in ("preprocess", "inference", "postprocess"):
            their[key].append(results[0].speed[key] * batch)  # Ultralytics records per-image ms

    for index in range(warmup + repeats):
        if index == warmup:
            for samples in (*ours.values(), *their.values()):
                samples.clear()
        our_stages()
        their_call()
        torch.set_num_threads(threads)
    median = lambda samples: {k: statistics.median(v) for k, v in samples.items()}  # noqa: E731
    return median(ours), median(their)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=["segment", "classify"])
    parser.add_argument("--runtime", choices=["onnx", "openvino"], default="onnx")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--checkpoint", type=Path, help="an Ultralytics .pt instead of each task's yaml model")
    args = parser.parse_args()
    print(f"{args.runtime}, batch {args.batch}, {args.threads} threads, medians of {args.repeats} (ms per call)")
    with tempfile.TemporaryDirectory() as workdir:
        for task in args.tasks:
            model_yaml = TASKS[task].models[0]
            folder, theirs = _prepare(model_yaml, Path(workdir), args.runtime, args.checkpoint)
            ours, their = stage_times(folder, theirs, task, args.runtime, args.batch, args.repeats, args.warmup,
                                      args.threads)
            print(f"{Path(model_yaml).stem} {task}")
            print("  ours:   " + ", ".join(f"{k} {v:.1f}" for k, v in ours.items()))
            print("  theirs: " + ", ".join(f"{k} {v:.1f}" for k, v in their.items()), flush=True)


if __name__ == "__main__":
    main()
