"""The head's inference tensors in Ultralytics' layout, rebuilt from a task model's transformers-style outputs.

Ultralytics' validators and the parity checks read the raw tensors its heads return; our models (PyTorch or an
exported graph in a runtime) return the task's output dataclass. :func:`ultralytics_rows` turns one into the other,
the same way for every backend, so ``evaluate`` and the parity checks take any of them.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .heads import pixel_scale, ultralytics_box_rows

__all__ = ["ultralytics_rows"]


def _detect(pixel_values: torch.Tensor, outputs: Any, end_to_end: bool) -> torch.Tensor:
    boxes = ultralytics_box_rows(pixel_values, outputs.pred_boxes, end_to_end)
    return torch.cat((boxes, outputs.logits.sigmoid()), dim=-1).transpose(1, 2)


def _segment(pixel_values: torch.Tensor, outputs: Any, end_to_end: bool) -> tuple[torch.Tensor, torch.Tensor]:
    boxes = ultralytics_box_rows(pixel_values, outputs.pred_boxes, end_to_end)
    rows = torch.cat((boxes, outputs.logits.sigmoid(), outputs.mask_coefficients), dim=-1)
    return rows.transpose(1, 2), outputs.proto_masks


def _pose(pixel_values: torch.Tensor, outputs: Any, end_to_end: bool) -> torch.Tensor:
    boxes = ultralytics_box_rows(pixel_values, outputs.pred_boxes, end_to_end)
    keypoints = outputs.pred_keypoints
    xy_scale = pixel_scale(pixel_values, keypoints)[:2]
    keypoints = torch.cat((keypoints[..., :2] * xy_scale, keypoints[..., 2:]), dim=-1).flatten(2)
    return torch.cat((boxes, outputs.logits.sigmoid(), keypoints), dim=-1).transpose(1, 2)


def _obb(pixel_values: torch.Tensor, outputs: Any, end_to_end: bool) -> torch.Tensor:
    boxes = ultralytics_box_rows(pixel_values, outputs.pred_boxes, False, rotated=True)
    return torch.cat((boxes, outputs.logits.sigmoid(), outputs.pred_angles[..., None]), dim=-1).transpose(1, 2)


_ROWS: dict[str, Callable[[torch.Tensor, Any, bool], Any]] = {
    "detect": _detect,
    "segment": _segment,
    "pose": _pose,
    "obb": _obb,
    "classify": lambda pixel_values, outputs, end_to_end: outputs.logits.softmax(-1),
    "semantic": lambda pixel_values, outputs, end_to_end: outputs.logits,
    "depth": lambda pixel_values, outputs, end_to_end: outputs.predicted_depth[:, None],
}


def ultralytics_rows(task: str, pixel_values: torch.Tensor, outputs: Any, end_to_end: bool) -> Any:
    """Ultralytics' inference output of ``task`` from our model's ``outputs`` on ``pixel_values``.

    Args:
        task: One of ``detect``, ``segment``, ``pose``, ``obb``, ``classify``, ``semantic``, ``depth``.
        pixel_values: `(B, 3, H, W)`, the network input (its size scales the normalised boxes back to pixels).
        outputs: The task's output dataclass for that input.
        end_to_end: Whether the head ran its one-to-one branch (boxes then come as ``xyxy``).

    Returns:
        detect `(B, 4 + C, A)`; segment ``((B, 4 + C + nm, A), (B, nm, H / 4, W / 4))``; pose `(B, 4 + C + K * D, A)`;
        obb `(B, 4 + C + 1, A)` (rotated ``cx, cy, w, h`` pixels, then the angle in radians): boxes in input pixels
        (``xywh``, ``xyxy`` when end-to-end) and sigmoid class scores; classify `(B, C)` probabilities; semantic
        `(B, C, H / 8, W / 8)` logits; depth `(B, 1, H / 4, W / 4)`.
    """
    return _ROWS[task](pixel_values, outputs, bool(end_to_end))
