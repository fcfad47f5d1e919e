"""Conversion parity for the non-detection tasks, against Ultralytics itself.

Like :mod:`yolo_transformers.convert.parity`, two checks:

1. Raw head outputs on fixed inputs (a seeded random tensor and the preprocessed verification images), unfused
   network against unfused model: the largest absolute difference (relative for depth) must stay within
   ``raw_tolerance``.
2. Post-processed results on real images: ``YOLO(checkpoint).predict(image)`` (``retina_masks=True`` for
   segmentation) against our processor + model + post-processing, per task:

   ============  ===================================================================================
   segment       same detections (count, classes), boxes within 0.5 px, scores within 1e-3, mask IoU >= 0.99
   pose          same detections, boxes within 0.5 px, scores within 1e-3, keypoints within 0.5 px
   obb           same detections, corners within 0.5 px, scores within 1e-3
   classify      probabilities within 1e-4, same top-5
   semantic      class maps equal on >= 99.9 % of pixels
   depth         depth within 1e-4 relative
   ============  ===================================================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..compat import keep_torch_threads
from ..errors import ParityError
from .parity import ParityReport, _load_reference_yolo, _restore, default_verification_images, read_image_bgr

__all__ = ["TaskImageParity", "TaskParityReport", "verify_task_conversion", "TOLERANCES", "reference_head_outputs",
           "compare_task_results", "our_task_results", "ultralytics_task_results"]

logger = logging.getLogger(__name__)

#: Default post-processing tolerances (names as in :attr:`TaskImageParity.metrics`).
TOLERANCES = {
    "max_box_diff": 0.5, "max_score_diff": 1e-3, "min_mask_iou": 0.99, "max_keypoint_diff": 0.5,
    "max_corner_diff": 0.5, "max_prob_diff": 1e-4, "pixel_agreement": 0.999, "max_depth_rel_diff": 1e-4,
}
_AT_LEAST = {"min_mask_iou", "pixel_agreement"}  # metrics that must be >= their tolerance (others <=)


@dataclass
class TaskImageParity:
    """Post-processed results of one image compared with Ultralytics'.

    Attributes:
        image: File name or description of the image.
        reference_count / our_count: Number of detections (or classes/pixels compared) from Ultralytics / from us.
        labels_match: Same classes (detections), same top-5 (classification); always True for dense tasks.
        metrics: Measured differences, e.g. ``max_box_diff`` (pixels), ``min_mask_iou``, ``max_prob_diff``.
    """

    image: str
    reference_count: int
    our_count: int
    labels_match: bool
    metrics: dict[str, float] = field(default_factory=dict)

    def passed(self, tolerances: dict[str, float]) -> bool:
        """Whether counts, labels and every metric are within ``tolerances``."""
        within = all(
            (value >= tolerances[name]) if name in _AT_LEAST else (value <= tolerances[name])
            for name, value in self.metrics.items()
            if name in tolerances
        )
        return self.reference_count == self.our_count and self.labels_match and within

    def describe(self) -> str:
        """One summary line."""
        numbers = "; ".join(f"{name} {value:.4g}" for name, value in self.metrics.items())
        return (f"{self.image}: ultralytics {self.reference_count}, ours {self.our_count}; labels "
                f"{'equal' if self.labels_match else 'DIFFER'}; {numbers}")


@dataclass
class TaskParityReport(ParityReport):
    """Result of :func:`verify_task_conversion` (a :class:`ParityReport` whose images are :class:`TaskImageParity`)."""

    task: str = "detect"
    tolerances: dict[str, float] = field(default_factory=lambda: dict(TOLERANCES))

    @property
    def passed(self) -> bool:
        """Whether every check is within its tolerance."""
        return self.raw_max_abs_diff <= self.raw_tolerance and all(i.passed(self.tolerances) for i in self.images)

    def summary(self) -> str:
        """A human-readable multi-line summary with the measured numbers."""
        kind = "max relative diff" if self.task == "depth" else "max abs diff"
        lines = [f"{self.task} raw head outputs: {kind} {self.raw_max_abs_diff:.3e} "
                 f"(tolerance {self.raw_tolerance:.0e})"]
        lines += [image.describe() for image in self.images]
        lines.append("PARITY OK" if self.passed else "PARITY FAILED")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- raw head outputs
def reference_head_outputs(network: torch.nn.Module, pixel_values: torch.Tensor, task: str,
                           end_to_end: bool) -> list[torch.Tensor]:
    """Ultralytics' inference tensors, shaped like ``ultralytics_outputs()`` of our task models."""
    head = network.model[-1]
    if getattr(head, "one2one_cv2", None) is not None:
        head.end2end = end_to_end
    if hasattr(head, "shape"):
        head.shape = None
    out = network(pixel_values.contiguous())  # NCHW, as Ultralytics' own preprocessing makes it
    if task == "classify":
        return [out[0]]  # (probabilities, logits)
    if task in ("semantic", "depth"):
        return [out]
    decoded, raw = out
    tensors = list(decoded) if task == "segment" else [decoded]  # segment: (predictions, prototypes)
    if end_to_end:  # the pre-top-k tensor of the one-to-one branch
        tensors[0] = head._inference(raw["one2one"])
    return tensors


