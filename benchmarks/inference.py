"""Inference speed and load time of yolo_transformers against Ultralytics, side by side in one run (CPU).

For each model (random weights, built from yaml; one ``TaskSpec`` per task in ``TASKS``) and batch size it measures:

(a) ``YOLO(pt).predict(images)`` end to end, with Ultralytics' defaults: its own preprocessing (letterbox, or
    classify transforms for -cls, at the checkpoint's ``imgsz``: 640 for these yaml-built models, 224 only for the
    released -cls weights), fused network, NMS / task post-processing, ``Results``; conf 0.25, masks at the input
    size (``retina_masks=False``),
(b) our image processor + task model + the task's ``post_process_*`` end to end, on the same images (threshold
    0.25; results at the original image sizes, as transformers' ``target_sizes`` convention asks),
(c) the raw network forward alone (the network exactly as Ultralytics' predictor runs it: fused, channels-last on
    x86 CPUs, on the same input tensor), beside our model call alone,
(d) the same as (b) with ``from_pretrained(folder, runtime="onnx")``: our verified ONNX export in ONNX Runtime,
(e) the same with ``runtime="openvino"``: at our default float32 (``e``, what the export verified) and at the precision
    Ultralytics' OpenVINO model runs (``e_same``: ``precision=`` set to it, bfloat16 on CPUs with AMX/AVX512-BF16),
(f) Ultralytics' own exports through ``YOLO("model.onnx").predict`` (f-onnx) and ``YOLO("model_openvino_model")``
    (f-openvino). Ultralytics' OpenVINO backend (``ultralytics/nn/backends/openvino.py``, 8.4) compiles with only
    ``PERFORMANCE_HINT=LATENCY`` on x86 Linux, so it runs OpenVINO's default inference precision: bfloat16 on CPUs
    with AMX or AVX512-BF16, float32 elsewhere. The precision is read back from its compiled model and printed.
    ``f_openvino_f32`` is the same Ultralytics model recompiled with ``INFERENCE_PRECISION_HINT=f32`` (only that
    object's compiled model is replaced; no process-wide setting changes), for the float32-against-float32 ratio,
and the load time of ``AutoModel*.from_pretrained(folder)`` against ``YOLO(pt)``.

The runtimes run at the same thread count as torch (its default): ONNX Runtime's ``intra_op_num_threads`` and
OpenVINO's ``INFERENCE_NUM_THREADS`` for ours; Ultralytics' ONNX Runtime and OpenVINO sessions use one thread per
core by default, which is the same number here (check the printed counts on other machines).

Threads: Ultralytics' predictor calls ``torch.set_num_threads(min(8, cpu_count - 1))`` for the whole process (1
thread on a 2-core machine), while torch's default (what our library runs with) is one thread per physical core.
Every contender is therefore timed twice: at the **same** thread count (torch's default, restored after
Ultralytics changes it; this compares the implementations) and at **each library's own** setting (this is what a
user of each library gets). (c) and our model call are compared at the same thread count.

Tasks (``--tasks``, default all): detect (yolov8n, yolo11n, yolo26n), segment (yolo11n-seg), pose (yolo11n-pose),
obb (yolo11n-obb), classify (yolo11n-cls), semantic (yolo26n-sem), depth (yolo26n-depth). ``--models`` overrides
the model list (each yaml's task is read from its name suffix).

Targets: (b)/(a) <= 1.0 at batch 1 and <= 0.9 at batch 8; our model call within 3% of (c); load ratio <= 1.0;
(d)/(a) <= 0.7 and (e)/(a) <= 0.6 at batch 1; (d)/(f-onnx) <= 1.0 and (e)/(f-openvino) <= 1.0, the last judged
at the same precision on both sides: ``e_same / f_openvino`` (Ultralytics' precision) and ``e / f_openvino_f32``.
The verdicts printed for (b)/(a) are for the same thread count.

Run: ``python benchmarks/inference.py`` (``--help`` for options). Timings interleave the contenders and report
medians, so drift on a shared machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("YOLO_OFFLINE", "1")
# benchmarks/datasets.py would shadow the `datasets` library (which yolo_transformers imports): keep this folder off
# sys.path, as `python benchmarks/inference.py` puts it first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

TARGETS = {"end_to_end_b1": 1.0, "end_to_end_b8": 0.9, "model_call": 1.03, "load": 1.0, "onnx_b1": 0.7,
           "openvino_b1": 0.6, "vs_ultralytics_export": 1.0}
THRESHOLD = 0.25  # Ultralytics' default predict confidence
#: torch's default thread count, read before anything Ultralytics runs (its exporter and predictor change it).
DEFAULT_THREADS = torch.get_num_threads()


@dataclass(frozen=True)
class TaskSpec:
    """One task: its default models, the transformers Auto class that loads it and its post-processing call."""

    models: tuple[str, ...]
    auto_class: str  # name in ``transformers``
    post_process: Callable[[Any, Any, list[tuple[int, int]]], object]  # (processor, outputs, original sizes)


TASKS = {
    "detect": TaskSpec(("yolov8n.yaml", "yolo11n.yaml", "yolo26n.yaml"), "AutoModelForObjectDetection",
                       lambda p, out, sizes: p.post_process_object_detection(out, THRESHOLD, sizes)),
    "segment": TaskSpec(("yolo11n-seg.yaml",), "AutoModelForInstanceSegmentation",
                        lambda p, out, sizes: p.post_process_instance_segmentation(out, THRESHOLD, sizes)),
    "pose": TaskSpec(("yolo11n-pose.yaml",), "AutoModel",
                     lambda p, out, sizes: p.post_process_pose_estimation(out, THRESHOLD, sizes)),
    "obb": TaskSpec(("yolo11n-obb.yaml",), "AutoModel",
                    lambda p, out, sizes: p.post_process_oriented_object_detection(out, THRESHOLD, sizes)),
    "classify": TaskSpec(("yolo11n-cls.yaml",), "AutoModelForImageClassification",
                         lambda p, out, sizes: p.post_process_image_classification(out)),
    "semantic": TaskSpec(("yolo26n-sem.yaml",), "AutoModelForSemanticSegmentation",
                         lambda p, out, sizes: p.post_process_semantic_segmentation(out, sizes)),
    "depth": TaskSpec(("yolo26n-depth.yaml",), "AutoModelForDepthEstimation",
                      lambda p, out, sizes: p.post_process_depth_estimation(out, sizes)),
}
_SUFFIXES = {"-seg": "segment", "-pose": "pose", "-obb": "obb", "-cls": "classify", "-sem": "semantic",
             "-depth": "depth"}


def task_of(model_yaml: str) -> str:
    """The task of a model yaml, from its name suffix (``yolo11n-seg.yaml`` -> ``segment``; none -> ``detect``)."""
    stem = Path(model_yaml).stem
    return next((task for suffix, task in _SUFFIXES.items() if stem.endswith(suffix)), "detect")


def _auto_class(task: str):
    import transformers

    import yolo_transformers  # noqa: F401  (registers the YOLO Auto classes)

    return getattr(transformers, TASKS[task].auto_class)


def _median_times(
    functions: dict[str, Callable[[], object]], repeats: int, warmup: int, threads: int | None = None
) -> dict[str, float]:
    """Median wall time (seconds) of each function, calls interleaved round-robin, at ``threads`` torch threads.

    The thread count is set once for the whole measurement: switching it between calls makes oneDNN rebuild its
    kernels and would time that instead.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        for _ in range(warmup):
            for function in functions.values():
                function()
        samples: dict[str, list[float]] = {name: [] for name in functions}
        for _ in range(repeats):
            for name, function in functions.items():
                start = time.perf_counter()
                function()
                samples[name].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return {name: statistics.median(values) for name, values in samples.items()}


