"""COCO-style detection annotations -> transformers training labels, through Ultralytics' letterbox.

``YoloImageProcessor(images=..., annotations=...)`` takes annotations the way transformers' object-detection
fine-tuning guide builds them, one dict per image::

    {"image_id": 7, "annotations": [{"bbox": [x_min, y_min, w, h], "category_id": 1, "area": 1200.0,
                                     "iscrowd": 0}, ...]}

with boxes in absolute pixels of the original image, and returns, per image, the labels
:class:`~yolo_transformers.YoloForObjectDetection` trains on: ``class_labels`` and ``boxes`` as ``(cx, cy, w, h)``
normalized by the letterboxed network input (padding included). Boxes are mapped exactly as Ultralytics'
``LetterBox`` maps labels (scaled by the resize ratio, shifted by the left/top padding), then clipped to the
resized image; boxes left without area are dropped, and so are crowd annotations (``iscrowd=1``), which neither
Ultralytics' YOLO labels nor its loss represent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .letterbox import LetterboxGeometry
from ..errors import DatasetFormatError

__all__ = ["annotations_to_labels", "letterbox_boxes"]

logger = logging.getLogger(__name__)


def letterbox_boxes(boxes_xywh: np.ndarray, geometry: LetterboxGeometry) -> np.ndarray:
    """Map COCO boxes through the letterbox and clip them to the resized image.

    Args:
        boxes_xywh: `(N, 4)` ``(x_min, y_min, w, h)`` in original-image pixels.
        geometry: Letterbox of that image.

    Returns:
        `(N, 4)` float64 ``(x1, y1, x2, y2)`` in network-input pixels.
    """
    top, _, left, _ = geometry.padding
    resized_h, resized_w = geometry.resized_size
    original_h, original_w = geometry.original_size
    scale_x = scale_y = geometry.scale  # Ultralytics scales labels by the unrounded ratio
    if max(round(original_w * scale_x), 1) != resized_w or max(round(original_h * scale_y), 1) != resized_h:
        scale_x, scale_y = resized_w / original_w, resized_h / original_h  # stretched (scale_fill)
    xyxy = np.concatenate((boxes_xywh[:, :2], boxes_xywh[:, :2] + boxes_xywh[:, 2:]), axis=1)
    xyxy *= np.array([scale_x, scale_y, scale_x, scale_y])
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, resized_w) + left
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, resized_h) + top
    return xyxy


def _objects(target: Any, index: int) -> tuple[Any, list[Mapping[str, Any]]]:
    """``(image_id, annotation list)`` of one image's COCO target, validated."""
    if not isinstance(target, Mapping) or not isinstance(target.get("annotations"), Sequence):
        raise DatasetFormatError(
            f"annotations[{index}] must be a dict {{'image_id': ..., 'annotations': [{{'bbox': [x, y, w, h], "
            f"'category_id': ...}}, ...]}} (COCO detection format), got {type(target).__name__}."
        )
    objects = list(target["annotations"])
    for number, obj in enumerate(objects):
        if not isinstance(obj, Mapping) or "bbox" not in obj or "category_id" not in obj:
            raise DatasetFormatError(
                f"annotations[{index}]['annotations'][{number}] needs 'bbox' [x_min, y_min, width, height] in "
                f"pixels and 'category_id'; got {obj!r:.120}."
            )
    return target.get("image_id"), objects


def _image_labels(target: Any, geometry: LetterboxGeometry, index: int) -> dict[str, np.ndarray]:
    """Labels of one image as NumPy arrays (see :func:`annotations_to_labels`)."""
    image_id, objects = _objects(target, index)
    objects = [obj for obj in objects if not obj.get("iscrowd", 0)]
    try:
        boxes = np.asarray([obj["bbox"] for obj in objects], dtype=np.float64).reshape(-1, 4)
        classes = np.asarray([obj["category_id"] for obj in objects], dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise DatasetFormatError(
            f"annotations[{index}]: bbox must be 4 numbers, category_id an int ({error})."
        ) from None
    if (boxes[:, 2:] < 0).any():
        bad = boxes[boxes[:, 2:].min(1) < 0][0].tolist()
        raise DatasetFormatError(f"annotations[{index}]: negative box width or height in bbox {bad}.")
    xyxy = letterbox_boxes(boxes, geometry)
    keep = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    if not keep.all():
        logger.debug("annotations[%d]: dropped %d boxes without area inside the image", index, int((~keep).sum()))
    xyxy, classes = xyxy[keep], classes[keep]
    input_h, input_w = geometry.input_size
    scale = np.array([input_w, input_h, input_w, input_h], dtype=np.float64)
    cxcywh = np.concatenate(((xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]), axis=1) / scale
    return {
        "image_id": np.asarray([-1 if image_id is None else image_id], dtype=np.int64),
        "class_labels": classes,
        "boxes": cxcywh.astype(np.float32),
        "area": ((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])).astype(np.float32),
        "iscrowd": np.zeros(len(classes), dtype=np.int64),
        "orig_size": np.asarray(geometry.original_size, dtype=np.int64),
        "size": np.asarray(geometry.input_size, dtype=np.int64),
    }


def annotations_to_labels(
    annotations: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    geometries: Sequence[LetterboxGeometry],
    return_tensors: str | None = "pt",
) -> list[dict[str, Any]]:
    """Turn COCO-style annotations into per-image training labels in network-input coordinates.

    Args:
        annotations: One COCO target per image (a single dict is accepted for a single image).
        geometries: The letterbox of each image, in the same order.
        return_tensors: ``"pt"`` for torch tensors, ``"np"`` or None for NumPy arrays.

    Returns:
        One dict per image: ``class_labels`` `(N,)` int64, ``boxes`` `(N, 4)` float32 normalized
        ``(cx, cy, w, h)``, ``area`` `(N,)` float32 (network-input pixels²), ``iscrowd`` `(N,)` int64,
        ``image_id`` `(1,)`, ``orig_size`` and ``size`` `(2,)` ``(height, width)`` of the original image and of
        the network input.

    Raises:
        DatasetFormatError: Not one annotation dict per image, or a malformed annotation.
    """
    targets = [annotations] if isinstance(annotations, Mapping) else list(annotations)
    if len(targets) != len(geometries):
        raise DatasetFormatError(
            f"got {len(targets)} annotation dicts for {len(geometries)} images; pass one per image."
        )
    labels = [_image_labels(t, g, i) for i, (t, g) in enumerate(zip(targets, geometries))]
    if return_tensors == "pt":
        return [{key: torch.from_numpy(value) for key, value in label.items()} for label in labels]
    return labels
