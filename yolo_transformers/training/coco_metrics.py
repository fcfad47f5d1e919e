"""COCO box metrics with pycocotools, plus precision and recall defined as Ultralytics reports them.

``mAP50-95``, ``mAP50`` and ``mAP75`` are pycocotools' ``COCOeval`` numbers (101 recall points, score-greedy
matching per image and class, category mean over classes that have ground truth) with ``maxDets`` raised to the
detector's ``max_det``. COCO has no single precision/recall; :func:`f1_precision_recall` reports them as
Ultralytics' ``val`` does: per class, the precision and recall curves over confidence at IoU 0.5 (from COCO's
own matches), read at the confidence that maximises the smoothed class-mean F1, then averaged over classes.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CocoAccumulator", "coco_metrics", "f1_precision_recall"]

logger = logging.getLogger(__name__)

_EPS = 1e-16
_CONFIDENCE_GRID = np.linspace(0, 1, 1000)


@dataclass
class CocoAccumulator:
    """Ground truth and detections collected image by image, in COCO's JSON layout.

    Attributes:
        categories: Class names by class index (COCO category id = class index).
        images: COCO ``images`` entries.
        annotations: COCO ground-truth ``annotations`` (ids start at 1: pycocotools treats id 0 as "no match").
        detections: COCO result entries ``{image_id, category_id, bbox, score}``.
    """

    categories: Sequence[str]
    images: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    detections: list[dict[str, Any]] = field(default_factory=list)

    def add_image(
        self, height: int, width: int, gt_boxes: np.ndarray, gt_classes: np.ndarray,
        det_boxes: np.ndarray, det_scores: np.ndarray, det_classes: np.ndarray,
    ) -> None:  # fmt: skip
        """Record one image.

        Args:
            height, width: Original image size in pixels.
            gt_boxes: `(N, 4)` ground-truth ``(x_min, y_min, w, h)`` pixels.
            gt_classes: `(N,)` class indices.
            det_boxes: `(M, 4)` detected ``(x1, y1, x2, y2)`` pixels in the original image.
            det_scores: `(M,)` confidences.
            det_classes: `(M,)` class indices.
        """
        image_id = len(self.images) + 1
        self.images.append({"id": image_id, "height": int(height), "width": int(width)})
        for box, cls in zip(np.asarray(gt_boxes, dtype=float).reshape(-1, 4), np.asarray(gt_classes).reshape(-1)):
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": image_id, "category_id": int(cls),
                "bbox": [float(v) for v in box], "area": float(box[2] * box[3]), "iscrowd": 0,
            })  # fmt: skip
        xyxy = np.asarray(det_boxes, dtype=float).reshape(-1, 4)
        xywh = np.concatenate((xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]), axis=1)
        for box, score, cls in zip(xywh, np.asarray(det_scores).reshape(-1), np.asarray(det_classes).reshape(-1)):
            self.detections.append({
                "image_id": image_id, "category_id": int(cls), "bbox": [float(v) for v in box], "score": float(score),
            })  # fmt: skip


def _quiet(function: Any, *args: Any) -> Any:
    """Call a pycocotools function, sending what it prints to the debug log."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = function(*args)
    if buffer.getvalue().strip():
        logger.debug("pycocotools: %s", buffer.getvalue().strip())
    return result


