"""Proof that a converted model predicts what the Ultralytics checkpoint predicts.

Two checks, both against Ultralytics itself:

1. Raw head outputs on fixed inputs (a seeded random tensor and the letterboxed verification images): every
   value must agree within ``max(raw_tolerance, raw_ulps float32 ulps of the reference value)``, i.e. within 1e-4
   for values up to ~800 and within 8 ulps (one ulp is the spacing of float32 numbers at that magnitude) above:
   keypoints decoded to ±2000 px are 1.2e-4 apart in float32, so a fixed 1e-4 would refuse rounding.
2. Post-processed results on real images: ``YOLO(checkpoint).predict(image)`` with its default settings against
   our processor + model + post-processing (``retina_masks=True`` for segmentation), per task:

   ============  ===================================================================================
   detect        same detections (count, classes), boxes within 0.5 px, scores within 1e-3
   segment       same detections, boxes within 0.5 px, scores within 1e-3, mask IoU >= 0.99
   pose          same detections, boxes within 0.5 px, scores within 1e-3, keypoints within 0.5 px
   obb           same detections, corners within 0.5 px, scores within 1e-3
   classify      probabilities within 1e-4, same top-5
   semantic      class maps equal on >= 99.9 % of pixels
   depth         depth within 1e-4 relative
   ============  ===================================================================================

Ultralytics' side of both checks is computed in :mod:`.reference`. Detection keeps its own report format
(:class:`ParityReport`); the other tasks report through :class:`TaskParityReport`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from ..compat import preserved_process_state
from ..errors import ParityError
from ..tasks import TASK_SPECS
from ..image_processing_auto import post_processed_arrays
from ..processing.result_comparison import TOLERANCES, TaskImageParity, compare_task_results
from .parity_report import ImageParity, ParityReport, TaskParityReport
from .reference import (
    default_verification_images,
    load_reference_yolo,
    read_image_bgr,
    reference_head_outputs,
    ultralytics_detections,
    ultralytics_task_results,
)

__all__ = ["ImageParity", "ParityReport", "TaskImageParity", "TaskParityReport", "TOLERANCES", "verify_conversion",
           "verify_task_conversion", "compare_task_results", "our_task_results", "raw_output_difference",
           "RAW_TOLERANCE", "RAW_ULPS"]

logger = logging.getLogger(__name__)


def _preserving_process_state(function: Callable) -> Callable:
    """Run ``function`` inside :func:`~yolo_transformers.compat.preserved_process_state` (Ultralytics' predictor and
    loader change torch's safe globals, thread count and the environment for the whole process)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with preserved_process_state():
            return function(*args, **kwargs)

    return wrapper


#: Default raw-output rule: within ``max(RAW_TOLERANCE, RAW_ULPS * ulp(reference))`` (absolute; relative for depth).
RAW_TOLERANCE, RAW_ULPS = 1e-4, 8


def raw_output_difference(reference: list[torch.Tensor], ours: list[torch.Tensor], relative: bool, tolerance: float,
                    ulps: int) -> tuple[float, float]:
    """``(worst difference, worst difference / allowed difference)`` over every raw output value.

    The allowed difference of a value is ``max(tolerance, ulps * ulp(|reference|))`` in float32; for ``relative``
    (depth) the difference is divided by the reference and compared with ``tolerance`` alone.
    """
    worst, worst_ratio = 0.0, 0.0
    for ref, our in zip(reference, ours):
        ref, our = ref.float(), our.float()
        diff = (ref - our).abs()
        if relative:
            diff = diff / ref.abs().clamp_min(1e-6)
            allowed = torch.full_like(diff, tolerance)
        else:
            magnitude = ref.abs()
            ulp = torch.nextafter(magnitude, torch.full_like(magnitude, float("inf"))) - magnitude
            allowed = torch.maximum(ulp * ulps, torch.full_like(diff, tolerance))
        if diff.numel():
            worst = max(worst, float(diff.max()))
            worst_ratio = max(worst_ratio, float((diff / allowed).max()))
    return worst, worst_ratio


def _match(reference: dict[str, np.ndarray], ours: dict[str, np.ndarray], name: str) -> ImageParity:
    """Detection's report line: :func:`compare_task_results`' pairing (each reference detection, by descending score,
    with our nearest unused detection of the same class) as the worst box and score differences."""
    compared = compare_task_results(reference, ours, "detect", name)
    return ImageParity(name, compared.reference_count, compared.our_count, compared.labels_match,
                       compared.metrics.get("max_box_diff", 0.0), compared.metrics.get("max_score_diff", 0.0))


@contextlib.contextmanager
def _restore(obj: object, attribute: str, value: object) -> Iterator[None]:
    """Set ``obj.attribute`` back to ``value`` when the block exits."""
    try:
        yield
    finally:
        setattr(obj, attribute, value)


def our_task_results(model: Any, processor: Any, image_bgr: np.ndarray, threshold: float | None = None
                     ) -> dict[str, np.ndarray]:
    """Our processor + model + post-processing on one image (given as BGR, fed as RGB), as the plain arrays
    :func:`compare_task_results` compares (:func:`~yolo_transformers.image_processing_auto.post_processed_arrays`).

    ``model`` is anything called like a YOLO model (``model(pixel_values=...)`` with a ``config``): the PyTorch model
    or the ONNX Runtime / OpenVINO one.
    """
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    inputs = processor(images=rgb, return_tensors="pt")
    with torch.no_grad():
        outputs = model(pixel_values=inputs["pixel_values"])
    return post_processed_arrays(processor, outputs, model.config.task, threshold, rgb.shape[:2])


def _raw_inputs(model: Any, processor: Any, images: list[np.ndarray]) -> list[torch.Tensor]:
    """A seeded random batch at the model's input size plus each verification image, preprocessed."""
    if TASK_SPECS[model.config.task].resize == "center_crop":
        height, width = processor.input_shape()
    else:
        height, width = processor.letterbox_shape()
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.rand(2, model.config.num_channels, height, width, generator=generator)]
    for image in images:
        inputs.append(processor(images=np.ascontiguousarray(image[..., ::-1]), return_tensors="pt")["pixel_values"])
    return inputs


