"""Half precision and INT8 on CPU: what ONNX Runtime and OpenVINO give here, and what it costs in mAP.

Accuracy: the tiny yolov8n trained on the generated shapes set (the test fixture, ``tests/fixtures/tiny_detector.py``),
``evaluate`` (COCO mAP50-95, Ultralytics' val settings) on its validation split, for

- PyTorch float32, our ONNX graph in ONNX Runtime, our OpenVINO IR at f32 / bf16 / f16 (``precision=``),
- the ONNX graph converted to float16 (``onnxruntime.transformers.float16``, inputs/outputs kept float32),
- the ONNX graph quantized to INT8 (``onnxruntime.quantization.quantize_static``, QDQ, per-channel weights,
  calibrated on 32 training images), run in ONNX Runtime and in OpenVINO (which reads the QDQ graph as int8).

Speed: the same variants of a yolov8n built from yaml (random weights) at 640 px, model call only, batch 1, median
of ``--repeats`` interleaved calls at the same thread count (torch's default).

Run: ``python benchmarks/precision.py`` (needs the ``onnx`` and ``openvino`` extras and the cached test fixture,
which ``python -m tests.fixtures.tiny_detector`` builds).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
# run as a script, benchmarks/ is first on sys.path and its datasets.py would shadow the `datasets` package; the
# repository root is needed for the test fixtures
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE.parent)]

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _variant(folder: Path, graph: Path, name: str) -> Path:
    """A model folder whose ``onnx/model.onnx`` is ``graph`` (config and processor copied)."""
    target = folder.parent / name
    (target / "onnx").mkdir(parents=True, exist_ok=True)
    for file in ("config.json", "preprocessor_config.json"):
        shutil.copy(folder / file, target / file)
    shutil.copy(graph, target / "onnx" / "model.onnx")
    return target


def _to_float16(folder: Path) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    graph = convert_float_to_float16(onnx.load(str(folder / "onnx/model.onnx")), keep_io_types=True)
    path = folder.parent / "fp16.onnx"
    onnx.save(graph, str(path))
    return _variant(folder, path, folder.name + "-fp16")


def _to_int8(folder: Path, calibration: list[np.ndarray]) -> Path:
    """Static QDQ INT8 (per-channel weights, uint8 activations) calibrated on ``calibration`` pixel batches."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(calibration)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"pixel_values": batch}

    prepared = folder.parent / "int8-pre.onnx"
    with contextlib.chdir(folder.parent):  # the pre-processing writes scratch files into the working directory
        quant_pre_process(str(folder / "onnx/model.onnx"), str(prepared), skip_symbolic_shape=True)
    path = folder.parent / "int8.onnx"
    quantize_static(str(prepared), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return _variant(folder, path, folder.name + "-int8")


def _calibration(folder: Path, images: list[Path]) -> list[np.ndarray]:
    from PIL import Image
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(folder)
    return [processor(images=Image.open(p).convert("RGB"), return_tensors="np")["pixel_values"].astype(np.float32)
            for p in images]


def _models(folder: Path, calibration: list[np.ndarray], threads: int) -> dict[str, object]:
    """Every variant, loaded: name -> model called like ``model(pixel_values=...)``."""
    from transformers import AutoModelForObjectDetection as Auto

    fp16, int8 = _to_float16(folder), _to_int8(folder, calibration)
    return {
        "PyTorch float32": Auto.from_pretrained(folder).eval(),
        "ONNX Runtime float32": Auto.from_pretrained(folder, runtime="onnx", num_threads=threads),
        "ONNX Runtime float16 graph": Auto.from_pretrained(fp16, runtime="onnx", num_threads=threads),
        "ONNX Runtime INT8 (QDQ)": Auto.from_pretrained(int8, runtime="onnx", num_threads=threads),
        "OpenVINO f32": Auto.from_pretrained(folder, runtime="openvino", num_threads=threads),
        "OpenVINO bf16": Auto.from_pretrained(folder, runtime="openvino", num_threads=threads, precision="bf16"),
        "OpenVINO f16": Auto.from_pretrained(folder, runtime="openvino", num_threads=threads, precision="f16"),
        "OpenVINO INT8 (the QDQ graph)": _openvino_int8(folder, int8, threads),
    }


def _openvino_int8(folder: Path, int8: Path, threads: int):
    """OpenVINO IR converted from the QDQ INT8 ONNX graph (OpenVINO runs its FakeQuantize ops in int8)."""
    import openvino as ov
    from transformers import AutoModelForObjectDetection as Auto

    target = int8.parent / (int8.name + "-ov")
    (target / "openvino").mkdir(parents=True, exist_ok=True)
    for file in ("config.json", "preprocessor_config.json"):
        shutil.copy(folder / file, target / file)
    ov.save_model(ov.convert_model(str(int8 / "onnx/model.onnx")), str(target / "openvino/model.xml"),
                  compress_to_fp16=False)
    return Auto.from_pretrained(target, runtime="openvino", num_threads=threads)


def _speeds(models: dict[str, object], pixel_values: torch.Tensor, repeats: int) -> dict[str, float]:
    """Median seconds of one model call per variant, calls interleaved round-robin (drift hits all alike)."""
    samples: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for round_ in range(repeats + 2):
            for name, model in models.items():
                start = time.perf_counter()
                model(pixel_values=pixel_values)
                if round_ >= 2:  # two warm-up rounds
                    samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from tests.fixtures.tiny_detector import shapes_dataset_dir, tiny_detector
    from ultralytics import YOLO

    from yolo_transformers import evaluate
    from yolo_transformers.convert import convert_checkpoint
    from yolo_transformers.data import load_yolo_dataset

    threads = torch.get_num_threads()
    dataset = shapes_dataset_dir()
    validation = load_yolo_dataset(dataset)["validation"]
    train_images = sorted((dataset / "images" / "train").glob("*.png"))[:32]
    with tempfile.TemporaryDirectory() as workdir:
        tiny = Path(workdir) / "tiny" / "hf"
        result = convert_checkpoint(tiny_detector(), tiny, verify=False)
        for runtime in ("onnx", "openvino"):
            result.model.export(tiny, format=runtime, images=sorted((dataset / "images" / "val").glob("*.png"))[:2])
        accuracy = {name: evaluate(model, validation)["mAP50-95"]
                    for name, model in _models(tiny, _calibration(tiny, train_images), threads).items()}
        checkpoint = Path(workdir) / "yolov8n.pt"
        YOLO("yolov8n.yaml").save(str(checkpoint))
        big = Path(workdir) / "big" / "hf"
        result = convert_checkpoint(checkpoint, big, verify=False)
        for runtime in ("onnx", "openvino"):
            result.model.export(big, format=runtime, verify=False)
        from yolo_transformers.convert.reference import default_verification_images

        calibration = _calibration(big, default_verification_images() * 4)
        pixel_values = torch.from_numpy(calibration[0])
        speed = _speeds(_models(big, calibration, threads), pixel_values, args.repeats)
    print(f"torch {torch.__version__}, {threads} threads\n")
    print("| variant | mAP50-95 (tiny yolov8n, shapes val) | yolov8n 640 px model call, batch 1, ms |")
    print("|---|---|---|")
    for name in accuracy:
        print(f"| {name} | {accuracy[name]:.4f} | {1e3 * speed[name]:.1f} |")


if __name__ == "__main__":
    main()