def _mean_valid(values: np.ndarray) -> float:
    """Mean of the entries COCO marks valid (``> -1``), 0 when none are."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else 0.0


def _smooth(y: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """Box-filter ``y`` with a window of ``fraction`` of its length, edges padded (as Ultralytics' F1 curve)."""
    width = round(len(y) * fraction * 2) // 2 + 1
    padded = np.concatenate((np.full(width // 2, y[0]), y, np.full(width // 2, y[-1])))
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def f1_precision_recall(evaluator: Any) -> tuple[float, float]:
    """Precision and recall at the best mean-F1 confidence, from a ``COCOeval`` that has run ``evaluate()``.

    Args:
        evaluator: ``pycocotools.cocoeval.COCOeval`` after ``evaluate()``.

    Returns:
        ``(precision, recall)``, class means at IoU 0.5, area "all", the last ``maxDets``.
    """
    params = evaluator.params
    max_det = params.maxDets[-1]
    areas, images = len(params.areaRng), len(params.imgIds)  # evalImgs is ordered class, area range, image
    p_curves, r_curves = [], []
    for k in range(len(params.catIds)):
        entries = [evaluator.evalImgs[k * areas * images + i] for i in range(images)]  # area range 0: "all"
        entries = [e for e in entries if e is not None]
        num_gt = sum(int(np.count_nonzero(e["gtIgnore"] == 0)) for e in entries)
        if num_gt == 0:
            continue
        scores = np.concatenate([e["dtScores"][:max_det] for e in entries]) if entries else np.zeros(0)
        matched = np.concatenate([e["dtMatches"][0, :max_det] for e in entries]) if entries else np.zeros(0)
        ignored = np.concatenate([e["dtIgnore"][0, :max_det] for e in entries]) if entries else np.zeros(0)
        order = np.argsort(-scores, kind="mergesort")
        scores, matched, ignored = scores[order], matched[order], ignored[order].astype(bool)
        keep = ~ignored
        scores, tp = scores[keep], (matched[keep] > 0).astype(float)
        if not scores.size:
            p_curves.append(np.zeros_like(_CONFIDENCE_GRID))
            r_curves.append(np.zeros_like(_CONFIDENCE_GRID))
            continue
        tpc, fpc = tp.cumsum(), (1 - tp).cumsum()
        r_curves.append(np.interp(-_CONFIDENCE_GRID, -scores, tpc / (num_gt + _EPS), left=0))
        p_curves.append(np.interp(-_CONFIDENCE_GRID, -scores, tpc / (tpc + fpc), left=1))
    if not p_curves:
        return 0.0, 0.0
    p, r = np.stack(p_curves), np.stack(r_curves)
    best = int(_smooth((2 * p * r / (p + r + _EPS)).mean(0)).argmax())
    return float(p[:, best].mean()), float(r[:, best].mean())


def coco_metrics(accumulator: CocoAccumulator, max_det: int = 300) -> dict[str, float]:
    """Run ``COCOeval`` (bbox) on what ``accumulator`` collected.

    Args:
        accumulator: Ground truth and detections.
        max_det: Detections kept per image and class (COCO ``maxDets``; pycocotools' default is 100, Ultralytics
            keeps up to 300 per image).

    Returns:
        ``{"mAP50-95", "mAP50", "mAP75", "precision", "recall"}`` as floats in ``[0, 1]``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    zeros = {"mAP50-95": 0.0, "mAP50": 0.0, "mAP75": 0.0, "precision": 0.0, "recall": 0.0}
    if not accumulator.annotations:
        logger.warning("the evaluation set has no ground-truth boxes: every metric is 0")
        return zeros
    if not accumulator.detections:
        logger.warning("the model detected nothing on the evaluation set: every metric is 0")
        return zeros
    ground_truth = COCO()
    ground_truth.dataset = {
        "images": accumulator.images,
        "annotations": accumulator.annotations,
        "categories": [{"id": i, "name": str(name)} for i, name in enumerate(accumulator.categories)],
    }
    _quiet(ground_truth.createIndex)
    detections = _quiet(ground_truth.loadRes, accumulator.detections)
    evaluator = COCOeval(ground_truth, detections, iouType="bbox")
    evaluator.params.maxDets = [1, 10, int(max_det)]
    _quiet(evaluator.evaluate)
    _quiet(evaluator.accumulate)
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # (iou thresholds, recall points, classes)
    p, r = f1_precision_recall(evaluator)
    return {
        "mAP50-95": _mean_valid(precision),
        "mAP50": _mean_valid(precision[0]),
        "mAP75": _mean_valid(precision[5]),
        "precision": p,
        "recall": r,
    }