@_preserving_process_state
def verify_conversion(
    checkpoint,
    model,
    processor,
    images: Sequence[Path] | None = None,
    *,
    raw_tolerance: float = RAW_TOLERANCE,
    raw_ulps: int = RAW_ULPS,
    box_tolerance: float = 0.5,
    score_tolerance: float = 1e-3,
    trust_checkpoint: bool = False,
    raise_on_failure: bool = True,
) -> ParityReport:
    """Compare a converted model with its source checkpoint, numerically.

    Args:
        checkpoint: The :class:`~yolo_transformers.convert.checkpoint.UltralyticsCheckpoint` the model came from.
        model: The converted float32 model.
        processor: Its :class:`YoloImageProcessor`.
        images: Real images for the detection check; defaults to Ultralytics' ``bus.jpg`` and ``zidane.jpg``.
        raw_tolerance: Allowed absolute difference of raw head outputs, for values up to ~800.
        raw_ulps: Allowed difference in float32 ulps of the reference value, where that is larger.
        box_tolerance: Largest allowed box coordinate difference in pixels.
        score_tolerance: Largest allowed score difference.
        trust_checkpoint: Predict with ``YOLO(checkpoint.path)`` (the file's own code) instead of the rebuilt network.
        raise_on_failure: Raise :class:`ParityError` if a check fails.

    Returns:
        The :class:`ParityReport` with every measured difference.
    """
    if model.config.task != "detect":  # masks, keypoints, rotated boxes, probabilities, class maps, depth
        return verify_task_conversion(checkpoint, model, processor, images, raw_tolerance=raw_tolerance,
                                      raw_ulps=raw_ulps,
                                      trust_checkpoint=trust_checkpoint, raise_on_failure=raise_on_failure)
    images = list(images) if images is not None else default_verification_images()
    end_to_end = bool(model.config.end_to_end)
    model = model.eval()
    network = checkpoint.network.float().eval()
    generator = torch.Generator().manual_seed(0)
    height, width = model.config.image_hw
    inputs = [torch.rand(2, model.config.num_channels, height, width, generator=generator)]
    loaded = [(Path(p).name, read_image_bgr(Path(p))) for p in images]
    for _, image in loaded:
        inputs.append(processor(images=np.ascontiguousarray(image[..., ::-1]), return_tensors="pt")["pixel_values"])
    raw_diff = raw_ratio = 0.0
    # Raw outputs compare like with like: both networks unfused. (Detections below go through the fused inference
    # path on both sides, as Ultralytics' predictor fuses too.)
    fuse_setting = model.fuse_for_inference
    model.fuse_for_inference = False
    with torch.no_grad(), _restore(model, "fuse_for_inference", fuse_setting):
        for pixel_values in inputs:
            reference = reference_head_outputs(network, pixel_values, "detect", end_to_end)
            diff, ratio = raw_output_difference(reference, [model.ultralytics_outputs(pixel_values)], False,
                                          raw_tolerance, raw_ulps)
            raw_diff, raw_ratio = max(raw_diff, diff), max(raw_ratio, ratio)
    report = ParityReport(raw_diff, raw_tolerance, box_tolerance=box_tolerance, score_tolerance=score_tolerance,
                          raw_ulps=raw_ulps, raw_ratio=raw_ratio)
    threshold = float(model.config.conf_threshold)
    yolo = load_reference_yolo(checkpoint, trust_checkpoint) if loaded else None
    for name, image in loaded:
        reference = ultralytics_detections(yolo, image, end_to_end)
        ours = our_task_results(model, processor, image, threshold)
        report.images.append(_match(reference, ours, name))
    logger.debug("parity %s: raw max abs diff %.3e", "ok" if report.passed else "FAILED", report.raw_max_abs_diff)
    if raise_on_failure and not report.passed:
        raise ParityError(f"{checkpoint.path}: converted model does not match Ultralytics.\n{report.summary()}")
    return report


