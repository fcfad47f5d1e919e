"""Ultralytics' own training losses for the task models (segment, pose, OBB, classify, semantic, depth).

Every function converts transformers-style ``labels`` to the batch Ultralytics' dataloader would produce and calls
the network's own criterion through :func:`yolo_transformers.training.loss.ultralytics_loss` (``network.init_criterion()``:
``v8SegmentationLoss``/``SegmentLoss26``, ``v8PoseLoss``/``PoseLoss26``, ``v8OBBLoss``, ``E2ELoss`` around them for
YOLO26 heads, ``v8ClassificationLoss``, ``SemanticSegmentationLoss``, ``DepthLoss26``). ``loss`` is what Ultralytics'
trainer back-propagates (``criterion(...)[0].sum()``); ``loss_dict`` holds its detached loss items.

Label formats (``pixel_values`` is the letterboxed network input, `(B, 3, H, W)`):

* instance segmentation: one dict per image, ``class_labels`` `(N,)`, ``boxes`` `(N, 4)` normalized
  ``(cx, cy, w, h)`` and ``masks`` `(N, H, W)` binary instance masks at the input resolution (or already at
  Ultralytics' training-mask resolution `(H / mask_ratio, W / mask_ratio)`, default ``mask_ratio=4``). Input-size
  masks are reduced to the training-mask resolution by area averaging and thresholding at 0.5, then merged into
  Ultralytics' overlap format (``overlap_mask=True``: objects sorted by decreasing area, smaller ones drawn over
  larger ones, labels reordered likewise) or kept per object (``overlap_mask=False`` in ``config.train_args``).
* pose: one dict per image, ``class_labels``, ``boxes`` as above and ``keypoints`` `(N, K, 3)` normalized
  ``(x, y, visibility)`` (visibility 0 = not labelled; `(N, K, 2)` counts every keypoint as visible).
* oriented boxes: one dict per image, ``class_labels`` `(N,)` and ``boxes`` `(N, 5)`: ``(cx, cy, w, h)``
  normalized by the input width/height and the angle in radians (Ultralytics' ``xywhr``).
* classification: ``labels`` a LongTensor `(B,)` of class indices, as transformers' image classifiers take.
* semantic segmentation: ``labels`` `(B, H, W)` integer class map (255 = ignore), at the input resolution, as
  transformers' semantic segmentation models take.
* depth: ``labels`` `(B, H, W)` float depth (values <= 0.001 are invalid pixels), in the unit the model predicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DatasetFormatError
from .loss import _as_tensor, detection_batch, training_hyperparameters, ultralytics_loss

__all__ = [
    "segmentation_loss",
    "pose_loss",
    "obb_loss",
    "classification_loss",
    "semantic_segmentation_loss",
    "depth_loss",
    "segmentation_batch",
    "obb_batch",
]

LossOutput = tuple[torch.Tensor, dict[str, torch.Tensor]]

_TASK_LOSS_NAMES = {"ce_loss": "ce", "dice_loss": "dice", "aux_loss": "aux", "dlog_loss": "dlog",
                    "dgrad_loss": "dgrad", "loss": "cls"}  # fmt: skip


def _check_per_image(labels: Any, pixel_values: torch.Tensor, keys: str) -> None:
    if isinstance(labels, Mapping) or not isinstance(labels, Sequence):
        raise DatasetFormatError(
            f"labels must be a list with one dict per image ({keys}), got {type(labels).__name__}."
        )
    if len(labels) != pixel_values.shape[0]:
        raise DatasetFormatError(
            f"got {len(labels)} label dicts for a batch of {pixel_values.shape[0]} images; pass one per image."
        )
    for index, label in enumerate(labels):
        missing = [key for key in keys.split(", ") if not isinstance(label, Mapping) or key not in label]
        if missing:
            raise DatasetFormatError(f"labels[{index}] lacks {missing}; each image needs {keys}.")


def _rename(loss_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {_TASK_LOSS_NAMES.get(name, name): value for name, value in loss_dict.items()}


def _training_masks(masks: torch.Tensor, size: tuple[int, int], index: int) -> torch.Tensor:
    """``(N, h, w)`` binary masks at the training-mask resolution ``size``."""
    if masks.ndim == 2 and masks.shape[0] == 0:
        masks = masks.reshape(0, *size)
    if masks.ndim != 3:
        raise DatasetFormatError(f"labels[{index}]['masks'] must be (N, H, W) binary masks, got {tuple(masks.shape)}.")
    if tuple(masks.shape[-2:]) != size and masks.shape[0]:
        masks = F.interpolate(masks[None].float(), size, mode="area")[0] >= 0.5
    elif tuple(masks.shape[-2:]) != size:
        masks = masks.new_zeros(0, *size)
    return (masks > 0.5).float()


def segmentation_batch(
    labels: Sequence[Mapping[str, Any]], pixel_values: torch.Tensor, *, mask_ratio: int = 4, overlap: bool = True
) -> dict[str, torch.Tensor]:
    """Ultralytics' segmentation batch (``batch_idx``, ``cls``, ``bboxes``, ``masks``, ``sem_masks``).

    Args:
        labels: One dict per image: ``class_labels`` `(N,)`, ``boxes`` `(N, 4)` normalized ``(cx, cy, w, h)``,
            ``masks`` `(N, H, W)` binary (input resolution, or ``(H / mask_ratio, W / mask_ratio)``).
        pixel_values: `(B, 3, H, W)` network input.
        mask_ratio: Ultralytics' training-mask downsampling (``train_args["mask_ratio"]``).
        overlap: Ultralytics' ``overlap_mask``: one `(h, w)` index map per image instead of per-object masks.

    Returns:
        The batch as Ultralytics' dataloader builds it; with ``overlap`` the objects of each image are reordered by
        decreasing mask area, as Ultralytics does.
    """
    _check_per_image(labels, pixel_values, "class_labels, boxes, masks")
    height, width = pixel_values.shape[-2:]
    size = (height // mask_ratio, width // mask_ratio)
    ordered, masks, sem_masks = [], [], []
    for index, label in enumerate(labels):
        classes = _as_tensor(label["class_labels"], torch.float32, "class_labels", index).reshape(-1)
        image_masks = _training_masks(_as_tensor(label["masks"], torch.float32, "masks", index), size, index)
        if image_masks.shape[0] != classes.shape[0]:
            raise DatasetFormatError(
                f"labels[{index}]: {image_masks.shape[0]} masks for {classes.shape[0]} class_labels; pass one each."
            )
        areas = image_masks.sum(dim=(1, 2))
        covered = image_masks.any(0) if len(classes) else torch.zeros(size, dtype=torch.bool)
        if overlap:
            order = torch.sort(-areas, stable=True).indices
            image_masks, classes = image_masks[order], classes[order]
            merged = torch.zeros(size)
            for i in range(len(order)):
                merged = torch.maximum(merged, image_masks[i] * (i + 1))
            masks.append(merged[None])
            semantic = classes[(merged.long() - 1).clamp_min(0)] if len(classes) else torch.zeros(size)
        else:
            order = torch.arange(len(classes))
            masks.append(image_masks)
            if len(classes):  # the smallest covering instance wins, as Ultralytics' Format does
                key = torch.where(image_masks.bool(), areas[:, None, None], areas.max() + 1)
                semantic = classes[key.min(0).indices]
            else:
                semantic = torch.zeros(size)
        sem_masks.append(semantic * covered)
        boxes = _as_tensor(label["boxes"], torch.float32, "boxes", index).reshape(-1, 4)
        ordered.append({**label, "class_labels": classes, "boxes": boxes[order]})
    batch = detection_batch(ordered, pixel_values.device)
    batch["masks"] = torch.cat(masks).to(pixel_values.device)
    batch["sem_masks"] = torch.stack(sem_masks).to(pixel_values.device)
    return batch


def segmentation_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor
) -> LossOutput:
    """Ultralytics' instance-segmentation loss (``box``, ``seg``, ``cls``, ``dfl``, ``sem``) for transformers labels."""
    hyp = training_hyperparameters(model.config.train_args)
    batch = segmentation_batch(labels, pixel_values, mask_ratio=int(hyp.mask_ratio), overlap=bool(hyp.overlap_mask))
    return ultralytics_loss(model, features, batch)


