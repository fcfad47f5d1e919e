"""ONNX Runtime and OpenVINO sessions over an exported YOLO graph: one ``run`` call, numpy in, numpy out.

Both runtimes are optional extras. :func:`require` imports one and turns its absence into a
:class:`~yolo_transformers.errors.MissingExtraError` naming the ``pip install`` that fixes it.

A graph file may come from a Hub repo, so it is read as data: the ONNX graph is handed to ONNX Runtime as bytes
(a graph naming external weight files then fails to load instead of reading files beside it), OpenVINO reads the
``.xml`` and its ``.bin`` given explicitly, and the graph's input and output names must be the ones an export
writes.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from types import ModuleType
from typing import Literal

import numpy as np

from ..errors import ExportError, MissingExtraError

__all__ = ["RUNTIMES", "GRAPH_FILES", "INPUT_NAME", "OPENVINO_PRECISIONS", "require", "RuntimeSession", "open_session"]

logger = logging.getLogger(__name__)

Runtime = Literal["onnx", "openvino"]
#: Runtime name -> (the extra that installs it, the modules it needs to run a graph).
RUNTIMES: dict[str, tuple[str, tuple[str, ...]]] = {"onnx": ("onnx", ("onnxruntime",)),
                                                    "openvino": ("openvino", ("openvino",))}
#: Runtime name -> the graph files an export writes, relative to the model folder (the first is the graph).
GRAPH_FILES: dict[str, tuple[str, ...]] = {"onnx": ("onnx/model.onnx",),
                                           "openvino": ("openvino/model.xml", "openvino/model.bin")}
#: OpenVINO CPU inference precisions: float32 (default, verified), bfloat16 and float16 (where the CPU has them).
OPENVINO_PRECISIONS = ("f32", "bf16", "f16")
#: The graph's one input: ``(batch, 3, height, width)`` float32 in ``[0, 1]``, as the image processor returns it.
INPUT_NAME = "pixel_values"


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one of :data:`RUNTIMES`.

    Raises:
        ExportError: an unknown runtime; the message lists the known ones.
    """
    if runtime not in RUNTIMES:
        raise ExportError(f"runtime/format {runtime!r} is not one of {', '.join(RUNTIMES)}.")
    return runtime


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency.

    Args:
        module: The module to import (``onnxruntime``).
        extra: The ``yolo-transformers`` extra that installs it (``onnx``).
        purpose: What needs it, for the message ("running an ONNX graph").

    Raises:
        MissingExtraError: the module is not installed; the message says ``pip install "yolo-transformers[extra]"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"{purpose} needs the {module!r} package, which is not installed ({error}). Install the extra: "
            f'pip install "yolo-transformers[{extra}]"'
        ) from None


