"""Detection selection as Ultralytics does it: class-aware NMS for classic heads (axis-aligned and rotated boxes),
top-k for end-to-end heads.

Both selectors return, per image, the **anchor indices** of the kept detections together with their score
and class. Callers gather boxes and any other per-anchor data (mask coefficients, keypoints, angles) with
those indices, so one selector serves every task head.

Parity notes: :func:`non_max_suppression` follows ``ultralytics.utils.nms.non_max_suppression`` with the
detection predictor's settings (best class per anchor, ``max_nms`` pre-NMS cap, per-class coordinate offset
``max_wh``, ``torchvision.ops.nms``). :func:`end_to_end_topk` follows ``Detect.get_topk_index`` plus the
predictor's confidence filter for NMS-free heads (YOLOv10, YOLO26 one-to-one branch).

:func:`rotated_non_max_suppression` does what Ultralytics' OBB predictor does: the detection NMS front end (best class
per anchor above the confidence threshold, ``max_nms`` highest kept, classes separated by a coordinate offset) followed
by Fast-NMS (Bolya et al., 2019) over the probabilistic IoU of the rotated boxes seen as Gaussians (``probiou``).
Fast-NMS differs from greedy NMS: a box is dropped when any higher-scoring box overlaps it above the threshold, even
one that was itself dropped. The IoU comes from Ultralytics' public ``batch_probiou`` so the numbers are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torchvision

__all__ = ["KeptDetections", "non_max_suppression", "end_to_end_topk", "E2E_MIN_CANDIDATES", "nms_candidates",
           "empty_detections", "check_thresholds", "rotated_non_max_suppression",
           "non_max_suppression_from_logits"]

E2E_MIN_CANDIDATES = 300
"""Ultralytics' predictor asks end-to-end heads for at least this many top-k candidates before filtering."""


class KeptDetections(NamedTuple):
    """Detections kept for one image, best first.

    Attributes:
        indices: ``(N,)`` int64 anchor indices into the head's ``A`` anchors.
        scores: ``(N,)`` float confidence (sigmoid class probability).
        labels: ``(N,)`` int64 class indices.
    """

    indices: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def empty_detections(device: torch.device, dtype: torch.dtype) -> KeptDetections:
    """Zero detections on ``device``."""
    none = torch.zeros(0, dtype=torch.int64, device=device)
    return KeptDetections(none, torch.zeros(0, dtype=dtype, device=device), none.clone())


def check_thresholds(conf_threshold: float, iou_threshold: float | None = None) -> None:
    """Raise ``ValueError`` for thresholds outside ``[0, 1]``."""
    if not 0.0 <= conf_threshold <= 1.0:
        raise ValueError(f"Confidence threshold must be in [0, 1], got {conf_threshold}")
    if iou_threshold is not None and not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"IoU threshold must be in [0, 1], got {iou_threshold}")


