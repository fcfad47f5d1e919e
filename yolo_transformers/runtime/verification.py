"""Proof that an exported graph predicts what the PyTorch model predicts, before the graph is written.

Two checks, as for conversion (:mod:`yolo_transformers.convert.parity`), with the PyTorch model as the reference:

1. Raw outputs on a seeded random batch and on each letterboxed verification image: every output field
   (``logits``, ``pred_boxes``, ...) must agree within ``raw_tolerance``, measured relative to the field's
   largest magnitude when that exceeds 1 (logits and depths are not bounded; normalised boxes are).
2. Post-processed results of the same forward passes on the verification images, through the same processor and
   post-processing (:func:`~yolo_transformers.image_processing_auto.post_processed_arrays`), compared by
   :func:`~yolo_transformers.processing.result_comparison.compare_task_results` with the converter's tolerances
   (detections equal, boxes within 0.5 px, scores within 1e-3, masks, keypoints, rotated boxes, probabilities,
   class maps and depth as in :data:`~yolo_transformers.processing.result_comparison.TOLERANCES`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ..image_processing_auto import post_processed_arrays
from ..processing.result_comparison import TOLERANCES, TaskImageParity, compare_task_results

__all__ = ["ExportReport", "verify_runtime_model", "RAW_TOLERANCE"]

logger = logging.getLogger(__name__)

#: Largest raw difference allowed between the graph and PyTorch (float32 kernels differ in summation order).
RAW_TOLERANCE = 1e-3


@dataclass
class ExportReport:
    """What the export verification measured.

    Attributes:
        runtime: ``"onnx"`` or ``"openvino"``.
        raw_diffs: Output field -> largest difference over the raw inputs (relative above magnitude 1).
        raw_tolerance: The allowed raw difference.
        images: Post-processed comparison per verification image (reference: PyTorch).
        tolerances: Post-processing tolerances (names as in ``TOLERANCES``).
    """

    runtime: str
    raw_diffs: dict[str, float]
    raw_tolerance: float = RAW_TOLERANCE
    images: list[TaskImageParity] = field(default_factory=list)
    tolerances: dict[str, float] = field(default_factory=lambda: dict(TOLERANCES))

    @property
    def passed(self) -> bool:
        """Whether every check is within its tolerance."""
        return (all(diff <= self.raw_tolerance for diff in self.raw_diffs.values())
                and all(image.passed(self.tolerances) for image in self.images))

    def summary(self) -> str:
        """The measured numbers, one line per check, ending ``EXPORT PARITY OK`` or ``EXPORT PARITY FAILED``."""
        raw = ", ".join(f"{name} {diff:.2e}" for name, diff in self.raw_diffs.items())
        lines = [f"{self.runtime} raw outputs vs PyTorch: max diff {raw} (tolerance {self.raw_tolerance:.0e})"]
        lines += [image.describe(("pytorch", self.runtime)) for image in self.images]
        lines.append("EXPORT PARITY OK" if self.passed else "EXPORT PARITY FAILED")
        return "\n".join(lines)


def _raw_inputs(config: Any, processor: Any, images: Sequence[tuple[str, np.ndarray]]) -> list[torch.Tensor]:
    """A seeded random batch of two at the processor's input size, then each image preprocessed."""
    prepared = [processor(images=np.ascontiguousarray(image[..., ::-1]), return_tensors="pt")["pixel_values"]
                for _, image in images]
    if prepared:
        height, width = prepared[0].shape[-2:]
    else:
        height, width = config.image_hw
    generator = torch.Generator().manual_seed(0)
    return [torch.rand(2, config.num_channels, height, width, generator=generator), *prepared]


def _raw_difference(reference: torch.Tensor, ours: torch.Tensor) -> float:
    reference, ours = reference.float(), ours.float()
    if reference.shape != ours.shape:
        return float("inf")
    scale = max(1.0, float(reference.abs().max())) if reference.numel() else 1.0
    return float((reference - ours).abs().max()) / scale if reference.numel() else 0.0


def verify_runtime_model(
    model: Any,
    runtime_model: Any,
    processor: Any,
    images: Sequence[tuple[str, np.ndarray]],
    *,
    threshold: float | None = None,
    raw_tolerance: float = RAW_TOLERANCE,
    tolerances: dict[str, float] | None = None,
) -> ExportReport:
    """Compare a runtime model with the PyTorch model it was exported from.

    Args:
        model: The PyTorch ``YoloFor...`` model (eval mode).
        runtime_model: The :class:`~yolo_transformers.runtime.model.YoloRuntimeModel` over the exported graph.
        processor: The model's image processor.
        images: ``(name, BGR uint8 image)`` pairs.
        threshold: Score threshold of the post-processing (default: the model's ``conf_threshold``).
        raw_tolerance: Largest allowed raw difference.
        tolerances: Overrides of the post-processing tolerances.

    Returns:
        The :class:`ExportReport`.
    """
    raw_diffs: dict[str, float] = {}
    image_outputs = []  # (PyTorch, runtime) outputs of each verification image, post-processed below
    with torch.no_grad():
        for index, pixel_values in enumerate(_raw_inputs(model.config, processor, images)):
            reference, ours = model(pixel_values=pixel_values), runtime_model(pixel_values=pixel_values)
            for name in runtime_model.session.output_names:
                diff = _raw_difference(reference[name], ours[name])
                raw_diffs[name] = max(raw_diffs.get(name, 0.0), diff)
            if index:  # the first input is the random batch
                image_outputs.append((reference, ours))
    report = ExportReport(runtime_model.runtime, raw_diffs, raw_tolerance,
                          tolerances={**TOLERANCES, **(tolerances or {})})
    task = model.config.task
    conf = float(model.config.conf_threshold if threshold is None else threshold)
    for (name, image), (reference, ours) in zip(images, image_outputs):
        reference, ours = (post_processed_arrays(processor, outputs, task, conf, image.shape[:2])
                           for outputs in (reference, ours))
        report.images.append(compare_task_results(reference, ours, task, name))
    logger.info("%s", report.summary())
    return report
