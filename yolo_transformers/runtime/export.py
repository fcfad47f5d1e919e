"""Export a YOLO model to an ONNX graph or an OpenVINO IR, verified against the PyTorch model before it is written.

The graph computes exactly the model's forward at inference (Conv+BatchNorm fused, as the PyTorch path runs it):
input ``pixel_values`` `(batch, 3, height, width)`, outputs the task's output dataclass fields by name (``logits``,
``pred_boxes``, ``mask_coefficients``, ``proto_masks``, ``pred_keypoints``, ``pred_angles``, ``predicted_depth``).
Batch and image size are dynamic. ONNX uses opset :data:`ONNX_OPSET`; the OpenVINO IR is converted from that ONNX
graph and kept in float32.

Layout written (beside ``config.json``, ``model.safetensors`` and ``preprocessor_config.json``)::

    onnx/model.onnx                           (format="onnx")
    openvino/model.xml, openvino/model.bin    (format="openvino")
"""

from __future__ import annotations

import copy
import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ..compat import configure_head, fuse_quietly
from ..errors import ExportParityError
from ..image_processing_auto import processor_for_config
from ..processing.result_comparison import default_verification_images, read_image_bgr
from ..tasks import TASK_SPECS
from .backends import GRAPH_FILES, INPUT_NAME, RUNTIMES, check_runtime, open_session, require
from .model import YoloRuntimeModel, output_fields
from .verification import RAW_TOLERANCE, ExportReport, verify_runtime_model

__all__ = ["ONNX_OPSET", "ExportResult", "export_model"]

logger = logging.getLogger(__name__)

#: The ONNX opset the graphs are exported with (ONNX Runtime >= 1.12 and OpenVINO read it).
ONNX_OPSET = 17


@dataclass
class ExportResult:
    """What :func:`export_model` wrote.

    Attributes:
        output_dir: The model folder.
        files: The graph files written, relative to ``output_dir`` (``onnx/model.onnx``...).
        report: The verification's :class:`~yolo_transformers.runtime.verification.ExportReport` (None when skipped).
    """

    output_dir: Path
    files: tuple[str, ...]
    report: ExportReport | None


class _GraphModule(nn.Module):
    """The model's inference forward as a function of ``pixel_values`` returning its output fields as a tuple."""

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        super().__init__()
        self.model, self.names = model, tuple(names)

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(pixel_values=pixel_values, return_dict=True)
        return tuple(outputs[name] for name in self.names)


def _export_copy(model: Any) -> Any:
    """A float32, eval-mode, Conv+BatchNorm-fused copy of ``model`` whose head rebuilds anchors per input size."""
    twin = copy.deepcopy(model).float().eval()
    twin.fuse_for_inference = False  # the copy is fused itself; no twin of the twin
    twin.model = fuse_quietly(twin.model)
    configure_head(twin.model.model[-1], dynamic=True)
    return twin.requires_grad_(False)


