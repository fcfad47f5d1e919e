"""Geometry shared by the task post-processors: stretch resizing, the letterbox content window, point un-letterboxing.

Everything is derived from the network input size and the original image size alone, with the rounding rules
Ultralytics uses (``LetterBox``, ``scale_masks``, ``scale_coords``), so post-processing needs nothing but the
original sizes that transformers pipelines pass as ``target_sizes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch

from .letterbox import LetterboxGeometry

__all__ = ["ContentWindow", "stretch_geometry", "content_window", "scale_points_to_original", "output_field",
           "size_pairs", "cxcywh_to_xyxy"]


class ContentWindow(NamedTuple):
    """The part of a letterboxed network input that holds the image (no padding), in input pixels.

    Attributes:
        top, left: First row / column of image content.
        bottom, right: One past the last row / column of image content.
        gain_y, gain_x: Input pixels per original pixel along each axis.
    """

    top: int
    left: int
    bottom: int
    right: int
    gain_y: float
    gain_x: float


def stretch_geometry(original_size: Sequence[int], input_size: Sequence[int]) -> LetterboxGeometry:
    """Geometry of Ultralytics' ``LetterBox(scale_fill=True)``: stretch to ``input_size``, no padding (depth models).

    Args:
        original_size: ``(height, width)`` of the image in pixels.
        input_size: ``(height, width)`` of the network input in pixels.
    """
    height, width = int(original_size[0]), int(original_size[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"Image size must be positive, got (height, width) = {tuple(original_size)}")
    target = (int(input_size[0]), int(input_size[1]))
    return LetterboxGeometry(
        original_size=(height, width),
        resized_size=target,
        input_size=target,
        padding=(0, 0, 0, 0),
        scale=min(target[0] / height, target[1] / width),
    )


def content_window(input_size: Sequence[int], original_size: Sequence[int]) -> ContentWindow:
    """Where the resized image sits inside a centred letterbox of ``input_size`` (Ultralytics' rounding).

    Args:
        input_size: ``(height, width)`` of the network input in pixels.
        original_size: ``(height, width)`` of the original image in pixels.
    """
    in_h, in_w = int(input_size[0]), int(input_size[1])
    orig_h, orig_w = int(original_size[0]), int(original_size[1])
    gain = min(in_h / orig_h, in_w / orig_w)
    new_h, new_w = max(round(orig_h * gain), 1), max(round(orig_w * gain), 1)
    top, left = round((in_h - new_h) / 2 - 0.1), round((in_w - new_w) / 2 - 0.1)
    return ContentWindow(top, left, top + new_h, left + new_w, new_h / orig_h, new_w / orig_w)


def scale_points_to_original(
    points: torch.Tensor, input_size: Sequence[int], original_size: Sequence[int], clip: bool = True
) -> torch.Tensor:
    """Map ``(..., 2+)`` points (x, y first) from letterboxed input pixels to original pixels; extra channels kept.

    Args:
        points: ``(..., D)`` with ``x, y`` in network-input pixels in the first two channels.
        input_size: ``(height, width)`` of the network input.
        original_size: ``(height, width)`` of the original image.
        clip: Clamp ``x`` to ``[0, width]`` and ``y`` to ``[0, height]`` (Ultralytics clips keypoints).

    Returns:
        A new tensor of the same shape.
    """
    window = content_window(input_size, original_size)
    points = points.clone()
    points[..., 0] = (points[..., 0] - window.left) / window.gain_x
    points[..., 1] = (points[..., 1] - window.top) / window.gain_y
    if clip:
        points[..., 0].clamp_(0, int(original_size[1]))
        points[..., 1].clamp_(0, int(original_size[0]))
    return points


def output_field(outputs: Any, name: str, expected: str) -> torch.Tensor:
    """Read ``name`` from a ``ModelOutput``, mapping or object; raise ``ValueError`` naming what was expected."""
    value = outputs.get(name) if isinstance(outputs, Mapping) else getattr(outputs, name, None)
    if value is None:
        raise ValueError(f"Model outputs have no '{name}'; expected {expected}.")
    return value


def size_pairs(sizes: Any, batch: int, what: str = "target sizes") -> list[tuple[int, int]]:
    """Normalise ``(B, 2)`` ``(height, width)`` sizes (tensor or nested sequence) to a list of int pairs."""
    if isinstance(sizes, torch.Tensor):
        sizes = sizes.tolist()
    pairs = [(int(h), int(w)) for h, w in sizes]
    if len(pairs) != batch:
        raise ValueError(f"Got {len(pairs)} {what} for a batch of {batch} predictions")
    return pairs


def cxcywh_to_xyxy(boxes: torch.Tensor, input_sizes: Sequence[tuple[int, int]]) -> torch.Tensor:
    """``(B, A, 4)`` normalised ``(cx, cy, w, h)`` -> ``(B, A, 4)`` ``(x1, y1, x2, y2)`` network-input pixels."""
    scale = boxes.new_tensor([[w, h, w, h] for h, w in input_sizes])[:, None, :]
    pixels = boxes * scale
    centre, half = pixels[..., :2], pixels[..., 2:] / 2
    return torch.cat((centre - half, centre + half), dim=-1)