def _raw_difference(reference: list[torch.Tensor], ours: list[torch.Tensor], relative: bool) -> float:
    worst = 0.0
    for ref, our in zip(reference, ours):
        diff = (ref.float() - our.float()).abs()
        if relative:
            diff = diff / ref.float().abs().clamp_min(1e-6)
        worst = max(worst, float(diff.max()))
    return worst


# ---------------------------------------------------------------------------------------------- post-processed results
def ultralytics_task_results(
    yolo: Any, image_bgr: np.ndarray, task: str, **predict_kwargs: Any
) -> dict[str, np.ndarray]:
    """``yolo.predict(image)`` as plain arrays (segmentation with ``retina_masks=True``)."""
    if task == "segment":
        predict_kwargs.setdefault("retina_masks", True)
    with keep_torch_threads():  # Ultralytics resets the process's thread count on every predict
        result = yolo.predict(image_bgr, verbose=False, device="cpu", **predict_kwargs)[0]
    if task == "classify":
        return {"probs": result.probs.data.double().numpy()}
    if task == "semantic":
        return {"class_map": result.semantic_mask.data.long().numpy()}
    if task == "depth":
        return {"depth": result.depth.data.double().numpy()}
    boxes = result.obb if task == "obb" else result.boxes
    out = {"scores": boxes.conf.double().numpy(), "labels": boxes.cls.long().numpy()}
    if task == "obb":
        out["corners"] = boxes.xyxyxyxy.double().numpy().reshape(-1, 8)
    else:
        out["boxes"] = boxes.xyxy.double().numpy()
    if task == "segment":
        out["masks"] = result.masks.data.bool().numpy() if result.masks is not None else np.zeros((0, 1, 1), bool)
    if task == "pose":
        out["keypoints"] = result.keypoints.data.double().numpy()
    return out


