"""Instance-segmentation post-processing of :class:`YoloImageProcessor` (mixin).

Detections are selected exactly like detection (NMS, or top-k for end-to-end heads). Masks are assembled from the
selected anchors' coefficients and the prototypes at the **original image size**, as Ultralytics' predictor does
with ``retina_masks=True`` (its public ``process_mask_native`` is called, so masks are bit-identical for identical
inputs); like Ultralytics, detections whose mask is empty are dropped.

The transformers ``pipeline("image-segmentation")`` contract wants one ``segmentation`` map per image with
``segments_info``: YOLO masks may overlap, so in that map each pixel belongs to the highest-scoring instance
covering it, and an instance left with too little visible area (``overlap_mask_area_threshold``) is not listed.
The full, overlapping masks are always returned under ``masks``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .geometry import output_field
from .letterbox import scale_boxes_to_original
from .task_method import task_method

__all__ = ["InstanceSegmentationPostProcessing"]

logger = logging.getLogger(__name__)

_EXPECTED = "instance segmentation outputs (logits, pred_boxes, mask_coefficients, proto_masks)"


def _with_threshold(prototypes: torch.Tensor, coefficients: torch.Tensor, mask_threshold: float):
    """Shift mask logits so that ``> 0`` means ``sigmoid > mask_threshold`` (adds a constant prototype channel).

    Bilinear resizing maps a constant to itself, so ``resize(c·P - t) > 0`` equals ``resize(c·P) > t`` exactly.
    """
    if mask_threshold == 0.5:
        return prototypes, coefficients
    if not 0.0 < mask_threshold < 1.0:
        raise ValueError(f"mask_threshold must be in (0, 1), got {mask_threshold}")
    shift = math.log(mask_threshold / (1.0 - mask_threshold))
    ones = prototypes.new_ones((1, *prototypes.shape[1:]))
    shifts = coefficients.new_full((len(coefficients), 1), -shift)
    return torch.cat((prototypes, ones)), torch.cat((coefficients, shifts), 1)


def _assemble_masks(prototypes, coefficients, boxes, image_size, original: bool) -> torch.Tensor:
    """``(N, H, W)`` uint8 masks: at the original size (``boxes`` in original pixels) or the network input size."""
    from ultralytics.utils import ops

    if original:
        return ops.process_mask_native(prototypes, coefficients, boxes, image_size)
    return ops.process_mask(prototypes, coefficients, boxes, image_size, upsample=True)


def _segmentation_map(
    masks: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, overlap_mask_area_threshold: float
) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """One ``(H, W)`` int64 map (-1 = background, else the instance's row index) and its ``segments_info``."""
    if masks.device.type == "cpu":  # one memory-bound fill: numpy's single thread, not a torch parallel region that
        segmentation = torch.from_numpy(np.full(masks.shape[1:], -1, dtype=np.int64))  # waits on a busy second core
    else:
        segmentation = torch.full(masks.shape[1:], -1, dtype=torch.int64, device=masks.device)
    segments = []
    for index in range(len(masks)):  # rows are ordered by descending score: better instances claim pixels first
        mask = masks[index].bool()
        area = int(mask.sum())
        visible = mask & (segmentation < 0)
        visible_area = int(visible.sum())
        if area == 0 or visible_area == 0 or visible_area / area <= overlap_mask_area_threshold:
            continue
        segmentation[visible] = index
        segments.append(
            {"id": index, "label_id": int(labels[index]), "score": round(float(scores[index]), 6), "was_fused": False}
        )
    return segmentation, segments


class InstanceSegmentationPostProcessing:
    """``post_process_instance_segmentation`` for :class:`YoloImageProcessor` (uses its selection settings)."""

    @task_method("segment")
    def post_process_instance_segmentation(
        self,
        outputs: Any,
        threshold: float | None = None,
        target_sizes: Sequence[Sequence[int]] | torch.Tensor | None = None,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.0,
        return_binary_maps: bool = False,
        *,
        iou_threshold: float | None = None,
        max_det: int | None = None,
        agnostic_nms: bool | None = None,
        end_to_end: bool | None = None,
        input_size: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Turn instance-segmentation outputs into detections with masks at the original image size.

        Args:
            outputs: :class:`YoloInstanceSegmentationOutput` (or a mapping) with ``logits`` ``(B, A, C)``,
                ``pred_boxes`` ``(B, A, 4)`` normalised ``(cx, cy, w, h)``, ``mask_coefficients`` ``(B, A, nm)`` and
                ``proto_masks`` ``(B, nm, H/4, W/4)``. Computed in float32.
            threshold: Keep detections scoring strictly above this; None uses ``conf_threshold`` (note that
                ``pipeline("image-segmentation")`` passes its own default, 0.9).
            target_sizes: ``(B, 2)`` ``(height, width)`` of the original images. None returns boxes and masks at the
                network input size (Ultralytics' ``retina_masks=False``).
            mask_threshold: A pixel belongs to an instance when its mask probability exceeds this (Ultralytics: 0.5).
            overlap_mask_area_threshold: For the ``segmentation`` map only: an instance is listed in ``segments_info``
                when more than this fraction of its mask is not covered by better-scoring instances.
            return_binary_maps: Return ``segmentation`` as the ``(N, H, W)`` stack of full masks instead of one map.
            iou_threshold, max_det, agnostic_nms, end_to_end: Overrides of the processor's selection settings.
            input_size: ``(height, width)`` of ``pixel_values``; needed only without ``target_sizes``.
            **kwargs: Ignored (accepted for pipeline compatibility), logged.

        Returns:
            One dict per image: ``scores`` ``(N,)``, ``labels`` ``(N,)`` int64, ``boxes`` ``(N, 4)`` absolute
            ``(x1, y1, x2, y2)``, ``masks`` ``(N, H, W)`` bool (overlapping, Ultralytics' masks), ``segmentation``
            ``(H, W)`` int64 (-1 background, else the row index of the instance owning the pixel) and
            ``segments_info`` (``id``, ``label_id``, ``score``, ``was_fused``) for transformers' pipeline.
        """
        if kwargs:
            logger.debug("post_process_instance_segmentation ignores %s", sorted(kwargs))
        selected = self._decode_and_select(outputs, _EXPECTED, threshold, target_sizes, input_size, iou_threshold,
                                           max_det, agnostic_nms, end_to_end)
        coefficients = output_field(outputs, "mask_coefficients", _EXPECTED).float()
        prototypes = output_field(outputs, "proto_masks", _EXPECTED).float()
        boxes, input_sizes, originals, kept = selected.boxes, selected.input_sizes, selected.originals, selected.kept
        results = []
        for i, det in enumerate(kept):
            det_boxes = boxes[i][det.indices]
            size = input_sizes[i] if originals is None else originals[i]
            if originals is not None:
                det_boxes = scale_boxes_to_original(det_boxes, input_sizes[i], originals[i])
            own_protos = self._own_map(prototypes[i], i, input_sizes[i], outputs)  # a mixed batch's padding cut away
            protos, coeffs = _with_threshold(own_protos, coefficients[i][det.indices], mask_threshold)
            masks = _assemble_masks(protos, coeffs, det_boxes, size, originals is not None)
            present = masks.flatten(1).amax(1) > 0
            scores, labels = det.scores[present], det.labels[present]
            det_boxes, masks = det_boxes[present], masks[present]
            masks = masks.bool()
            segmentation, segments = _segmentation_map(masks, scores, labels, overlap_mask_area_threshold)
            results.append({
                "scores": scores,
                "labels": labels,
                "boxes": det_boxes,
                "masks": masks,
                "segmentation": masks if return_binary_maps else segmentation,
                "segments_info": segments,
            })
        return results