def _images(batch: int) -> list[np.ndarray]:
    """Real photos (BGR, as Ultralytics reads them): bus.jpg for batch 1; bus and zidane alternating otherwise."""
    from yolo_transformers.convert.parity import default_verification_images, read_image_bgr

    photos = [read_image_bgr(p) for p in default_verification_images()]
    return [photos[i % len(photos)] for i in range(batch)]


def _prepare(model_yaml: str, workdir: Path, runtimes: bool) -> tuple[Path, Path, dict[str, Path]]:
    """Save a random-weight checkpoint of ``model_yaml``, its converted folder with our verified ONNX and OpenVINO
    exports, and Ultralytics' own ONNX and OpenVINO exports of the checkpoint (``runtimes``)."""
    from ultralytics import YOLO

    from yolo_transformers.convert import convert_checkpoint

    checkpoint = workdir / f"{Path(model_yaml).stem}-bench.pt"
    YOLO(model_yaml).save(str(checkpoint))
    folder = workdir / f"{Path(model_yaml).stem}-hf"
    result = convert_checkpoint(checkpoint, folder, verify=False)
    exports: dict[str, Path] = {}
    if runtimes:
        for runtime in ("onnx", "openvino"):
            result.model.export(folder, format=runtime)  # verified against the PyTorch model on bus.jpg, zidane.jpg
            exports[runtime] = Path(YOLO(str(checkpoint)).export(format=runtime, verbose=False))
    return checkpoint, folder, exports