def our_task_results(model: Any, processor: Any, image_bgr: np.ndarray, threshold: float | None = None
                     ) -> dict[str, np.ndarray]:
    """Our processor + model + post-processing on one image (given as BGR, fed as RGB), as plain arrays."""
    task = model.config.task
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    inputs = processor(images=rgb, return_tensors="pt")
    with torch.no_grad():
        outputs = model(pixel_values=inputs["pixel_values"])
    size = [rgb.shape[:2]]
    if task == "classify":
        return {"probs": outputs.logits.float().softmax(-1)[0].double().numpy()}
    if task == "semantic":
        return {"class_map": processor.post_process_semantic_segmentation(outputs, size)[0].numpy()}
    if task == "depth":
        return {"depth": processor.post_process_depth_estimation(outputs, size)[0]["predicted_depth"].double().numpy()}
    method = {"segment": "post_process_instance_segmentation", "pose": "post_process_pose_estimation",
              "obb": "post_process_oriented_object_detection"}[task]
    result = getattr(processor, method)(outputs, threshold, size)[0]
    out = {"scores": result["scores"].double().numpy(), "labels": result["labels"].numpy().astype(np.int64)}
    if task == "obb":
        out["corners"] = result["corners"].double().numpy().reshape(-1, 8)
    else:
        out["boxes"] = result["boxes"].double().numpy()
    if task == "segment":
        out["masks"] = result["masks"].numpy()
    if task == "pose":
        out["keypoints"] = result["keypoints"].double().numpy()
    return out


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _pair_differences(reference: dict, ours: dict, ref_index: int, our_index: int, geometry: str) -> dict[str, float]:
    """Per-detection differences of one matched pair (names as in :data:`TOLERANCES`)."""
    key = "max_corner_diff" if geometry == "corners" else "max_box_diff"
    diffs = {key: float(np.abs(ours[geometry][our_index] - reference[geometry][ref_index]).max()),
             "max_score_diff": float(abs(ours["scores"][our_index] - reference["scores"][ref_index]))}
    if "masks" in reference:
        diffs["min_mask_iou"] = _mask_iou(ours["masks"][our_index], reference["masks"][ref_index])
    if "keypoints" in reference:
        xy = ours["keypoints"][our_index][:, :2] - reference["keypoints"][ref_index][:, :2]
        diffs["max_keypoint_diff"] = float(np.abs(xy).max()) if xy.size else 0.0
    return diffs


def _compare_detections(reference: dict, ours: dict, name: str) -> TaskImageParity:
    """Pair each reference detection (by descending score) with our nearest unused detection of the same class.

    Besides the worst difference of every measure, ``matched_fraction`` is the share of detections (of the larger
    set) whose pair is within every per-detection tolerance of :data:`TOLERANCES`.
    """
    geometry = "corners" if "corners" in reference else "boxes"
    unused = set(range(len(ours["scores"])))
    labels_match = len(reference["scores"]) == len(ours["scores"])
    pairs = []
    for index in np.argsort(-reference["scores"], kind="stable"):
        candidates = [j for j in unused if ours["labels"][j] == reference["labels"][index]]
        if not candidates:
            labels_match = False
            continue
        distances = [np.abs(ours[geometry][j] - reference[geometry][index]).max() for j in candidates]
        best = candidates[int(np.argmin(distances))]
        unused.discard(best)
        pairs.append(_pair_differences(reference, ours, int(index), best, geometry))
    worst = _pair_differences(reference, reference, 0, 0, geometry) if len(reference["scores"]) else {}
    for diffs in pairs:
        worst = {k: (min if k in _AT_LEAST else max)(worst[k], v) for k, v in diffs.items()}
    good = sum(TaskImageParity(name, 0, 0, True, diffs).passed(TOLERANCES) for diffs in pairs)
    total = max(len(reference["scores"]), len(ours["scores"]))
    worst["matched_fraction"] = good / total if total else 1.0
    return TaskImageParity(name, len(reference["scores"]), len(ours["scores"]), labels_match, worst)


def compare_task_results(reference: dict, ours: dict, task: str, name: str = "image") -> TaskImageParity:
    """Measure how far our post-processed results are from Ultralytics' for one image."""
    if task == "classify":
        top_ref, top_our = np.argsort(-reference["probs"])[:5], np.argsort(-ours["probs"])[:5]
        diff = float(np.abs(reference["probs"] - ours["probs"]).max())
        count = len(reference["probs"])
        same_top5 = bool((top_ref == top_our).all())
        return TaskImageParity(name, count, len(ours["probs"]), same_top5, {"max_prob_diff": diff})
    if task == "semantic":
        same = reference["class_map"].shape == ours["class_map"].shape
        agreement = float((reference["class_map"] == ours["class_map"]).mean()) if same else 0.0
        return TaskImageParity(name, reference["class_map"].size, ours["class_map"].size, same,
                               {"pixel_agreement": agreement})
    if task == "depth":
        same = reference["depth"].shape == ours["depth"].shape
        scale = np.maximum(np.abs(reference["depth"]), 1e-6)
        relative = np.abs(reference["depth"] - ours["depth"]) / scale if same else [1.0]
        return TaskImageParity(name, reference["depth"].size, ours["depth"].size, same,
                               {"max_depth_rel_diff": float(np.max(relative))})
    return _compare_detections(reference, ours, name)


