"""A YOLO model whose forward runs an exported ONNX graph (ONNX Runtime) or OpenVINO IR instead of PyTorch.

It returns the task's own output dataclass (``YoloObjectDetectionOutput``, ...) with the same fields, shapes and
meaning as the PyTorch model's, so the image processors' post-processing, ``pipeline(...)`` and ``evaluate`` take
it unchanged. Load it with ``runtime=`` on any YOLO class or Auto class, from a folder or a Hub repo::

    model = AutoModelForObjectDetection.from_pretrained("yolo11n-hf", runtime="onnx")
    detector = pipeline("object-detection", model="yolo11n-hf", model_kwargs={"runtime": "openvino"})

It cannot be trained, and it runs on the CPU in float32.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel
from transformers.utils import ModelOutput, cached_file

from ..configuration_yolo import YoloConfig
from ..errors import ExportError, TaskMismatchError
from ..network.ultralytics_rows import ultralytics_rows
from ..processing.batching import plain, size_groups
from .backends import GRAPH_FILES, RuntimeSession, check_runtime, open_session

__all__ = ["YoloRuntimeModel", "output_fields", "load_runtime_model"]

logger = logging.getLogger(__name__)

#: Output dataclass fields a graph never carries (training or on-request outputs).
_NOT_EXPORTED = ("loss", "loss_dict", "hidden_states")
#: ``from_pretrained`` arguments that locate files, passed on to transformers' ``cached_file``.
_HUB_ARGUMENTS = ("cache_dir", "force_download", "revision", "token", "local_files_only", "subfolder")


def output_fields(output_class: type[ModelOutput]) -> tuple[str, ...]:
    """The fields of a task's output dataclass an exported graph may carry, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(output_class) if f.name not in _NOT_EXPORTED)