class RuntimeSession:
    """A compiled graph. Subclasses set :attr:`output_names` and implement :meth:`_run`.

    Attributes:
        runtime: ``"onnx"`` or ``"openvino"``.
        output_names: The graph's outputs in order (field names of the task's output dataclass).
        source: The graph file, for messages.
    """

    runtime: str = ""

    def __init__(self, source: Path, input_names: list[str], output_names: list[str], allowed: tuple[str, ...]):
        if input_names != [INPUT_NAME]:
            raise ExportError(f"{source}: the graph's inputs are {input_names}, expected [{INPUT_NAME!r}]; "
                              "re-export it with `yolo-hf export`.")
        unknown = [name for name in output_names if name not in allowed]
        if unknown or not output_names:
            raise ExportError(f"{source}: the graph's outputs {output_names} are not outputs of this task's model "
                              f"({', '.join(allowed)}); re-export it with `yolo-hf export`.")
        self.source, self.output_names = source, list(output_names)
        self._buffers = threading.local()  # one reusable NCHW input array per calling thread

    def _contiguous_input(self, pixel_values: np.ndarray) -> np.ndarray:
        """``pixel_values`` as the C-contiguous float32 array a runtime reads.

        The image processors return a channels-last view; its NCHW copy goes into an array kept per thread and shape
        and reused by the next call: a fresh multi-megabyte array per call costs page faults, several milliseconds
        on a loaded machine, more than the copy itself.
        """
        if pixel_values.dtype == np.float32 and pixel_values.flags.c_contiguous:
            return pixel_values
        buffer = getattr(self._buffers, "array", None)
        if buffer is None or buffer.shape != pixel_values.shape:
            buffer = self._buffers.array = np.empty(pixel_values.shape, dtype=np.float32)
        np.copyto(buffer, pixel_values, casting="same_kind")
        return buffer

    def run(self, pixel_values: np.ndarray) -> dict[str, np.ndarray]:
        """Run the graph.

        Args:
            pixel_values: ``(batch, 3, height, width)`` float32; height and width multiples of the model's stride.

        Returns:
            Output name -> array, e.g. ``logits`` ``(batch, anchors, classes)``, ``pred_boxes`` ``(batch, anchors, 4)``.
        """
        return dict(zip(self.output_names, self._run(self._contiguous_input(pixel_values))))

    def _run(self, pixel_values: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError


class OnnxRuntimeSession(RuntimeSession):
    """An ONNX graph in ONNX Runtime's CPU execution provider."""

    runtime = "onnx"

    def __init__(self, graph: Path, allowed: tuple[str, ...], num_threads: int | None = None) -> None:
        ort = require("onnxruntime", RUNTIMES["onnx"][0], "Running an ONNX graph")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(Path(graph).read_bytes(), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for malformed graphs
            raise ExportError(f"{graph} is not a loadable ONNX graph ({error}); re-export it.") from None
        super().__init__(graph, [i.name for i in self._session.get_inputs()],
                         [o.name for o in self._session.get_outputs()], allowed)

    def _run(self, pixel_values: np.ndarray) -> list[np.ndarray]:
        return self._session.run(self.output_names, {INPUT_NAME: pixel_values})


def _port_name(port: object, wanted: tuple[str, ...]) -> str:
    """The name of an OpenVINO port among ``wanted`` (a tensor may carry several names), else any of its names."""
    names = port.get_names()
    return next((name for name in wanted if name in names), port.get_any_name())


class OpenVinoSession(RuntimeSession):
    """An OpenVINO IR compiled for the CPU, tuned for latency."""

    runtime = "openvino"

    def __init__(self, xml: Path, weights: Path, allowed: tuple[str, ...], num_threads: int | None = None,
                 precision: str = "f32") -> None:
        ov = require("openvino", RUNTIMES["openvino"][0], "Running an OpenVINO model")
        if precision not in OPENVINO_PRECISIONS:
            raise ExportError(f"precision={precision!r} is not one of {', '.join(OPENVINO_PRECISIONS)}.")
        core = ov.Core()
        # float32 kernels by default: on CPUs with AMX/AVX512-BF16 OpenVINO would otherwise run bfloat16
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        if num_threads:
            config["INFERENCE_NUM_THREADS"] = int(num_threads)
        try:
            model = core.read_model(str(xml), str(weights))
            self._compiled = core.compile_model(model, "CPU", config)
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own
            raise ExportError(f"{xml} is not a loadable OpenVINO model ({error}); re-export it.") from None
        self._request = self._compiled.create_infer_request()
        super().__init__(xml, [_port_name(port, (INPUT_NAME,)) for port in self._compiled.inputs],
                         [_port_name(port, allowed) for port in self._compiled.outputs], allowed)

    def _run(self, pixel_values: np.ndarray) -> list[np.ndarray]:
        results = self._request.infer({INPUT_NAME: pixel_values})
        # copies: the request reuses its output buffers on the next call
        return [np.array(results[output]) for output in self._compiled.outputs]


def open_session(runtime: str, folder: Path, allowed: tuple[str, ...], num_threads: int | None = None,
                 precision: str = "f32") -> RuntimeSession:
    """Open the graph an export wrote under ``folder`` (see :data:`GRAPH_FILES`).

    Args:
        runtime: ``"onnx"`` or ``"openvino"``.
        folder: The model folder (or a Hub snapshot of it).
        allowed: Output names the graph may have (the task's output dataclass fields).
        num_threads: Threads for one inference; ``None``: the runtime's default (one per core).
        precision: OpenVINO's inference precision (:data:`OPENVINO_PRECISIONS`); ONNX Runtime runs the graph's own.

    Raises:
        ExportError: unknown runtime, or the graph is missing or unloadable.
        MissingExtraError: the runtime is not installed.
    """
    files = [Path(folder) / name for name in GRAPH_FILES[check_runtime(runtime)]]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise ExportError(f"{', '.join(missing)} not found: export the model first with "
                          f"`yolo-hf export {folder} --format {runtime} --output {folder}`.")
    if runtime == "onnx":
        if precision != "f32":
            raise ExportError(f"precision={precision!r} applies to OpenVINO only; ONNX Runtime runs the graph's own.")
        return OnnxRuntimeSession(files[0], allowed, num_threads)
    return OpenVinoSession(files[0], files[1], allowed, num_threads, precision)