def _load_times(checkpoint: Path, folder: Path, task: str, repeats: int) -> dict[str, float]:
    from ultralytics import YOLO

    auto_class = _auto_class(task)
    return _median_times(
        {
            "ultralytics": lambda: YOLO(str(checkpoint)),
            "ours": lambda: auto_class.from_pretrained(folder),
        },
        repeats,
        warmup=1,
    )


def _inference_times(
    checkpoint: Path, folder: Path, task: str, batch: int, repeats: int, warmup: int, exports: dict[str, Path],
    runtimes_only: bool = False,
) -> dict[str, float]:
    from transformers import AutoImageProcessor
    from ultralytics import YOLO

    yolo = YOLO(str(checkpoint))
    model = _auto_class(task).from_pretrained(folder).eval()
    post_process = TASKS[task].post_process
    processor = AutoImageProcessor.from_pretrained(folder)
    bgr = _images(batch)
    rgb = [np.ascontiguousarray(image[..., ::-1]) for image in bgr]
    sizes = [image.shape[:2] for image in rgb]

    def ultralytics_end_to_end():
        return yolo.predict(bgr, verbose=False, device="cpu")

    def ours_end_to_end():
        with torch.inference_mode():
            inputs = processor(images=rgb, return_tensors="pt")
            outputs = model(**inputs)
            return post_process(processor, outputs, sizes)

    pixel_values = processor(images=rgb, return_tensors="pt")["pixel_values"]
    default_threads = DEFAULT_THREADS
    torch.set_num_threads(default_threads)
    ultralytics_end_to_end()  # sets up the predictor, which sets the process's thread count
    ultralytics_threads = torch.get_num_threads()
    torch.set_num_threads(default_threads)
    backend = yolo.predictor.model  # the fused network exactly as YOLO.predict runs it (channels-last on x86 CPUs)

    def raw_forward():
        with torch.inference_mode():
            return backend(pixel_values)

    def our_model_call():
        with torch.inference_mode():
            return model(pixel_values=pixel_values)

    contenders = {"a": ultralytics_end_to_end, "b": ours_end_to_end}
    if not runtimes_only:
        contenders.update({"c": raw_forward, "model": our_model_call})
    facts: dict[str, Any] = {"ultralytics_threads": ultralytics_threads, "threads": default_threads}
    if exports:
        runtime_contenders, facts["ultralytics_openvino_precision"] = _runtime_contenders(
            folder, task, bgr, rgb, sizes, exports, default_threads)
        contenders.update(runtime_contenders)
        torch.set_num_threads(default_threads)  # the exported models' predictors set it again on their first call
    times = _median_times(contenders, repeats, warmup)
    if runtimes_only:
        return times | facts
    own = _median_times({"a_own_threads": ultralytics_end_to_end}, repeats, warmup, threads=ultralytics_threads)
    return times | own | facts