def _probe_inputs(model: Any, processor: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two inputs differing in batch, height and width: their outputs show which output dimensions are dynamic."""
    center_crop = TASK_SPECS[model.config.task].resize == "center_crop"
    height, width = processor.input_shape() if center_crop else processor.letterbox_shape()
    step = max(int(model.config.max_stride), 32)
    generator = torch.Generator().manual_seed(0)
    channels = model.config.num_channels
    return (torch.rand(1, channels, height, width, generator=generator),
            torch.rand(2, channels, height + step, width + 2 * step, generator=generator))


def _write_onnx(model: Any, processor: Any, target: Path, opset: int) -> None:
    """Trace ``model`` into an ONNX graph at ``target`` with dynamic batch and image size."""
    require("onnx", RUNTIMES["onnx"][0], "Exporting to ONNX")
    exported = _export_copy(model)
    first, second = _probe_inputs(model, processor)
    with torch.no_grad():
        small, large = exported(pixel_values=first), exported(pixel_values=second)
    names = [name for name in output_fields(type(small)) if isinstance(small.get(name), torch.Tensor)]
    dynamic_axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}}
    for name in names:
        dynamic_axes[name] = {axis: f"{name}_{axis}" for axis, (a, b) in
                              enumerate(zip(small[name].shape, large[name].shape)) if a != b}
        dynamic_axes[name][0] = "batch"
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notices; the graph is verified below
        torch.onnx.export(_GraphModule(exported, names), (first,), str(target), dynamo=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=names, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)


def _write_openvino(onnx_file: Path, xml: Path) -> None:
    """Convert an ONNX graph to an OpenVINO IR (``.xml`` + ``.bin``), weights kept in float32."""
    ov = require("openvino", RUNTIMES["openvino"][0], "Exporting to OpenVINO")
    xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov.convert_model(str(onnx_file)), str(xml), compress_to_fp16=False)


def _default_processor(model: Any) -> Any:
    """The processor saved beside the model, else the one matching its config."""
    from transformers import AutoImageProcessor

    if model.name_or_path:
        try:
            return AutoImageProcessor.from_pretrained(model.name_or_path)
        except (OSError, ValueError):
            logger.info("no preprocessor_config.json with %s; using the one matching its config", model.name_or_path)
    return processor_for_config(model.config)


def export_model(
    model: Any,
    output_dir: str | Path,
    format: str = "onnx",
    *,
    processor: Any = None,
    images: Sequence[str | Path] | None = None,
    opset: int = ONNX_OPSET,
    verify: bool = True,
    threshold: float | None = None,
    raw_tolerance: float = RAW_TOLERANCE,
    tolerances: dict[str, float] | None = None,
) -> ExportResult:
    """Export ``model`` to ``output_dir`` as an ONNX graph or OpenVINO IR, after proving it predicts the same.

    The graph is written to a temporary folder, loaded in its runtime and compared with the PyTorch model (see
    :mod:`~yolo_transformers.runtime.verification`); only a graph that passes is copied into ``output_dir``, beside
    the model's ``config.json``, ``model.safetensors`` and ``preprocessor_config.json`` (written there too).

    Args:
        model: A ``YoloFor...`` PyTorch model.
        output_dir: The folder to write (created if missing; may be the folder the model was loaded from).
        format: ``"onnx"`` or ``"openvino"``.
        processor: The model's image processor (default: the one saved beside the model).
        images: Verification images (default: Ultralytics' ``bus.jpg`` and ``zidane.jpg``).
        opset: ONNX opset.
        verify: Compare with the PyTorch model before writing (default). ``False`` writes unverified.
        threshold: Score threshold of the post-processed comparison (default: the model's ``conf_threshold``).
        raw_tolerance: Largest allowed raw output difference.
        tolerances: Overrides of the post-processing tolerances.

    Returns:
        :class:`ExportResult`.

    Raises:
        ExportParityError: the graph's predictions differ; the message holds every measured difference.
        MissingExtraError: ``onnx``/``onnxruntime``/``openvino`` is not installed (the message names the extra).
        ExportError: unknown format.
    """
    check_runtime(format)
    processor = processor if processor is not None else _default_processor(model)
    output_dir = Path(output_dir)
    paths = list(images) if images is not None else default_verification_images()
    loaded = [(Path(p).name, read_image_bgr(Path(p))) for p in paths]
    report = None
    was_training = model.training
    model.eval()
    try:
        with tempfile.TemporaryDirectory(prefix="yolo-export-") as staging:
            staging = Path(staging)
            onnx_file = staging / GRAPH_FILES["onnx"][0]
            _write_onnx(model, processor, onnx_file, opset)
            if format == "openvino":
                _write_openvino(onnx_file, staging / GRAPH_FILES["openvino"][0])
            if verify:
                session = open_session(format, staging, output_fields(model.output_class))
                runtime_model = YoloRuntimeModel(model.config, session, model.output_class)
                report = verify_runtime_model(model, runtime_model, processor, loaded, threshold=threshold,
                                              raw_tolerance=raw_tolerance, tolerances=tolerances)
                if not report.passed:
                    raise ExportParityError(f"{format} export of {model.name_or_path or type(model).__name__} does "
                                            f"not match the PyTorch model; nothing was written.\n{report.summary()}")
            output_dir.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(output_dir)
            processor.save_pretrained(output_dir)
            for name in GRAPH_FILES[format]:
                (output_dir / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(staging / name, output_dir / name)
    finally:
        model.train(was_training)
    logger.info("wrote %s to %s", ", ".join(GRAPH_FILES[format]), output_dir)
    return ExportResult(output_dir, GRAPH_FILES[format], report)