class YoloRuntimeModel(PreTrainedModel):
    """A YOLO model running on ONNX Runtime or OpenVINO (CPU, float32).

    Attributes:
        session: The compiled graph (:class:`~yolo_transformers.runtime.backends.RuntimeSession`).
        output_class: The task's output dataclass this model returns.
    """

    config_class = YoloConfig
    config: YoloConfig
    base_model_prefix = "yolo"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def __init__(self, config: YoloConfig, session: RuntimeSession, output_class: type[ModelOutput]) -> None:
        super().__init__(config)
        self.session, self.output_class = session, output_class
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        """Nothing to initialise: the weights live in the graph."""

    @property
    def runtime(self) -> str:
        """``"onnx"`` or ``"openvino"``."""
        return self.session.runtime

    @property
    def device(self) -> torch.device:
        """Always the CPU: inputs are handed to the runtime as numpy arrays and outputs come back there."""
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """Always float32, the graph's input type."""
        return torch.float32

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: Any = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> ModelOutput | tuple:
        """Run the graph.

        Args:
            pixel_values: `(batch_size, 3, height, width)` in ``[0, 1]`` from the model's image processor.
            labels: Not supported: training needs the PyTorch model.
            output_hidden_states: Not supported (the graph returns only the task's outputs).
            return_dict: Return the output dataclass (default) instead of a tuple.

        Returns:
            The task's output dataclass, e.g. ``YoloObjectDetectionOutput`` with ``logits`` `(B, anchors, classes)`
            and ``pred_boxes`` `(B, anchors, 4)` normalised ``(cx, cy, w, h)``. A batch of images of different
            letterbox shapes runs as one graph call per shape, padded back together as the PyTorch model does
            (:mod:`yolo_transformers.processing.batching`).
        """
        if labels is not None or output_hidden_states:
            raise ExportError(f"The {self.runtime} model only predicts (no labels, no hidden_states); load the "
                              "PyTorch model (from_pretrained without runtime=) to train or read features.")
        if pixel_values.ndim != 4:
            raise ValueError(f"pixel_values must be (batch_size, channels, height, width), got shape "
                             f"{tuple(pixel_values.shape)}; prepare images with the model's image processor.")
        if (groups := size_groups(pixel_values)) is not None:  # mixed letterbox shapes: one graph run per shape
            output = groups.merge([self.forward(x, return_dict=True) for x in groups.inputs])
        else:
            arrays = self.session.run(plain(pixel_values).detach().to("cpu", torch.float32).numpy())
            output = self.output_class(**{name: torch.from_numpy(value) for name, value in arrays.items()})
        return output if (self.config.return_dict if return_dict is None else return_dict) else output.to_tuple()

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> Any:
        """The head's inference tensors in Ultralytics' layout, as the PyTorch model's ``ultralytics_outputs``
        returns them (what ``evaluate`` feeds Ultralytics' validators); shapes in
        :func:`~yolo_transformers.network.ultralytics_rows.ultralytics_rows`."""
        outputs = self.forward(pixel_values, return_dict=True)
        return ultralytics_rows(self.config.task, pixel_values, outputs, bool(self.config.end_to_end))

    def save_pretrained(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: export from the PyTorch model (``model.export``), which writes the folder."""
        raise ExportError("A runtime model has no PyTorch weights to save; load the PyTorch model and call "
                          "model.export(DIR, format=...) to write a folder with the graph.")

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *args: Any,
        runtime: str = "onnx",
        output_class: type[ModelOutput] | None = None,
        num_threads: int | None = None,
        precision: str = "f32",
        config: YoloConfig | None = None,
        **kwargs: Any,
    ) -> YoloRuntimeModel:
        """Load an exported graph with its ``config.json`` from a folder or a Hub repo.

        Prefer ``runtime=`` on a YOLO or Auto class (``AutoModel.from_pretrained(path, runtime="onnx")``), which
        passes the task's ``output_class``.

        Args:
            pretrained_model_name_or_path: A folder written by ``model.export`` / ``yolo-hf export``, or a repo id.
            runtime: ``"onnx"`` (reads ``onnx/model.onnx``) or ``"openvino"`` (``openvino/model.xml`` and ``.bin``).
            output_class: The task's output dataclass.
            num_threads: Threads per inference (default: the runtime's, one per core).
            precision: OpenVINO only: ``"f32"`` (default; what the export verified), ``"bf16"`` or ``"f16"``
                (faster where the CPU has them; not verified, see the README for their accuracy).
            config: A :class:`YoloConfig` to use instead of the folder's ``config.json``.
            **kwargs: ``revision``, ``token``, ``cache_dir``, ``local_files_only``, ``force_download``,
                ``subfolder``; other transformers loading options (``dtype``, ``device_map``) do not apply.

        Raises:
            ExportError: unknown runtime, or no (loadable) graph in the folder/repo.
            MissingExtraError: the runtime's extra is not installed.
            ConfigError: ``config.json`` is malformed.
        """
        check_runtime(runtime)
        if output_class is None:
            raise TypeError("YoloRuntimeModel.from_pretrained needs output_class; load through a YOLO or Auto class "
                            "instead: AutoModel.from_pretrained(path, runtime='onnx').")
        hub = {name: kwargs.pop(name) for name in _HUB_ARGUMENTS if name in kwargs}
        if kwargs:  # dtype, device_map, trust_remote_code... (pipelines pass them): the graph is float32 on the CPU
            logger.debug("%s loading ignores %s", runtime, sorted(kwargs))
        if not isinstance(config, YoloConfig):
            config = YoloConfig.from_pretrained(pretrained_model_name_or_path, **hub)
        files = [cached_file(pretrained_model_name_or_path, name, _raise_exceptions_for_missing_entries=False, **hub)
                 for name in GRAPH_FILES[runtime]]
        if any(path is None for path in files):
            raise ExportError(
                f"{pretrained_model_name_or_path} has no {' / '.join(GRAPH_FILES[runtime])}: export it first with "
                f"`yolo-hf export {pretrained_model_name_or_path} --format {runtime} --output DIR`."
            )
        folder = Path(files[0]).parents[1]  # the graph sits one folder below the model folder
        session = open_session(runtime, folder, output_fields(output_class), num_threads, precision)
        return cls(config, session, output_class)


def load_runtime_model(model_class: type, pretrained_model_name_or_path: str | os.PathLike, runtime: str, *args: Any,
                       **kwargs: Any) -> YoloRuntimeModel:
    """``model_class.from_pretrained(path, runtime=...)``: the exported graph behind ``model_class``'s outputs.

    Raises:
        TaskMismatchError: the folder holds a model of another task than ``model_class`` serves.
    """
    if args:
        kwargs["config"] = args[0]
    model = YoloRuntimeModel.from_pretrained(pretrained_model_name_or_path, runtime=runtime,
                                             output_class=model_class.output_class, **kwargs)
    served = getattr(model_class, "task", "")
    if served and model.config.task != served:
        raise TaskMismatchError(
            f"{pretrained_model_name_or_path} holds a {model.config.task!r} model but {model_class.__name__} serves "
            f"{served!r}; load it with the class for {model.config.task!r} (or the Auto class)."
        )
    return model
