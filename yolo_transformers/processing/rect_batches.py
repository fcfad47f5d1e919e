"""Ultralytics ``val``'s rectangular batches (``rect=True``, its default): the images, shapes and box mapping.

``yolo val`` sorts the images by aspect ratio (height / width), cuts them into batches of ``batch_size``, and gives
each batch one input shape: ``ceil(shape * imgsz / stride + 0.5) * stride`` where ``shape`` is ``[max ratio, 1]``
for a batch of wide images, ``[1, 1 / min ratio]`` for tall ones and ``[1, 1]`` otherwise (``set_rectangle``).
Each image is first resized to ``imgsz`` on its long side (``load_image``, bilinear), then letterboxed into the batch
shape without enlarging (``LetterBox(scaleup=False)``, centred). Detections go back to the original image through
that resize ratio and padding (``scale_boxes`` with ``ratio_pad``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .letterbox import compute_letterbox, letterbox_image

__all__ = ["RectPlacement", "rect_batches", "place_in_batch", "boxes_to_original"]

_VAL_PAD = 0.5  # Ultralytics' build_yolo_dataset: pad = 0.5 for val


@dataclass(frozen=True)
class RectPlacement:
    """Where one image lands in its rectangular batch.

    Attributes:
        original_size: ``(height, width)`` of the image.
        gain: ``(gain_y, gain_x)``: input pixels per original pixel.
        padding: ``(left, top)`` in input pixels.
    """

    original_size: tuple[int, int]
    gain: tuple[float, float]
    padding: tuple[int, int]


def rect_batches(sizes: Sequence[tuple[int, int]], image_size: int, stride: int,
                 batch_size: int) -> list[tuple[list[int], tuple[int, int]]]:  # fmt: skip
    """Ultralytics' ``set_rectangle``: which images form each batch and the batch's input shape.

    Args:
        sizes: ``(height, width)`` of every image, in dataset order.
        image_size: ``imgsz`` (square side).
        stride: Largest model stride.
        batch_size: Images per batch.

    Returns:
        ``[(indices into sizes, (height, width)), ...]`` in Ultralytics' batch order.
    """
    ratios = np.array([h / w for h, w in sizes], dtype=np.float64)
    order = ratios.argsort(kind="quicksort")  # numpy's default, as Ultralytics calls it
    batches = []
    for start in range(0, len(order), batch_size):
        members = order[start : start + batch_size]
        lowest, highest = ratios[members].min(), ratios[members].max()
        shape = [1.0, 1.0]
        if highest < 1:
            shape = [highest, 1.0]
        elif lowest > 1:
            shape = [1.0, 1.0 / lowest]
        height, width = (int(math.ceil(s * image_size / stride + _VAL_PAD)) * stride for s in shape)
        batches.append(([int(i) for i in members], (height, width)))
    return batches


def place_in_batch(image: np.ndarray, image_size: int, batch_shape: tuple[int, int],
                   stride: int) -> tuple[np.ndarray, RectPlacement]:  # fmt: skip
    """Resize ``image`` (``(H, W, 3)`` uint8) to ``image_size`` on its long side, letterbox it into ``batch_shape``.

    Returns:
        ``(the (batch_h, batch_w, 3) input image, its placement)``.
    """
    h0, w0 = image.shape[:2]
    ratio = image_size / max(h0, w0)
    if ratio != 1:  # Ultralytics' load_image
        size = (min(math.ceil(w0 * ratio), image_size), min(math.ceil(h0 * ratio), image_size))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    geometry = compute_letterbox(image.shape[:2], batch_shape, stride, minimal_padding=False, scaleup=False)
    placed = letterbox_image(image, geometry)
    top, _, left, _ = geometry.padding
    # Ultralytics multiplies the two stages' ratios (load_image's per axis, LetterBox's r)
    gain = ((image.shape[0] / h0) * geometry.scale, (image.shape[1] / w0) * geometry.scale)
    return placed, RectPlacement((h0, w0), gain, (left, top))


def boxes_to_original(boxes: torch.Tensor, placement: RectPlacement) -> torch.Tensor:
    """``(N, 4)`` ``xyxy`` input-pixel boxes back to the original image (``scale_boxes`` with ``ratio_pad``), clipped."""
    gain_y, gain_x = placement.gain
    left, top = placement.padding
    boxes = boxes.clone()
    boxes[..., [0, 2]] = (boxes[..., [0, 2]] - left) / gain_x
    boxes[..., [1, 3]] = (boxes[..., [1, 3]] - top) / gain_y
    height, width = placement.original_size
    boxes[..., [0, 2]] = boxes[..., [0, 2]].clamp(0, width)
    boxes[..., [1, 3]] = boxes[..., [1, 3]].clamp(0, height)
    return boxes