def _runtime_contenders(folder: Path, task: str, bgr: list, rgb: list, sizes: list, exports: dict[str, Path],
                        threads: int) -> tuple[dict[str, Callable[[], object]], str]:
    """(d), (e), e_same and (f): our runtime models behind our processor, and Ultralytics' exports in YOLO.predict.

    Returns:
        The contenders, and the precision Ultralytics' OpenVINO model runs at (``e_same`` runs ours at it).
    """
    from transformers import AutoImageProcessor
    from ultralytics import YOLO

    processor = AutoImageProcessor.from_pretrained(folder)
    post_process = TASKS[task].post_process
    auto_class = _auto_class(task)

    def ours(model):
        def run():
            inputs = processor(images=rgb, return_tensors="pt")
            return post_process(processor, model(**inputs), sizes)

        return run

    def theirs(path: Path):
        yolo = YOLO(str(path), task=task)

        def run():
            return yolo.predict(bgr, verbose=False, device="cpu")

        run.yolo = yolo  # type: ignore[attr-defined]
        return run

    contenders = {"f_onnx": theirs(exports["onnx"]), "f_openvino": theirs(exports["openvino"]),
                  "f_openvino_f32": theirs(exports["openvino"])}
    for run in contenders.values():
        run()  # sets up each predictor (which sets the torch thread count; the caller restores it)
    precision = _ultralytics_openvino_precision(contenders["f_openvino"])
    _recompile_openvino_f32(contenders["f_openvino_f32"], exports["openvino"])
    contenders["d"] = ours(auto_class.from_pretrained(folder, runtime="onnx", num_threads=threads))
    contenders["e"] = ours(auto_class.from_pretrained(folder, runtime="openvino", num_threads=threads))
    contenders["e_same"] = ours(auto_class.from_pretrained(folder, runtime="openvino", num_threads=threads,
                                                           precision=precision))
    return contenders, precision


def _openvino_backend(run: Callable[[], object]) -> Any:
    """The OpenVINO backend object behind a ``theirs`` contender (Ultralytics 8.4: ``AutoBackend.backend``)."""
    return run.yolo.predictor.model.backend  # type: ignore[attr-defined]


def _ultralytics_openvino_precision(run: Callable[[], object]) -> str:
    """The inference precision Ultralytics' compiled OpenVINO model runs at: ``"bf16"``, ``"f16"`` or ``"f32"``."""
    compiled = _openvino_backend(run).ov_compiled_model
    return compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()


def _recompile_openvino_f32(run: Callable[[], object], export: Path) -> None:
    """Replace the compiled model of one Ultralytics OpenVINO predictor by the same IR compiled at float32, with
    the backend's own device and config otherwise (``ultralytics/nn/backends/openvino.py``, 8.4)."""
    import openvino as ov

    backend = _openvino_backend(run)
    xml = next(Path(export).glob("*.xml"))
    settings = backend.compile_model.keywords  # functools.partial(core.compile_model, device_name=, config=)
    config = {**settings.get("config", {}), "INFERENCE_PRECISION_HINT": "f32"}
    core = ov.Core()
    backend.ov_compiled_model = core.compile_model(core.read_model(str(xml), str(xml.with_suffix(".bin"))),
                                                   settings.get("device_name", "CPU"), config)
    assert _ultralytics_openvino_precision(run) == "f32"