def pose_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor
) -> LossOutput:
    """Ultralytics' pose loss (``box``, ``pose``, ``kobj``, ``cls``, ``dfl``[, ``rle``]) for transformers labels."""
    _check_per_image(labels, pixel_values, "class_labels, boxes, keypoints")
    num_keypoints, dims = (int(v) for v in model.model.model[-1].kpt_shape)
    checked = []
    for index, label in enumerate(labels):
        keypoints = _as_tensor(label["keypoints"], torch.float32, "keypoints", index)
        if keypoints.numel() == 0:
            keypoints = keypoints.reshape(0, num_keypoints, dims)
        if keypoints.ndim != 3 or keypoints.shape[1] != num_keypoints or keypoints.shape[2] not in (2, 3):
            raise DatasetFormatError(
                f"labels[{index}]['keypoints'] must be (N, {num_keypoints}, 3) normalized (x, y, visibility), got "
                f"{tuple(keypoints.shape)}."
            )
        if keypoints.shape[2] == 2:
            keypoints = torch.cat((keypoints, torch.ones_like(keypoints[..., :1])), -1)
        checked.append({**label, "keypoints": keypoints if dims == 3 else keypoints[..., :dims]})
    batch = detection_batch(checked, pixel_values.device, extra_keys={"keypoints": "keypoints"})
    return ultralytics_loss(model, features, batch)


