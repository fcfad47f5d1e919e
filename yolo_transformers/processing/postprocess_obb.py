"""Oriented-box post-processing of :class:`YoloImageProcessor` (mixin).

Rotated NMS (Fast-NMS over probabilistic IoU, see :mod:`yolo_transformers.processing.nms`) for classic heads, top-k
for end-to-end heads; rotated boxes are un-letterboxed like Ultralytics' ``scale_boxes(xywh=True)`` (centre shifted,
centre and size divided by the per-axis gains, angle unchanged, no clipping), and their corners are computed in
Ultralytics' ``xyxyxyxy`` order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .geometry import content_window, output_field, size_pairs
from .nms import KeptDetections, rotated_non_max_suppression
from .task_method import task_method

__all__ = ["OrientedDetectionPostProcessing", "rotated_box_corners", "is_oriented_output", "oriented_as_axis_aligned"]

logger = logging.getLogger(__name__)


def rotated_box_corners(rboxes: torch.Tensor) -> torch.Tensor:
    """``(N, 5)`` ``(cx, cy, w, h, angle)`` -> ``(N, 4, 2)`` corners, in Ultralytics' ``xyxyxyxy`` order.

    The first corner is ``centre + w/2·u + h/2·v`` with ``u = (cos, sin)`` and ``v = (-sin, cos)``; the rest follow
    as ``+u-v``, ``-u-v``, ``-u+v``.
    """
    centre, width, height, angle = rboxes[:, None, :2], rboxes[:, 2:3], rboxes[:, 3:4], rboxes[:, 4:5]
    cos, sin = angle.cos(), angle.sin()
    along = torch.cat((width / 2 * cos, width / 2 * sin), dim=-1)[:, None]  # (N, 1, 2)
    across = torch.cat((-height / 2 * sin, height / 2 * cos), dim=-1)[:, None]
    signs = rboxes.new_tensor([[1, 1], [1, -1], [-1, -1], [-1, 1]])[None]  # (1, 4, 2): (along, across)
    return centre + signs[..., :1] * along + signs[..., 1:] * across


def is_oriented_output(outputs: Any) -> bool:
    """Whether ``outputs`` come from an oriented-box model (they carry ``pred_angles``)."""
    if isinstance(outputs, Mapping):
        return outputs.get("pred_angles") is not None
    return getattr(outputs, "pred_angles", None) is not None


def oriented_as_axis_aligned(processor: Any, outputs: Any, threshold: float | None,
                             target_sizes: Any, **kwargs: Any) -> list[dict[str, torch.Tensor]]:
    """Oriented detections in ``post_process_object_detection``'s format: ``boxes`` are the envelopes.

    This is how ``pipeline("object-detection")`` serves an OBB model: its contract is axis-aligned
    ``(xmin, ymin, xmax, ymax)`` boxes, so it receives the envelope of each rotated box (Ultralytics' ``obb.xyxy``);
    the extra keys ``rotated_boxes`` and ``corners`` keep the angle.
    """
    method = OrientedDetectionPostProcessing.post_process_oriented_object_detection  # whatever processor.task says
    return method(processor, outputs, threshold, target_sizes, **kwargs)


def _rotated_to_original(
    rboxes: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]
) -> torch.Tensor:
    """Un-letterbox ``(N, 5)`` rotated boxes: centre minus padding, centre and size divided by the gains."""
    window = content_window(input_size, original_size)
    rboxes = rboxes.clone()
    rboxes[:, 0] = (rboxes[:, 0] - window.left) / window.gain_x
    rboxes[:, 1] = (rboxes[:, 1] - window.top) / window.gain_y
    rboxes[:, 2] = rboxes[:, 2] / window.gain_x
    rboxes[:, 3] = rboxes[:, 3] / window.gain_y
    return rboxes


class OrientedDetectionPostProcessing:
    """``post_process_oriented_object_detection`` for :class:`YoloImageProcessor` (uses its defaults)."""

    @task_method("obb")
    def post_process_oriented_object_detection(
        self,
        outputs: Any,
        threshold: float | None = None,
        target_sizes: Sequence[Sequence[int]] | torch.Tensor | None = None,
        *,
        iou_threshold: float | None = None,
        max_det: int | None = None,
        agnostic_nms: bool | None = None,
        end_to_end: bool | None = None,
        input_size: Sequence[int] | None = None,
    ) -> list[dict[str, torch.Tensor]]:
        """Turn oriented-box outputs into rotated detections in original-image pixels.

        Args:
            outputs: :class:`YoloOrientedObjectDetectionOutput` (or a mapping) with ``logits`` ``(B, A, C)``,
                ``pred_boxes`` ``(B, A, 4)`` normalised rotated ``(cx, cy, w, h)`` and ``pred_angles`` ``(B, A)``.
            threshold: Keep detections scoring strictly above this; None uses ``conf_threshold``.
            target_sizes: ``(B, 2)`` ``(height, width)`` of the original images; None keeps network-input pixels.
            iou_threshold, max_det, agnostic_nms, end_to_end: Overrides of the processor's selection settings.
            input_size: ``(height, width)`` of ``pixel_values``; needed only without ``target_sizes``.

        Returns:
            One dict per image: ``scores`` ``(N,)``, ``labels`` ``(N,)`` int64, ``rotated_boxes`` ``(N, 5)``
            ``(cx, cy, w, h, angle)`` (pixels, radians), ``corners`` ``(N, 4, 2)`` ``(x, y)`` pixels and ``boxes``
            ``(N, 4)`` the axis-aligned ``(x1, y1, x2, y2)`` envelope of the corners.
        """
        expected = "oriented detection outputs (logits, pred_boxes, pred_angles)"
        logits = output_field(outputs, "logits", expected).float()
        pred_boxes = output_field(outputs, "pred_boxes", expected).float()
        angles = output_field(outputs, "pred_angles", expected).float()
        batch = logits.shape[0]
        originals = None if target_sizes is None else size_pairs(target_sizes, batch)
        input_sizes = self._input_sizes(batch, originals, input_size, outputs)
        scale = pred_boxes.new_tensor([[w, h, w, h] for h, w in input_sizes])[:, None, :]
        rboxes = torch.cat((pred_boxes * scale, angles[..., None]), dim=-1)  # (B, A, 5) input pixels
        kept = self._select_rotated(
            logits.sigmoid(), rboxes, threshold, iou_threshold, max_det, agnostic_nms, end_to_end
        )
        results = []
        for i, det in enumerate(kept):
            det_rboxes = rboxes[i][det.indices]
            if originals is not None:
                det_rboxes = _rotated_to_original(det_rboxes, input_sizes[i], originals[i])
            corners = rotated_box_corners(det_rboxes)
            envelope = torch.cat((corners.amin(1), corners.amax(1)), dim=-1)
            results.append({"scores": det.scores, "labels": det.labels, "rotated_boxes": det_rboxes,
                            "corners": corners, "boxes": envelope})
        return results

    def _select_rotated(
        self,
        scores: torch.Tensor,
        rboxes: torch.Tensor,
        threshold: float | None,
        iou_threshold: float | None,
        max_det: int | None,
        agnostic_nms: bool | None,
        end_to_end: bool | None,
    ) -> list[KeptDetections]:
        """Resolve the processor's defaults and run rotated NMS or end-to-end top-k."""
        return self._select(scores, rboxes, threshold, iou_threshold, max_det, agnostic_nms, end_to_end,
                            nms=rotated_non_max_suppression)
