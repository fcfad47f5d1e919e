"""How two sets of post-processed predictions are compared: the rules every parity check shares.

The converter compares Ultralytics' predictions with ours (:mod:`yolo_transformers.convert.parity`), and the
ONNX/OpenVINO export compares the exported graph's with the PyTorch model's (:mod:`yolo_transformers.runtime`): both
with :func:`compare_task_results` and the tolerances in :data:`TOLERANCES`. Both sides arrive as plain arrays
(:func:`detection_arrays` for detections): whoever owns the model and processor runs them, nothing here does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks import TASK_SPECS

__all__ = ["TOLERANCES", "AT_LEAST", "TaskImageParity", "compare_task_results", "detection_arrays",
           "default_verification_images", "read_image_bgr"]

#: Default post-processing tolerances (names as in :attr:`TaskImageParity.metrics`).
TOLERANCES = {
    "max_box_diff": 0.5, "max_score_diff": 1e-3, "min_mask_iou": 0.99, "max_keypoint_diff": 0.5,
    "max_corner_diff": 0.5, "max_prob_diff": 1e-4, "pixel_agreement": 0.999, "max_depth_rel_diff": 1e-4,
}
AT_LEAST = {"min_mask_iou", "pixel_agreement"}  # metrics that must be >= their tolerance (others <=)


@dataclass
class TaskImageParity:
    """Post-processed results of one image compared with a reference (Ultralytics', or the PyTorch model's).

    Attributes:
        image: File name or description of the image.
        reference_count / our_count: Number of detections (or classes/pixels compared) of the reference / of ours.
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
            (value >= tolerances[name]) if name in AT_LEAST else (value <= tolerances[name])
            for name, value in self.metrics.items()
            if name in tolerances
        )
        return self.reference_count == self.our_count and self.labels_match and within

    def describe(self, names: tuple[str, str] = ("ultralytics", "ours")) -> str:
        """One summary line; ``names`` say what the reference and ours are."""
        numbers = "; ".join(f"{name} {value:.4g}" for name, value in self.metrics.items())
        return (f"{self.image}: {names[0]} {self.reference_count}, {names[1]} {self.our_count}; labels "
                f"{'equal' if self.labels_match else 'DIFFER'}; {numbers}")


def default_verification_images() -> list[Path]:
    """The real photos Ultralytics ships (``bus.jpg``, ``zidane.jpg``)."""
    from ultralytics.utils import ASSETS

    return [p for p in (Path(ASSETS) / "bus.jpg", Path(ASSETS) / "zidane.jpg") if p.is_file()]


def read_image_bgr(path: Path) -> np.ndarray:
    """Read an image as Ultralytics does (OpenCV, BGR uint8)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: not a readable image.")
    return image


def detection_arrays(result: dict[str, Any], task: str) -> dict[str, np.ndarray]:
    """One image's post-processed detections (a ``post_process_*`` result dict of tensors) as the plain arrays
    :func:`compare_task_results` compares: ``scores`` (N,) float64, ``labels`` (N,) int64, ``boxes`` (N, 4) xyxy
    pixels or ``corners`` (N, 8), plus ``masks`` (N, H, W) and ``keypoints`` (N, K, 2 or 3) where the task has them."""
    spec = TASK_SPECS[task]
    out = {"scores": result["scores"].double().cpu().numpy(), "labels": result["labels"].cpu().numpy().astype(np.int64)}
    if spec.detection_geometry == "corners":
        out["corners"] = result["corners"].double().cpu().numpy().reshape(-1, 8)
    else:
        out["boxes"] = result["boxes"].double().cpu().numpy()
    if "masks" in spec.detection_extras:
        out["masks"] = result["masks"].cpu().numpy()
    if "keypoints" in spec.detection_extras:
        out["keypoints"] = result["keypoints"].double().cpu().numpy()
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


def _distance(reference: dict, ours: dict, ref_index: int, our_index: int, geometry: str) -> float:
    """How far apart two detections are: their largest box (or corner) difference, and keypoint difference when
    there are keypoints (near-duplicate boxes of a low threshold may carry different keypoints)."""
    distance = float(np.abs(ours[geometry][our_index] - reference[geometry][ref_index]).max())
    if "keypoints" in reference and reference["keypoints"][ref_index].size:
        xy = ours["keypoints"][our_index][:, :2] - reference["keypoints"][ref_index][:, :2]
        distance = max(distance, float(np.abs(xy).max()))
    return distance


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
        distances = [_distance(reference, ours, int(index), j, geometry) for j in candidates]
        best = candidates[int(np.argmin(distances))]
        unused.discard(best)
        pairs.append(_pair_differences(reference, ours, int(index), best, geometry))
    worst = _pair_differences(reference, reference, 0, 0, geometry) if len(reference["scores"]) else {}
    for diffs in pairs:
        worst = {k: (min if k in AT_LEAST else max)(worst[k], v) for k, v in diffs.items()}
    good = sum(TaskImageParity(name, 0, 0, True, diffs).passed(TOLERANCES) for diffs in pairs)
    total = max(len(reference["scores"]), len(ours["scores"]))
    worst["matched_fraction"] = good / total if total else 1.0
    return TaskImageParity(name, len(reference["scores"]), len(ours["scores"]), labels_match, worst)


def compare_task_results(reference: dict, ours: dict, task: str, name: str = "image") -> TaskImageParity:
    """Measure how far our post-processed results are from Ultralytics' for one image."""
    parity = TASK_SPECS[task].parity
    if parity == "probabilities":
        top_ref, top_our = np.argsort(-reference["probs"])[:5], np.argsort(-ours["probs"])[:5]
        diff = float(np.abs(reference["probs"] - ours["probs"]).max())
        count = len(reference["probs"])
        same_top5 = bool((top_ref == top_our).all())
        return TaskImageParity(name, count, len(ours["probs"]), same_top5, {"max_prob_diff": diff})
    if parity == "class_map":
        same = reference["class_map"].shape == ours["class_map"].shape
        agreement = float((reference["class_map"] == ours["class_map"]).mean()) if same else 0.0
        return TaskImageParity(name, reference["class_map"].size, ours["class_map"].size, same,
                               {"pixel_agreement": agreement})
    if parity == "depth":
        same = reference["depth"].shape == ours["depth"].shape
        scale = np.maximum(np.abs(reference["depth"]), 1e-6)
        relative = np.abs(reference["depth"] - ours["depth"]) / scale if same else [1.0]
        return TaskImageParity(name, reference["depth"].size, ours["depth"].size, same,
                               {"max_depth_rel_diff": float(np.max(relative))})
    return _compare_detections(reference, ours, name)
