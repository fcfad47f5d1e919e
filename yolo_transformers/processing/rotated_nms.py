"""Rotated-box NMS as Ultralytics' OBB predictor does it.

Ultralytics selects OBB detections with the detection NMS front end (best class per anchor above the confidence
threshold, ``max_nms`` highest kept, classes separated by a coordinate offset) followed by Fast-NMS
(Bolya et al., 2019) over the probabilistic IoU of the rotated boxes seen as Gaussians (``probiou``). Fast-NMS differs
from greedy NMS: a box is dropped when any higher-scoring box overlaps it above the threshold, even one that was
itself dropped. The IoU comes from Ultralytics' public ``batch_probiou`` so the numbers are identical.
"""

from __future__ import annotations

import torch

from .nms import KeptDetections, check_thresholds, empty_detections, nms_candidates

__all__ = ["rotated_non_max_suppression"]


def _fast_nms(rboxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices into ``rboxes`` kept by Fast-NMS, best first. ``rboxes`` ``(N, 5)`` xywhr, ``scores`` ``(N,)``."""
    from ultralytics.utils.metrics import batch_probiou

    order = torch.argsort(scores, descending=True)
    ordered = rboxes[order]
    overlaps = batch_probiou(ordered, ordered).triu_(diagonal=1)  # (N, N): IoU with every better-scoring box
    survivors = ((overlaps > iou_threshold).sum(0) <= 0).nonzero().view(-1)
    return order[survivors]


def _rotated_nms_one_image(
    scores: torch.Tensor,
    rboxes: torch.Tensor,
    conf_threshold: float,
    iou_threshold: float,
    max_det: int,
    agnostic: bool,
    max_nms: int,
    max_wh: int,
) -> KeptDetections:
    """Rotated NMS for one image; ``scores`` ``(A, C)`` probabilities, ``rboxes`` ``(A, 5)`` xywhr pixels."""
    selected = nms_candidates(scores, conf_threshold, max_nms)
    if selected is None:
        return empty_detections(scores.device, scores.dtype)
    anchors, conf, labels = selected
    candidates = rboxes[anchors]
    offsets = labels[:, None].to(candidates.dtype) * (0 if agnostic else max_wh)  # separates classes in xy space
    shifted = torch.cat((candidates[:, :2] + offsets, candidates[:, 2:]), dim=1)
    kept = _fast_nms(shifted, conf, iou_threshold)[:max_det]
    return KeptDetections(anchors[kept], conf[kept], labels[kept])


def rotated_non_max_suppression(
    scores: torch.Tensor,
    rboxes: torch.Tensor,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.7,
    max_det: int = 300,
    agnostic: bool = False,
    max_nms: int = 30000,
    max_wh: int = 7680,
) -> list[KeptDetections]:
    """Class-aware rotated NMS over every anchor, best class per anchor (Ultralytics' OBB predictor settings).

    Args:
        scores: ``(B, A, C)`` class probabilities (after sigmoid).
        rboxes: ``(B, A, 5)`` rotated boxes ``(cx, cy, w, h, angle)`` in network-input pixels, angle in radians.
        conf_threshold: Keep anchors whose best score is strictly greater than this.
        iou_threshold: Drop boxes whose probabilistic IoU with a better box of the same class exceeds this.
        max_det: Maximum detections kept per image.
        agnostic: Suppress across classes too.
        max_nms: Cap on candidates entering NMS (highest scores kept).
        max_wh: Per-class centre offset in pixels.

    Returns:
        One :class:`~yolo_transformers.processing.nms.KeptDetections` per image, ordered by descending score.
    """
    check_thresholds(conf_threshold, iou_threshold)
    if scores.ndim != 3 or rboxes.shape[:2] != scores.shape[:2] or rboxes.shape[-1] != 5:
        raise ValueError(
            f"Expected scores (B, A, C) and rotated boxes (B, A, 5), got {tuple(scores.shape)} and "
            f"{tuple(rboxes.shape)}"
        )
    return [
        _rotated_nms_one_image(s, b, conf_threshold, iou_threshold, max_det, agnostic, max_nms, max_wh)
        for s, b in zip(scores, rboxes)
    ]
