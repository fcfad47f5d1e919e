"""One ``datasets`` row of any task → the network-input label the model's loss takes (see :mod:`..loss.targets`).

Rows follow this package's schema (:mod:`yolo_transformers.data.features`); coordinates are original-image pixels.
Every function takes the row's :class:`~yolo_transformers.processing.letterbox.LetterboxGeometry` and maps the
annotation exactly as Ultralytics' ``LetterBox`` maps labels (scale by the resize ratio, shift by the left/top
padding; the depth models' stretch scales each axis on its own). ``flip=True`` mirrors the labels of a
left-right mirrored input, as Ultralytics' ``RandomFlip`` does after its letterbox: points are mirrored before
anything is derived from them, so masks are rasterised from mirrored polygons, keypoints swap left/right through
``flip_idx``, and rotated boxes get their ``xywhr`` (angle included) from the mirrored corners by Ultralytics' own
``xyxyxyxy2xywhr``, the same way an originally mirrored image would.

Label forms: segment ``{class_labels (N,), boxes (N, 4) cxcywh/input, masks (N, H/r, W/r) uint8}`` (``r`` =
``mask_ratio``), pose ``{class_labels, boxes, keypoints (N, K, 3) normalised}``, obb ``{class_labels, boxes (N, 5)
cxcywh/input + radians}``, semantic ``(H, W)`` int64 class ids (255 ignore, also in the padding), depth ``(H, W)``
float32 metres (0 invalid).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from ..data.dense import IGNORE_INDEX, decode_depth, decode_mask
from ..errors import DatasetFormatError
from ..processing.annotations import letterbox_boxes
from ..processing.letterbox import LetterboxGeometry

__all__ = ["object_labels", "input_polygons", "semantic_label", "depth_label", "label_lut"]


def _scales(geometry: LetterboxGeometry) -> tuple[float, float]:
    """Per-axis resize ratio (the letterbox's unrounded ratio; each axis on its own when stretched)."""
    (original_h, original_w), (resized_h, resized_w) = geometry.original_size, geometry.resized_size
    scale = geometry.scale
    if max(round(original_w * scale), 1) != resized_w or max(round(original_h * scale), 1) != resized_h:
        return resized_w / original_w, resized_h / original_h
    return scale, scale


def _points(points: np.ndarray, geometry: LetterboxGeometry, flip: bool = False) -> np.ndarray:
    """``(..., 2)`` original pixels → network-input pixels (mirrored left-right when ``flip``)."""
    scale_x, scale_y = _scales(geometry)
    top, _, left, _ = geometry.padding
    out = points * np.array([scale_x, scale_y]) + np.array([left, top])
    if flip:
        out[..., 0] = geometry.input_size[1] - out[..., 0]
    return out


def _boxes(objects: Mapping[str, Sequence[Any]], geometry: LetterboxGeometry, flip: bool) -> np.ndarray:
    """``(N, 4)`` normalised ``(cx, cy, w, h)`` of the COCO boxes, clipped to the resized image."""
    boxes = np.asarray(objects.get("bbox") or [], dtype=np.float64).reshape(-1, 4)
    xyxy = letterbox_boxes(boxes, geometry)
    height, width = geometry.input_size
    cxcywh = np.concatenate(((xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]), axis=1)
    if flip:
        cxcywh[:, 0] = width - cxcywh[:, 0]
    return cxcywh / np.array([width, height, width, height])


def object_labels(
    task: str,
    objects: Mapping[str, Sequence[Any]],
    geometry: LetterboxGeometry,
    *,
    kpt_shape: Sequence[int] | None = None,
    mask_ratio: int = 4,
    flip: bool = False,
    flip_idx: Sequence[int] | None = None,
    index: int = 0,
) -> dict[str, torch.Tensor]:
    """The label dict of one image of a detection-like task (``detect``, ``segment``, ``pose``, ``obb``).

    Args:
        task: The task.
        objects: The row's ``objects`` (dict of lists, pixels).
        geometry: The row's letterbox.
        kpt_shape: ``(K, D)`` for pose.
        mask_ratio: Ultralytics' training-mask downsampling (segment).
        flip: The input was mirrored left-right: mirror the labels too.
        flip_idx: Keypoint order after a mirror (pose; required with ``flip``).
        index: Row position, for error messages.

    Raises:
        DatasetFormatError: The row's per-object lists disagree in length, or pose is flipped without ``flip_idx``.
    """
    if flip and task == "pose" and not flip_idx:
        raise DatasetFormatError("pose labels cannot be mirrored without 'flip_idx' (data.yaml). Fix: add it.")
    categories = list(objects.get("category") or [])
    count = len(categories)
    for key in ("bbox", {"segment": "segmentation", "pose": "keypoints", "obb": "obb"}.get(task)):
        if key and len(objects.get(key) or []) != count:
            raise DatasetFormatError(f"row {index}: {len(objects.get(key) or [])} '{key}' for {count} categories.")
    classes = torch.tensor(categories, dtype=torch.float32)
    height, width = geometry.input_size
    if task == "obb":
        return {"class_labels": classes, "boxes": torch.from_numpy(_rotated(objects["obb"], geometry, flip)).float()}
    label = {"class_labels": classes, "boxes": torch.from_numpy(_boxes(objects, geometry, flip)).float()}
    if task == "segment":
        from ultralytics.data.utils import polygon2mask

        masks = [polygon2mask((height, width), [_points(np.asarray(p, np.float64).reshape(-1, 2), geometry, flip)
                                                 .reshape(-1)], downsample_ratio=mask_ratio)
                 for polygons in objects["segmentation"] for p in polygons[:1]]
        shape = (0, height // mask_ratio, width // mask_ratio)
        label["masks"] = torch.from_numpy(np.stack(masks) if masks else np.zeros(shape, np.uint8))
    elif task == "pose":
        k, dims = (int(v) for v in (kpt_shape or (0, 3)))
        points = np.asarray(objects["keypoints"], dtype=np.float64).reshape(count, k, -1)
        xy = _points(points[..., :2], geometry, flip) / np.array([width, height])
        visible = points[..., 2:3] if points.shape[-1] == 3 else np.ones_like(points[..., :1])
        if flip:
            xy, visible = xy[:, list(flip_idx)], visible[:, list(flip_idx)]
        xy = np.where(visible > 0, xy, 0.0)
        label["keypoints"] = torch.from_numpy(np.concatenate((xy, visible), -1)).float()
    return label


def input_polygons(objects: Mapping[str, Sequence[Any]], geometry: LetterboxGeometry) -> list[np.ndarray]:
    """Each object's (first) polygon in network-input pixels, ``(M, 2)`` float64 (segment rows)."""
    return [_points(np.asarray(polygons[0] if polygons else [], np.float64).reshape(-1, 2), geometry)
            for polygons in objects.get("segmentation") or []]


def _rotated(corners: Sequence[Sequence[float]], geometry: LetterboxGeometry, flip: bool) -> np.ndarray:
    """``(N, 5)`` normalised ``xywhr`` of rotated boxes given as 4 corners in pixels (Ultralytics' conversion)."""
    from ultralytics.utils.ops import xyxyxyxy2xywhr

    points = _points(np.asarray(corners, dtype=np.float64).reshape(-1, 4, 2), geometry, flip)
    if not len(points):
        return np.zeros((0, 5))
    xywhr = np.asarray(xyxyxyxy2xywhr(points.reshape(-1, 8).astype(np.float32)), dtype=np.float64)
    height, width = geometry.input_size
    return xywhr / np.array([width, height, width, height, 1.0])


def label_lut(label_mapping: Any) -> np.ndarray | None:
    """``label_mapping`` (raw mask id → class id / ``ignore_label``) as a 256-entry table, or None."""
    if not label_mapping:
        return None
    lut = np.arange(256, dtype=np.int64)
    for raw, target in dict(label_mapping).items():
        if 0 <= int(raw) < 256:
            lut[int(raw)] = IGNORE_INDEX if target in (None, "ignore_label") else int(target)
    return lut


def semantic_label(
    value: Any, geometry: LetterboxGeometry, lut: np.ndarray | None = None, flip: bool = False
) -> torch.Tensor:
    """A row's ``annotation`` mask letterboxed like its image (nearest neighbour, padding = 255 ignore)."""
    data = value.get("bytes") if isinstance(value, Mapping) else None
    ids = decode_mask(data, "annotation") if data is not None else np.asarray(value).astype(np.int64)
    if lut is not None:
        ids = lut[np.clip(ids, 0, 255)]
    resized_h, resized_w = geometry.resized_size
    ids = cv2.resize(ids.astype(np.uint16), (resized_w, resized_h), interpolation=cv2.INTER_NEAREST)
    top, bottom, left, right = geometry.padding
    ids = cv2.copyMakeBorder(ids, top, bottom, left, right, cv2.BORDER_CONSTANT, value=IGNORE_INDEX)
    return torch.from_numpy(np.ascontiguousarray(ids[:, ::-1] if flip else ids).astype(np.int64))


def depth_label(value: Any, geometry: LetterboxGeometry, depth_scale: float, flip: bool = False) -> torch.Tensor:
    """A row's ``depth_map`` in metres, resized like its image (nearest neighbour; padding 0 = invalid)."""
    depth = decode_depth(value, depth_scale)
    resized_h, resized_w = geometry.resized_size
    depth = cv2.resize(depth, (resized_w, resized_h), interpolation=cv2.INTER_NEAREST)
    top, bottom, left, right = geometry.padding
    depth = cv2.copyMakeBorder(depth, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0.0)
    return torch.from_numpy(np.ascontiguousarray(depth[:, ::-1] if flip else depth).astype(np.float32))
