"""Shared forward logic of the anchor-based heads (detection, instance segmentation, pose, oriented boxes).

Ultralytics' ``Segment``, ``Pose`` and ``OBB`` heads (and their YOLO26 variants) are ``Detect`` heads with one extra
per-anchor branch. :func:`run_anchor_head` runs the branch Ultralytics would use at inference (one-to-one for an
end-to-end head, else one-to-many) through the head's own ``forward_head`` and box decoder, so every number is the
one Ultralytics computes; the task models only reshape the results into transformers-style outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "AnchorHeadOutputs", "run_anchor_head", "pixel_scale", "centre_form", "normalized_boxes",
    "ultralytics_box_rows",
]


@dataclass
class AnchorHeadOutputs:
    """What one pass of an anchor-based head produced.

    Attributes:
        features: Feature maps entering the head, one per level, each ``(B, C_i, H_i, W_i)``.
        raw: The head's ``forward_head`` dict for the selected branch: ``boxes`` ``(B, 4 * reg_max, A)``,
            ``scores`` ``(B, C, A)`` raw logits, and the task branch (``mask_coefficient`` ``(B, nm, A)``,
            ``kpts`` ``(B, K * D, A)`` or ``angle`` ``(B, 1, A)``).
        decoded_boxes: ``(B, 4, A)`` boxes in network-input pixels as the head decodes them: ``(x1, y1, x2, y2)``
            for an end-to-end Detect/Segment/Pose head, otherwise ``(cx, cy, w, h)`` (rotated ``(cx, cy, w, h)``
            for OBB, whose decoder always returns centre form).
        end_to_end: Whether the one-to-one (NMS-free) branch was used.
    """

    features: list[torch.Tensor]
    raw: dict[str, torch.Tensor]
    decoded_boxes: torch.Tensor
    end_to_end: bool


def run_anchor_head(head: nn.Module, features: list[torch.Tensor], trained: dict | None = None) -> AnchorHeadOutputs:
    """Run a ``Detect``-family head's inference branch on ``features``.

    Args:
        head: The Ultralytics head (``Segment``, ``Pose``, ``OBB``, ... ), configured by
            :func:`~yolo_transformers.network.architecture.configure_head`.
        features: Its input feature maps, one per level.
        trained: The same head's training-form outputs on ``features`` (what the loss read), if it already ran:
            its inference branch is taken from them instead of running the head again (same values; an end-to-end
            head's one-to-one branch there reads detached features, as in Ultralytics' training).

    Returns:
        :class:`AnchorHeadOutputs`; anchors and strides are cached on the head for the input shape.
    """
    end_to_end = bool(head.end2end)
    if trained is not None:
        raw = trained.get("one2one" if end_to_end else "one2many", trained) if "one2one" in trained else trained
        decoded = head._get_decode_boxes(raw)
        return AnchorHeadOutputs(list(features), raw, decoded, end_to_end)
    branch = head.one2one if end_to_end else head.one2many
    raw = head.forward_head(features, **branch)
    decoded = head._get_decode_boxes(raw)
    return AnchorHeadOutputs(list(features), raw, decoded, end_to_end)


def pixel_scale(pixel_values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(4,)`` tensor ``[width, height, width, height]`` of the network input, on ``like``'s device and dtype.

    While ``torch.onnx.export`` traces the model the sizes are tensors: stacking them keeps an exported graph's image
    size dynamic (``new_tensor`` would freeze the traced size into the graph).
    """
    height, width = pixel_values.shape[-2:]
    if torch.jit.is_tracing():
        return torch.stack([width, height, width, height]).to(like)
    return like.new_tensor([width, height, width, height])


def centre_form(decoded_boxes: torch.Tensor, end_to_end: bool, rotated: bool = False) -> torch.Tensor:
    """``(B, 4, A)`` decoded boxes -> ``(B, 4, A)`` ``(cx, cy, w, h)`` (end-to-end axis-aligned heads emit xyxy)."""
    if not end_to_end or rotated:
        return decoded_boxes
    top_left, bottom_right = decoded_boxes.split(2, dim=1)
    return torch.cat(((top_left + bottom_right) / 2, bottom_right - top_left), dim=1)


def normalized_boxes(pixel_values: torch.Tensor, heads: AnchorHeadOutputs, rotated: bool = False) -> torch.Tensor:
    """``(B, A, 4)`` ``(cx, cy, w, h)`` normalised by the network input width and height."""
    boxes = centre_form(heads.decoded_boxes, heads.end_to_end, rotated)
    return (boxes / pixel_scale(pixel_values, boxes).view(1, 4, 1)).transpose(1, 2)


def ultralytics_box_rows(pixel_values: torch.Tensor, pred_boxes: torch.Tensor, end_to_end: bool,
                         rotated: bool = False) -> torch.Tensor:
    """Invert :func:`normalized_boxes`: ``(B, A, 4)`` normalised -> ``(B, A, 4)`` pixels in Ultralytics' format."""
    boxes = pred_boxes * pixel_scale(pixel_values, pred_boxes)
    if end_to_end and not rotated:
        centre, size = boxes[..., :2], boxes[..., 2:]
        boxes = torch.cat((centre - size / 2, centre + size / 2), dim=-1)
    return boxes

