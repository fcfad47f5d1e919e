"""Where a detection-type processor's settings turn into shapes and kept detections: the letterbox shape and
geometry of a batch, the network input size of raw outputs, and the choice between NMS and end-to-end top-k.

:class:`DetectionSelection` holds these methods so that every ``post_process_*`` mixin (one module per task) and
:class:`~yolo_transformers.YoloImageProcessor` itself call down into this layer, never up into the processor class.
It reads the processor's settings (``image_size``, ``stride``, ``minimal_padding``, ``scale_fill``,
``conf_threshold``, ``iou_threshold``, ``max_det``, ``agnostic_nms``, ``end_to_end``) from ``self``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .geometry import cxcywh_to_xyxy, output_field, size_pairs, stretch_geometry
from .letterbox import LetterboxGeometry, compute_letterbox, network_input_shape
from .nms import KeptDetections, end_to_end_topk, non_max_suppression, non_max_suppression_from_logits

__all__ = ["DetectionSelection"]

logger = logging.getLogger(__name__)

SizeLike = Sequence[int] | torch.Tensor


@dataclass
class SelectedBoxes:
    """Raw box outputs decoded and selected, what every box-type ``post_process_*`` starts from.

    Attributes:
        pred_boxes: ``(B, A, 4)`` float32 normalised ``(cx, cy, w, h)`` as the model returned them.
        boxes: ``(B, A, 4)`` ``(x1, y1, x2, y2)`` in network-input pixels.
        input_sizes: Network input ``(height, width)`` per image.
        originals: ``(height, width)`` of the original images, or None without ``target_sizes``.
        kept: One :class:`KeptDetections` per image.
    """

    pred_boxes: torch.Tensor
    boxes: torch.Tensor
    input_sizes: list[tuple[int, int]]
    originals: list[tuple[int, int]] | None
    kept: list[KeptDetections]


def _reported(outputs: Any, key: str) -> Any:
    """A field the model adds to its outputs only for some batches (``input_size``, ``padded_input_size``), or None."""
    return outputs.get(key) if isinstance(outputs, Mapping) else getattr(outputs, key, None)


class DetectionSelection:
    """Letterbox and selection methods shared by :class:`~yolo_transformers.YoloImageProcessor` and its task mixins."""

    def letterbox_shape(self, image_size: int | Sequence[int] | None = None) -> tuple[int, int]:
        """Return the ``(height, width)`` letterbox target in pixels (``image_size`` rounded up to the stride)."""
        requested = self.image_size if image_size is None else image_size
        shape = network_input_shape(requested, self.stride)
        if shape != network_input_shape(requested, 1):
            logger.warning("image_size=%s is not a multiple of stride %d, using %s", requested, self.stride, shape)
        return shape

    def letterbox_geometry(
        self,
        original_sizes: Sequence[SizeLike] | torch.Tensor,
        image_size: int | Sequence[int] | None = None,
        minimal_padding: bool | None = None,
    ) -> list[LetterboxGeometry]:
        """Letterbox geometry of a batch, with the batching rule preprocessing uses.

        Minimal (stride-multiple) padding applies only when ``minimal_padding`` is on and every image of the
        batch has the same size; otherwise every image is padded to the full letterbox shape.

        Args:
            original_sizes: ``(B, 2)`` ``(height, width)`` of the original images in pixels.
            image_size: Override of ``self.image_size``.
            minimal_padding: Override of ``self.minimal_padding``.

        Returns:
            One :class:`LetterboxGeometry` per image.
        """
        sizes = size_pairs(original_sizes, len(original_sizes), "sizes")
        minimal = self.minimal_padding if minimal_padding is None else minimal_padding
        auto = minimal and len(set(sizes)) == 1
        shape = self.letterbox_shape(image_size)
        if self.scale_fill:
            return [stretch_geometry(size, shape) for size in sizes]
        return [compute_letterbox(size, shape, self.stride, auto) for size in sizes]

    def select_detections(
        self,
        scores: torch.Tensor,
        boxes: torch.Tensor,
        threshold: float | None = None,
        iou_threshold: float | None = None,
        max_det: int | None = None,
        agnostic_nms: bool | None = None,
        end_to_end: bool | None = None,
    ) -> list[KeptDetections]:
        """Pick detections (NMS or end-to-end top-k) and return kept anchor indices, for task heads to reuse.

        Args:
            scores: ``(B, A, C)`` class probabilities (after sigmoid).
            boxes: ``(B, A, 4)`` ``(x1, y1, x2, y2)`` network-input pixels (unused by end-to-end selection).
            threshold, iou_threshold, max_det, agnostic_nms, end_to_end: Overrides of the processor's settings.

        Returns:
            One :class:`KeptDetections` (anchor ``indices``, ``scores``, ``labels``) per image; gather boxes,
            mask coefficients, keypoints, ... with ``indices``.
        """
        return self._select(scores, boxes, threshold, iou_threshold, max_det, agnostic_nms, end_to_end)

    def _select(
        self,
        scores: torch.Tensor,
        boxes: torch.Tensor,
        threshold: float | None,
        iou_threshold: float | None,
        max_det: int | None,
        agnostic_nms: bool | None,
        end_to_end: bool | None,
        nms: Callable[..., list[KeptDetections]] = non_max_suppression,
        from_logits: bool = False,
    ) -> list[KeptDetections]:
        """Resolve defaults and dispatch to ``nms`` (axis-aligned by default, or rotated) or end-to-end top-k.

        ``scores`` are probabilities, or raw logits with ``from_logits`` (NMS then computes the sigmoid only for
        anchors that can pass the threshold: :func:`~yolo_transformers.processing.nms.non_max_suppression_from_logits`).
        """
        conf = self.conf_threshold if threshold is None else float(threshold)
        limit = self.max_det if max_det is None else int(max_det)
        agnostic = self.agnostic_nms if agnostic_nms is None else bool(agnostic_nms)
        if self.end_to_end if end_to_end is None else end_to_end:
            return end_to_end_topk(scores.sigmoid() if from_logits else scores, conf, limit, agnostic)
        iou = self.iou_threshold if iou_threshold is None else float(iou_threshold)
        if from_logits:
            return non_max_suppression_from_logits(scores, boxes, conf, iou, limit, agnostic, nms=nms)
        return nms(scores, boxes, conf, iou, limit, agnostic)

    def _input_sizes(
        self, batch: int, originals: list[tuple[int, int]] | None, input_size: Sequence[int] | None,
        outputs: Any = None,
    ) -> list[tuple[int, int]]:
        """Network input ``(height, width)`` per image: given, reported by the model (``outputs.input_size`` `(B, 2)`,
        each image's own input in a batch of mixed letterbox shapes), derived from original sizes, or the full
        shape."""
        reported = _reported(outputs, "input_size")
        if input_size is None and reported is not None:
            rows = [(int(h), int(w)) for h, w in torch.as_tensor(reported).reshape(-1, 2).tolist()]
            return rows if len(rows) == batch else rows[:1] * batch
        if input_size is not None:
            height, width = (int(s) for s in input_size)
            return [(height, width)] * batch
        if originals is not None:
            return [g.input_size for g in self.letterbox_geometry(originals)]
        return [self.letterbox_shape()] * batch

    @staticmethod
    def _own_map(maps: torch.Tensor, index: int, input_size: Sequence[int], outputs: Any) -> torch.Tensor:
        """``(..., h, w)`` dense output of image ``index`` cut to that image's own input (``input_size``) when the
        model padded it into a batch of mixed letterbox shapes (``outputs.padded_input_size``), else as is."""
        padded = _reported(outputs, "padded_input_size")
        if padded is None:
            return maps
        rows = torch.as_tensor(padded).reshape(-1, 2)
        padded_h, padded_w = (int(v) for v in rows[index if len(rows) > index else 0])
        height = maps.shape[-2] * int(input_size[0]) // padded_h
        width = maps.shape[-1] * int(input_size[1]) // padded_w
        return maps[..., :height, :width].contiguous()

    def _decode_and_select(
        self, outputs: Any, expected: str, threshold: float | None, target_sizes: Any, input_size: Sequence[int] | None,
        iou_threshold: float | None, max_det: int | None, agnostic_nms: bool | None, end_to_end: bool | None,
    ) -> SelectedBoxes:
        """Read ``logits``/``pred_boxes`` of ``outputs``, put the boxes in input pixels and select detections."""
        logits = output_field(outputs, "logits", expected).float()
        pred_boxes = output_field(outputs, "pred_boxes", expected).float()
        batch = logits.shape[0]
        originals = None if target_sizes is None else size_pairs(target_sizes, batch)
        input_sizes = self._input_sizes(batch, originals, input_size, outputs)
        boxes = cxcywh_to_xyxy(pred_boxes, input_sizes)
        kept = self._select(logits, boxes, threshold, iou_threshold, max_det, agnostic_nms, end_to_end,
                            from_logits=True)
        return SelectedBoxes(pred_boxes, boxes, input_sizes, originals, kept)
