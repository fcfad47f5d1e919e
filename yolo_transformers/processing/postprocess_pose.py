"""Pose post-processing of :class:`YoloImageProcessor` (mixin).

Detections are selected like detection (NMS, or top-k for end-to-end heads); each kept anchor's keypoints are
mapped from the letterboxed input back to the original image and clipped to it, like Ultralytics' ``scale_coords``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from .geometry import output_field, scale_points_to_original
from .letterbox import scale_boxes_to_original
from .task_method import task_method

__all__ = ["PosePostProcessing"]

logger = logging.getLogger(__name__)


class PosePostProcessing:
    """``post_process_pose_estimation`` for :class:`YoloImageProcessor` (needs its ``_select``/``_input_sizes``)."""

    @task_method("pose")
    def post_process_pose_estimation(
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
        """Turn pose outputs into people (or other classes) with keypoints in original-image pixels.

        Args:
            outputs: :class:`YoloPoseEstimationOutput` (or a mapping) with ``logits`` ``(B, A, C)``, ``pred_boxes``
                ``(B, A, 4)`` normalised ``(cx, cy, w, h)`` and ``pred_keypoints`` ``(B, A, K, D)``.
            threshold: Keep detections scoring strictly above this; None uses ``conf_threshold``.
            target_sizes: ``(B, 2)`` ``(height, width)`` of the original images; None keeps network-input pixels.
            iou_threshold, max_det, agnostic_nms, end_to_end: Overrides of the processor's selection settings.
            input_size: ``(height, width)`` of ``pixel_values``; needed only without ``target_sizes``.

        Returns:
            One dict per image: ``scores`` ``(N,)``, ``labels`` ``(N,)`` int64, ``boxes`` ``(N, 4)`` absolute
            ``(x1, y1, x2, y2)`` and ``keypoints`` ``(N, K, D)``: ``x``, ``y`` in pixels (clipped to the image) and,
            when ``D == 3``, the visibility probability.
        """
        expected = "pose outputs (logits, pred_boxes, pred_keypoints)"
        selected = self._decode_and_select(outputs, expected, threshold, target_sizes, input_size, iou_threshold,
                                           max_det, agnostic_nms, end_to_end)
        keypoints = output_field(outputs, "pred_keypoints", expected).float()
        boxes, input_sizes, originals, kept = selected.boxes, selected.input_sizes, selected.originals, selected.kept
        results = []
        for i, det in enumerate(kept):
            height, width = input_sizes[i]
            points = keypoints[i][det.indices]
            points = torch.cat((points[..., :1] * width, points[..., 1:2] * height, points[..., 2:]), dim=-1)
            det_boxes = boxes[i][det.indices]
            if originals is not None:
                det_boxes = scale_boxes_to_original(det_boxes, input_sizes[i], originals[i])
                points = scale_points_to_original(points, input_sizes[i], originals[i])
            results.append({"scores": det.scores, "labels": det.labels, "boxes": det_boxes, "keypoints": points})
        return results