def _cpu_name() -> str:
    """The CPU model as ``lscpu`` names it (``/proc/cpuinfo``), for the table's caption."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def _verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "MISSED"


RUNTIME_HEADER = ("| model | task | batch | (a) YOLO.predict | (b) ours PyTorch | (d) ours ONNX Runtime | "
                  "(e) ours OpenVINO f32 | (e) ours OpenVINO at Ultralytics' precision | (f) Ultralytics ONNX | "
                  "(f) Ultralytics OpenVINO (its default precision) | (f) Ultralytics OpenVINO forced f32 | "
                  "(d)/(a) | (e)/(a) | (d)/(f-onnx) | (e)/(f-openvino) both at Ultralytics' precision | "
                  "(e)/(f-openvino) both f32 |")


def _runtime_row(name: str, task: str, batch: int, t: dict[str, float]) -> str:
    """One row of the runtime table (:data:`RUNTIME_HEADER`): ms per image, then the target ratios."""
    per_image = " | ".join(f"{1e3 * t[key] / batch:.1f}" for key in ("a", "b", "d", "e", "e_same", "f_onnx",
                                                                       "f_openvino", "f_openvino_f32"))
    ratios = []
    for numerator, denominator, target in (("d", "a", "onnx_b1"), ("e", "a", "openvino_b1"),
                                           ("d", "f_onnx", "vs_ultralytics_export"),
                                           ("e_same", "f_openvino", "vs_ultralytics_export"),
                                           ("e", "f_openvino_f32", "vs_ultralytics_export")):
        ratio = t[numerator] / t[denominator]
        judged = batch == 1 or target == "vs_ultralytics_export"  # the (d)/(a), (e)/(a) targets are for batch 1
        ratios.append(f"{ratio:.2f}" + (f" ({_verdict(ratio, TARGETS[target])})" if judged else ""))
    return f"| {name} | {task} | {batch} | {per_image} | {' | '.join(ratios)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--models", nargs="+", help="model yamls (default: each task's models in TASKS)")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-runtimes", action="store_true", help="skip the ONNX / OpenVINO rows (d), (e), (f)")
    parser.add_argument("--runtimes-only", action="store_true",
                        help="time (a), (b) and the runtime rows only: no (c), model call, own-threads or load rows")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    models = args.models or [model for task in args.tasks for model in TASKS[task].models]

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, CPU {_cpu_name()}")
    rows = ["| model | task | batch | (a) YOLO.predict ms/img | (b) ours ms/img | (b)/(a) same threads | "
            "(a) at Ultralytics' threads ms/img | (b)/(a) each at its own | (c) raw forward ms | "
            "our model call ms | model/(c) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    load_rows = ["| model | task | YOLO(pt) ms | from_pretrained ms | ratio |", "|---|---|---|---|---|"]
    runtime_rows = [RUNTIME_HEADER, "|---|---|---|" + "---|" * 13]
    precisions: set[str] = set()
    with tempfile.TemporaryDirectory() as workdir:
        for model_yaml in models:
            checkpoint, folder, exports = _prepare(model_yaml, Path(workdir), not args.no_runtimes)
            name, task = Path(model_yaml).stem, task_of(model_yaml)
            for batch in args.batches:
                t = _inference_times(checkpoint, folder, task, batch, args.repeats, args.warmup, exports,
                                     args.runtimes_only)
                if exports:
                    precisions.add(t["ultralytics_openvino_precision"])
                    runtime_rows.append(_runtime_row(name, task, batch, t))
                    print(runtime_rows[-1], flush=True)
                if args.runtimes_only:
                    continue
                ratio, own_ratio = t["b"] / t["a"], t["b"] / t["a_own_threads"]
                target = TARGETS["end_to_end_b1" if batch == 1 else "end_to_end_b8"]
                call_ratio = t["model"] / t["c"]
                rows.append(
                    f"| {name} | {task} | {batch} | {1e3 * t['a'] / batch:.1f} | {1e3 * t['b'] / batch:.1f} | "
                    f"{ratio:.2f} ({_verdict(ratio, target)}) | {1e3 * t['a_own_threads'] / batch:.1f} "
                    f"({t['ultralytics_threads']} of {t['threads']}) | {own_ratio:.2f} | {1e3 * t['c']:.1f} | "
                    f"{1e3 * t['model']:.1f} | {call_ratio:.3f} ({_verdict(call_ratio, TARGETS['model_call'])}) |"
                )
                print(rows[-1], flush=True)
            if args.runtimes_only:
                continue
            loads = _load_times(checkpoint, folder, task, max(5, args.repeats // 2))
            load_ratio = loads["ours"] / loads["ultralytics"]
            load_rows.append(
                f"| {name} | {task} | {1e3 * loads['ultralytics']:.1f} | {1e3 * loads['ours']:.1f} | "
                f"{load_ratio:.2f} ({_verdict(load_ratio, TARGETS['load'])}) |"
            )
            print(load_rows[-1], flush=True)
    print("\n" + "\n".join(rows) + "\n\n" + "\n".join(load_rows))
    if len(runtime_rows) > 2:
        print(f"\nms per image, same thread count; Ultralytics' OpenVINO models ran at {', '.join(sorted(precisions))}"
              ":\n\n" + "\n".join(runtime_rows))


if __name__ == "__main__":
    main()