def obb_batch(labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """Ultralytics' OBB batch: ``batch_idx``, ``cls`` and ``bboxes`` `(N, 5)` normalized ``xywh`` + radians."""
    _check_per_image(labels, pixel_values, "class_labels, boxes")
    indices, classes, boxes = [], [], []
    for index, label in enumerate(labels):
        image_classes = _as_tensor(label["class_labels"], torch.float32, "class_labels", index).reshape(-1)
        image_boxes = _as_tensor(label["boxes"], torch.float32, "boxes", index)
        image_boxes = image_boxes.reshape(0, 5) if image_boxes.numel() == 0 else image_boxes
        if image_boxes.ndim != 2 or image_boxes.shape != (image_classes.shape[0], 5):
            raise DatasetFormatError(
                f"labels[{index}]['boxes'] {tuple(image_boxes.shape)} must be (N, 5) = normalized (cx, cy, w, h) and "
                f"the angle in radians, N = len(class_labels) = {image_classes.shape[0]}."
            )
        if image_boxes.numel() and (image_boxes[:, :4].min() < -0.01 or image_boxes[:, :4].max() > 1.01):
            raise DatasetFormatError(f"labels[{index}]: OBB (cx, cy, w, h) must be normalized to [0, 1].")
        indices.append(torch.full((image_classes.shape[0],), float(index)))
        classes.append(image_classes)
        boxes.append(image_boxes)
    batch = {"batch_idx": torch.cat(indices), "cls": torch.cat(classes).view(-1, 1), "bboxes": torch.cat(boxes)}
    return {key: value.to(pixel_values.device) for key, value in batch.items()}


def obb_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor
) -> LossOutput:
    """Ultralytics' OBB loss (``box``, ``cls``, ``dfl``, ``angle``) for transformers labels."""
    return ultralytics_loss(model, features, obb_batch(labels, pixel_values))


def _dense_labels(labels: Any, pixel_values: torch.Tensor, dtype: torch.dtype, what: str) -> torch.Tensor:
    labels = _as_tensor(labels, dtype, what, 0) if not torch.is_tensor(labels) else labels
    if labels.ndim != 3 or labels.shape[0] != pixel_values.shape[0]:
        raise DatasetFormatError(
            f"labels must be a (batch_size, height, width) {what} tensor, got {tuple(labels.shape)}."
        )
    return labels.to(pixel_values.device, dtype)


def classification_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor
) -> LossOutput:
    """Ultralytics' classification loss (mean cross-entropy) for a LongTensor ``labels`` `(B,)`."""
    labels = labels if torch.is_tensor(labels) else _as_tensor(labels, torch.long, "labels", 0)
    if labels.ndim != 1 or labels.shape[0] != pixel_values.shape[0] or labels.is_floating_point():
        raise DatasetFormatError(
            f"labels must be a LongTensor (batch_size,) of class indices, got {labels.dtype} {tuple(labels.shape)}."
        )
    loss, loss_dict = ultralytics_loss(model, features, {"cls": labels.to(pixel_values.device)})
    return loss, _rename(loss_dict)


def semantic_segmentation_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor
) -> LossOutput:
    """Ultralytics' semantic-segmentation loss (``ce``, ``dice``, ``aux``) for a `(B, H, W)` class map."""
    batch = {"semantic_mask": _dense_labels(labels, pixel_values, torch.long, "class-index")}
    loss, loss_dict = ultralytics_loss(model, features, batch)
    return loss, _rename(loss_dict)


def depth_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor
) -> LossOutput:
    """Ultralytics' depth loss (``dlog`` SILog, ``dgrad`` gradient matching) for a `(B, H, W)` depth map."""
    batch = {"depth": _dense_labels(labels, pixel_values, torch.float32, "depth")}
    loss, loss_dict = ultralytics_loss(model, features, batch)
    return loss, _rename(loss_dict)