# ---------------------------------------------------------------------------------------------- the check
def _raw_inputs(model: Any, processor: Any, images: list[np.ndarray]) -> list[torch.Tensor]:
    """A seeded random batch at the model's input size plus each verification image, preprocessed."""
    if model.config.task == "classify":
        height, width = processor.input_shape()
    else:
        height, width = processor.letterbox_shape()
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.rand(2, model.config.num_channels, height, width, generator=generator)]
    for image in images:
        inputs.append(processor(images=np.ascontiguousarray(image[..., ::-1]), return_tensors="pt")["pixel_values"])
    return inputs


def verify_task_conversion(
    checkpoint: Any,
    model: Any,
    processor: Any,
    images: Sequence[Path] | None = None,
    *,
    raw_tolerance: float = 1e-4,
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
        raw_tolerance: Largest allowed raw difference (absolute; relative for depth).
        tolerances: Overrides of :data:`TOLERANCES`.
        trust_checkpoint: Load the reference without Ultralytics' restricted loader.
        raise_on_failure: Raise :class:`ParityError` if a check fails.
        predict_conf: Confidence threshold for both sides (default: the model's ``conf_threshold``, which is
            Ultralytics' default too).
        yolo_factory: Returns the reference ``YOLO`` model (default: loaded from ``checkpoint``).

    Returns:
        The :class:`TaskParityReport` with every measured difference.
    """
    task = model.config.task
    end_to_end = bool(model.config.end_to_end)
    paths = list(images) if images is not None else default_verification_images()
    loaded = [(Path(p).name, read_image_bgr(Path(p))) for p in paths]
    model = model.eval()
    network = checkpoint.network.float().eval()
    raw_diff = 0.0
    fuse_setting = model.fuse_for_inference  # raw outputs compare like with like: both networks unfused
    model.fuse_for_inference = False
    with torch.no_grad(), _restore(model, "fuse_for_inference", fuse_setting):
        for pixel_values in _raw_inputs(model, processor, [image for _, image in loaded]):
            reference = reference_head_outputs(network, pixel_values, task, end_to_end)
            ours = model.ultralytics_outputs(pixel_values)
            ours = list(ours) if isinstance(ours, tuple) else [ours]
            raw_diff = max(raw_diff, _raw_difference(reference, ours, relative=task == "depth"))
    report = TaskParityReport(raw_diff, raw_tolerance, task=task, tolerances={**TOLERANCES, **(tolerances or {})})
    conf = float(model.config.conf_threshold if predict_conf is None else predict_conf)
    yolo = (yolo_factory() if yolo_factory else _load_reference_yolo(checkpoint, trust_checkpoint)) if loaded else None
    predict_kwargs: dict[str, Any] = {} if task in ("classify", "semantic", "depth") else {"conf": conf}
    if end_to_end:
        predict_kwargs["nms"] = False
    for name, image in loaded:
        reference = ultralytics_task_results(yolo, image, task, **predict_kwargs)
        ours = our_task_results(model, processor, image, conf)
        report.images.append(compare_task_results(reference, ours, task, name))
    logger.info("%s", report.summary())
    if raise_on_failure and not report.passed:
        raise ParityError(f"{checkpoint.path}: converted {task} model does not match Ultralytics.\n{report.summary()}")
    return report