@_preserving_process_state
def verify_task_conversion(
    checkpoint: Any,
    model: Any,
    processor: Any,
    images: Sequence[Path] | None = None,
    *,
    raw_tolerance: float = RAW_TOLERANCE,
    raw_ulps: int = RAW_ULPS,
    tolerances: dict[str, float] | None = None,
    trust_checkpoint: bool = False,
    raise_on_failure: bool = True,
    predict_conf: float | None = None,
    yolo_factory: Callable[[], Any] | None = None,
) -> TaskParityReport:
    """Compare a converted task model (segment, pose, obb, classify, semantic, depth) with its checkpoint.

    Args:
        checkpoint: The :class:`~yolo_transformers.convert.checkpoint.UltralyticsCheckpoint` the model came from.
        model: The converted float32 model.
        processor: Its image processor.
        images: Real images for the post-processed check; defaults to Ultralytics' ``bus.jpg`` and ``zidane.jpg``.
        raw_tolerance: Allowed raw difference (absolute, for values up to ~800; relative for depth).
        raw_ulps: Allowed difference in float32 ulps of the reference value, where that is larger (not depth).
        tolerances: Overrides of :data:`TOLERANCES`.
        trust_checkpoint: Predict with ``YOLO(checkpoint.path)`` (the file's own code) instead of the rebuilt network.
        raise_on_failure: Raise :class:`ParityError` if a check fails.
        predict_conf: Confidence threshold for both sides (default: the model's ``conf_threshold``, which is
            Ultralytics' default too).
        yolo_factory: Returns the reference ``YOLO`` model (default: loaded from ``checkpoint``).

    Returns:
        The :class:`TaskParityReport` with every measured difference.
    """
    task = model.config.task
    spec = TASK_SPECS[task]
    end_to_end = bool(model.config.end_to_end)
    paths = list(images) if images is not None else default_verification_images()
    loaded = [(Path(p).name, read_image_bgr(Path(p))) for p in paths]
    model = model.eval()
    network = checkpoint.network.float().eval()
    raw_diff = raw_ratio = 0.0
    fuse_setting = model.fuse_for_inference  # raw outputs compare like with like: both networks unfused
    model.fuse_for_inference = False
    with torch.no_grad(), _restore(model, "fuse_for_inference", fuse_setting):
        for pixel_values in _raw_inputs(model, processor, [image for _, image in loaded]):
            reference = reference_head_outputs(network, pixel_values, task, end_to_end)
            ours = model.ultralytics_outputs(pixel_values)
            ours = list(ours) if isinstance(ours, tuple) else [ours]
            diff, ratio = raw_output_difference(reference, ours, spec.parity == "depth", raw_tolerance, raw_ulps)
            raw_diff, raw_ratio = max(raw_diff, diff), max(raw_ratio, ratio)
    report = TaskParityReport(raw_diff, raw_tolerance, raw_ulps=raw_ulps, raw_ratio=raw_ratio, task=task,
                              tolerances={**TOLERANCES, **(tolerances or {})})
    conf = float(model.config.conf_threshold if predict_conf is None else predict_conf)
    yolo = (yolo_factory() if yolo_factory else load_reference_yolo(checkpoint, trust_checkpoint)) if loaded else None
    predict_kwargs: dict[str, Any] = {"conf": conf} if spec.parity == "detections" else {}
    if end_to_end:
        predict_kwargs["nms"] = False
    for name, image in loaded:
        reference = ultralytics_task_results(yolo, image, task, **predict_kwargs)
        ours = our_task_results(model, processor, image, conf)
        report.images.append(compare_task_results(reference, ours, task, name))
    logger.debug("parity %s: raw max abs diff %.3e", "ok" if report.passed else "FAILED", report.raw_max_abs_diff)
    if raise_on_failure and not report.passed:
        raise ParityError(f"{checkpoint.path}: converted {task} model does not match Ultralytics.\n{report.summary()}")
    return report