def nms_candidates(
    scores: torch.Tensor, conf_threshold: float, max_nms: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Ultralytics' NMS front end, shared by axis-aligned and rotated NMS.

    Args:
        scores: ``(A, C)`` class probabilities of one image.
        conf_threshold: Keep anchors whose best score is strictly greater than this.
        max_nms: Keep at most this many candidates (the highest scores).

    Returns:
        ``(anchors, conf, labels)``, each ``(N,)``: anchor index, best score and its class; None when nothing passes.
    """
    anchors = (scores.amax(1) > conf_threshold).nonzero().view(-1)
    if not anchors.numel():
        return None
    conf, labels = scores[anchors].max(1)
    keep = conf > conf_threshold
    anchors, conf, labels = anchors[keep], conf[keep], labels[keep]
    if not anchors.numel():
        return None
    if anchors.numel() > max_nms:
        order = conf.argsort(descending=True)[:max_nms]
        anchors, conf, labels = anchors[order], conf[order], labels[order]
    return anchors, conf, labels


def _nms_one_image(
    scores: torch.Tensor,
    boxes: torch.Tensor,
    conf_threshold: float,
    iou_threshold: float,
    max_det: int,
    agnostic: bool,
    max_nms: int,
    max_wh: int,
) -> KeptDetections:
    """NMS for one image; ``scores`` ``(A, C)`` probabilities, ``boxes`` ``(A, 4)`` xyxy pixels."""
    candidates = nms_candidates(scores, conf_threshold, max_nms)
    if candidates is None:
        return empty_detections(scores.device, scores.dtype)
    anchors, conf, labels = candidates
    offsets = labels[:, None].to(boxes.dtype) * (0 if agnostic else max_wh)  # separates classes in xy space
    kept = torchvision.ops.nms(boxes[anchors] + offsets, conf, iou_threshold)[:max_det]
    return KeptDetections(anchors[kept], conf[kept], labels[kept])


def _per_image(select_one, scores: torch.Tensor, boxes: torch.Tensor, what: str, box_dim: int, conf_threshold: float,
               iou_threshold: float, *settings) -> list[KeptDetections]:
    """Check the thresholds and the ``(B, A, C)``/``(B, A, box_dim)`` shapes, then run ``select_one`` per image."""
    check_thresholds(conf_threshold, iou_threshold)
    if scores.ndim != 3 or boxes.shape[:2] != scores.shape[:2] or boxes.shape[-1] != box_dim:
        raise ValueError(
            f"Expected scores (B, A, C) and {what} (B, A, {box_dim}), got {tuple(scores.shape)} and "
            f"{tuple(boxes.shape)}"
        )
    return [select_one(s, b, conf_threshold, iou_threshold, *settings) for s, b in zip(scores, boxes)]


def non_max_suppression(
    scores: torch.Tensor,
    boxes: torch.Tensor,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.7,
    max_det: int = 300,
    agnostic: bool = False,
    max_nms: int = 30000,
    max_wh: int = 7680,
) -> list[KeptDetections]:
    """Class-aware NMS over every anchor, best class per anchor (Ultralytics' default ``multi_label=False``).

    Args:
        scores: ``(B, A, C)`` class probabilities (after sigmoid).
        boxes: ``(B, A, 4)`` boxes ``(x1, y1, x2, y2)`` in network-input pixels (the class offset ``max_wh``
            assumes pixel units).
        conf_threshold: Keep anchors whose best score is strictly greater than this.
        iou_threshold: Suppress boxes of the same class overlapping a better one by more than this IoU.
        max_det: Maximum detections kept per image.
        agnostic: Suppress across classes too.
        max_nms: Cap on candidates entering NMS (highest scores kept).
        max_wh: Per-class coordinate offset in pixels.

    Returns:
        One :class:`KeptDetections` per image, ordered by descending score.
    """
    return _per_image(_nms_one_image, scores, boxes, "boxes", 4, conf_threshold, iou_threshold, max_det, agnostic,
                      max_nms, max_wh)


def non_max_suppression_from_logits(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    conf_threshold: float,
    *settings: Any,
    nms: Callable[..., list[KeptDetections]] = non_max_suppression,
) -> list[KeptDetections]:
    """``nms(logits.sigmoid(), boxes, conf_threshold, *settings)``, with the sigmoid computed only for the anchors
    that can pass the threshold.

    Sigmoid is monotonic, so an anchor's best class probability is the sigmoid of its best logit: the anchors whose
    best probability exceeds ``conf_threshold`` (the ones :func:`nms_candidates` keeps) are found with one max over
    the logits, and only their rows get the sigmoid and enter ``nms``, in the same (ascending anchor) order. The
    detections are those of ``nms`` on the full probabilities; the work is one pass over ``(B, A, C)`` instead of
    three.

    Args:
        logits: ``(B, A, C)`` raw class logits.
        boxes: ``(B, A, D)`` boxes as ``nms`` takes them.
        conf_threshold: Keep anchors whose best probability is strictly greater than this.
        *settings: ``nms``'s further positional arguments (IoU threshold, max_det, agnostic, ...).
        nms: :func:`non_max_suppression` or :func:`rotated_non_max_suppression`.

    Returns:
        One :class:`KeptDetections` per image, indices into the full ``A`` anchors.
    """
    if logits.ndim != 3 or boxes.ndim != 3 or boxes.shape[:2] != logits.shape[:2]:
        return nms(logits.sigmoid(), boxes, conf_threshold, *settings)  # its shape check names the problem
    check_thresholds(conf_threshold)
    best = logits.amax(-1).sigmoid()  # (B, A)
    results = []
    for image_logits, image_boxes, image_best in zip(logits, boxes, best):
        anchors = (image_best > conf_threshold).nonzero().view(-1)
        kept = nms(image_logits[anchors].sigmoid()[None], image_boxes[anchors][None], conf_threshold, *settings)[0]
        results.append(KeptDetections(anchors[kept.indices], kept.scores, kept.labels))
    return results


def _topk_candidates(scores: torch.Tensor, k: int, agnostic: bool) -> tuple[torch.Tensor, ...]:
    """Batched top-k of an end-to-end head: ``(B, k)`` scores, labels and anchor indices, best first."""
    if agnostic:
        best, labels = scores.max(dim=-1)
        top_scores, anchors = best.topk(k, dim=1)
        return top_scores, labels.gather(1, anchors), anchors
    num_classes = scores.shape[-1]
    anchor_pick = scores.max(dim=-1)[0].topk(k, dim=1)[1]  # best k anchors by their best class
    picked = scores.gather(1, anchor_pick[..., None].expand(-1, -1, num_classes))  # (B, k, C)
    top_scores, flat = picked.flatten(1).topk(k, dim=1)  # best k (anchor, class) pairs
    return top_scores, flat % num_classes, anchor_pick.gather(1, flat // num_classes)


def end_to_end_topk(
    scores: torch.Tensor,
    conf_threshold: float = 0.25,
    max_det: int = 300,
    agnostic: bool = False,
) -> list[KeptDetections]:
    """Select detections of an NMS-free (one-to-one) head as Ultralytics' predictor does.

    The head keeps the top ``k = min(max(max_det, 300), A)`` anchors by best class score, then the top ``k``
    (anchor, class) pairs among them (or the top ``k`` anchors by best score when ``agnostic``); the
    predictor then keeps scores strictly above ``conf_threshold`` and at most ``max_det`` of them.

    Args:
        scores: ``(B, A, C)`` class probabilities (after sigmoid).
        conf_threshold: Keep detections scoring strictly greater than this.
        max_det: Maximum detections kept per image.
        agnostic: One label per anchor (its best class) instead of ranking (anchor, class) pairs.

    Returns:
        One :class:`KeptDetections` per image, ordered by descending score. An anchor may appear more than
        once with different labels when ``agnostic`` is False.
    """
    check_thresholds(conf_threshold)
    if scores.ndim != 3:
        raise ValueError(f"Expected scores (B, A, C), got {tuple(scores.shape)}")
    k = min(max(max_det, E2E_MIN_CANDIDATES), scores.shape[1])
    top_scores, labels, anchors = _topk_candidates(scores, k, agnostic)
    kept = []
    for s, l, a in zip(top_scores, labels, anchors):
        sel = (s > conf_threshold).nonzero().view(-1)[:max_det]
        kept.append(KeptDetections(a[sel], s[sel], l[sel]))
    return kept


# ---------------------------------------------------------------------------------------------- rotated boxes
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
    return _per_image(_rotated_nms_one_image, scores, rboxes, "rotated boxes", 5, conf_threshold, iou_threshold,
                      max_det, agnostic, max_nms, max_wh)
