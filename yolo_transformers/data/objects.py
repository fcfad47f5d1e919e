"""Normalized YOLO rows ↔ absolute-pixel Hub objects (COCO boxes, polygons, keypoints, corners)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["row_to_object", "object_to_row", "polygon_area", "polygon_bbox"]


def polygon_area(flat: Sequence[float]) -> float:
    """Area of a polygon ``[x1, y1, x2, y2, ...]`` (shoelace formula, always >= 0)."""
    xs, ys = flat[0::2], flat[1::2]
    n = len(xs)
    twice = sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))
    return abs(twice) / 2.0


def polygon_bbox(flat: Sequence[float]) -> list[float]:
    """COCO box ``[x_min, y_min, w, h]`` enclosing a polygon ``[x1, y1, x2, y2, ...]``."""
    xs, ys = flat[0::2], flat[1::2]
    x0, y0 = min(xs), min(ys)
    return [x0, y0, max(xs) - x0, max(ys) - y0]


def _scale(flat: Sequence[float], width: int, height: int) -> list[float]:
    """Normalized ``[x, y, x, y, ...]`` → pixels."""
    return [v * (width if i % 2 == 0 else height) for i, v in enumerate(flat)]


def _unscale(flat: Sequence[float], width: int, height: int) -> list[float]:
    """Pixels ``[x, y, x, y, ...]`` → normalized."""
    return [v / (width if i % 2 == 0 else height) for i, v in enumerate(flat)]


def row_to_object(
    task: str, values: Sequence[float], width: int, height: int, kpt_dim: int = 3
) -> tuple[list[float], float, Any]:
    """Convert one normalized label row (without the class id) to absolute pixels.

    Args:
        task: ``detect``, ``segment``, ``pose`` or ``obb``.
        values: Normalized numbers after the class id.
        width: Image width in pixels.
        height: Image height in pixels.
        kpt_dim: Values per keypoint (2 or 3) for pose.

    Returns:
        ``(bbox, area, extra)``: COCO box, area in pixels², and the task's extra field
        (list of polygons for segment, K×D keypoints for pose, 8 corner values for obb, None for detect).
    """
    if task == "pose" or (task == "detect" and len(values) == 4):
        cx, cy, w, h = values[0] * width, values[1] * height, values[2] * width, values[3] * height
        bbox = [cx - w / 2, cy - h / 2, w, h]
        if task == "detect":
            return bbox, w * h, None
        kpts = values[4:]
        points = [
            [kpts[i] * width, kpts[i + 1] * height, *kpts[i + 2 : i + kpt_dim]] for i in range(0, len(kpts), kpt_dim)
        ]
        return bbox, w * h, points
    flat = _scale(values, width, height)
    bbox = polygon_bbox(flat)
    if task == "detect":  # a polygon row in a detection dataset: Ultralytics keeps its enclosing box
        return bbox, bbox[2] * bbox[3], None
    extra = [flat] if task == "segment" else flat
    return bbox, polygon_area(flat), extra


def object_to_row(
    task: str, bbox: Sequence[float], extra: Any, width: int, height: int
) -> list[float]:
    """Convert one absolute-pixel object back to the normalized numbers of a label row (without class id).

    Args:
        task: ``detect``, ``segment``, ``pose`` or ``obb``.
        bbox: COCO box ``[x_min, y_min, w, h]`` in pixels.
        extra: The task's extra field: one polygon (flat list) for segment, K×D keypoints for pose,
            8 corner values for obb, ignored for detect.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        The normalized values, in YOLO's order.
    """
    if task in {"detect", "pose"}:
        x, y, w, h = (float(v) for v in bbox)
        row = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
        if task == "pose":
            for point in extra or []:
                row += [float(point[0]) / width, float(point[1]) / height, *(float(v) for v in point[2:])]
        return row
    return _unscale([float(v) for v in extra], width, height)
