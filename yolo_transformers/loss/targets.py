"""transformers-style ``labels`` to the batch Ultralytics' dataloader produces, for every task.

Every function validates what it is given and raises :class:`~yolo_transformers.errors.DatasetFormatError` naming
the image index and the key. Batch layouts are Ultralytics': ``batch_idx`` `(N,)`, ``cls`` `(N, 1)`, ``bboxes``
`(N, 4)` normalized ``(cx, cy, w, h)`` over all ``N`` objects of the batch, plus each task's own keys.

Label formats, per task (``pixel_values`` is the letterboxed network input, `(B, 3, H, W)`):

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

* detection: one dict per image, ``class_labels`` `(N,)` and ``boxes`` `(N, 4)` normalized ``(cx, cy, w, h)``
  relative to the network input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import DatasetFormatError

__all__ = ["as_label_tensor", "detection_batch", "segmentation_batch", "pose_batch", "obb_batch",
           "classification_batch", "semantic_batch", "depth_batch", "check_per_image", "dense_labels",
           "check_class_ids"]

#: Normalised coordinates may exceed [0, 1] by this much (rounding) before labels are rejected as absolute pixels.
_BOX_TOLERANCE = 0.01


def as_label_tensor(value: Any, dtype: torch.dtype, name: str, index: int) -> torch.Tensor:
    """``value`` as a tensor of ``dtype`` on the CPU, with a clear error for anything that is not numbers."""
    try:
        if torch.is_tensor(value):
            return value.detach().to("cpu", dtype)
        return torch.as_tensor(value, dtype=dtype, device="cpu")
    except (TypeError, ValueError, RuntimeError) as error:
        raise DatasetFormatError(f"labels[{index}][{name!r}] is not a tensor of numbers: {error}") from None


def _per_object(label: Mapping[str, Any], index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated ``(class_labels (N,), boxes (N, 4))`` of one image's label dict."""
    if not isinstance(label, Mapping) or "class_labels" not in label or "boxes" not in label:
        raise DatasetFormatError(
            f"labels[{index}] must be a dict with 'class_labels' (N,) and 'boxes' (N, 4) normalized (cx, cy, w, h); "
            f"got {type(label).__name__} with keys {sorted(label) if isinstance(label, Mapping) else '-'}."
        )
    classes = as_label_tensor(label["class_labels"], torch.float32, "class_labels", index).reshape(-1)
    boxes = as_label_tensor(label["boxes"], torch.float32, "boxes", index)
    boxes = boxes.reshape(0, 4) if boxes.numel() == 0 else boxes
    if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] != classes.shape[0]:
        raise DatasetFormatError(
            f"labels[{index}]: 'boxes' {tuple(boxes.shape)} must be (N, 4) with N = len(class_labels) = "
            f"{classes.shape[0]}."
        )
    if boxes.numel() and (boxes.min() < -_BOX_TOLERANCE or boxes.max() > 1 + _BOX_TOLERANCE):
        raise DatasetFormatError(
            f"labels[{index}]: boxes must be (cx, cy, w, h) normalized to [0, 1] by the network input size, got "
            f"values in [{boxes.min():.3g}, {boxes.max():.3g}]; YoloImageProcessor(images=..., annotations=...) "
            "produces them from COCO annotations."
        )
    return classes, boxes


def detection_batch(
    labels: Sequence[Mapping[str, Any]],
    device: torch.device | str,
    *,
    extra_keys: Mapping[str, str] | None = None,
) -> dict[str, torch.Tensor]:
    """Convert transformers detection labels to Ultralytics' batch format.

    Args:
        labels: One dict per image with ``class_labels`` `(N_i,)` and ``boxes`` `(N_i, 4)` normalized
            ``(cx, cy, w, h)`` relative to the network input (the letterboxed ``pixel_values``).
        device: Device of the returned tensors.
        extra_keys: Further per-object label keys to concatenate into the batch, ``{label_key: batch_key}``
            (e.g. ``{"keypoints": "keypoints"}`` for pose: `(N_i, K, 3)` per image).

    Returns:
        ``{"batch_idx": (N,), "cls": (N, 1), "bboxes": (N, 4)}`` float32 over all ``N = sum(N_i)`` objects, plus
        the extra keys; the layout of Ultralytics' dataloader.

    Raises:
        DatasetFormatError: A label dict is malformed, or its boxes are not normalized.
    """
    if isinstance(labels, Mapping) or not isinstance(labels, Sequence):
        raise DatasetFormatError(
            f"labels must be a list with one dict per image, got {type(labels).__name__}; "
            "use yolo_transformers.training.transforms.collate_fn to batch processor outputs."
        )
    indices, classes, boxes = [], [], []
    extras: dict[str, list[torch.Tensor]] = {key: [] for key in (extra_keys or {})}
    for index, label in enumerate(labels):
        image_classes, image_boxes = _per_object(label, index)
        indices.append(torch.full((image_classes.shape[0],), float(index)))
        classes.append(image_classes)
        boxes.append(image_boxes)
        for key in extras:
            extras[key].append(as_label_tensor(label[key], torch.float32, key, index))
    batch = {
        "batch_idx": torch.cat(indices) if indices else torch.zeros(0),
        "cls": (torch.cat(classes) if classes else torch.zeros(0)).view(-1, 1),
        "bboxes": torch.cat(boxes) if boxes else torch.zeros(0, 4),
    }
    for label_key, batch_key in (extra_keys or {}).items():
        batch[batch_key] = torch.cat(extras[label_key])
    return {key: value.to(device) for key, value in batch.items()}


def check_per_image(labels: Any, pixel_values: torch.Tensor, keys: str) -> None:
    """One label dict per image of ``pixel_values``, each holding ``keys`` (comma-separated)."""
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
    check_per_image(labels, pixel_values, "class_labels, boxes, masks")
    height, width = pixel_values.shape[-2:]
    size = (height // mask_ratio, width // mask_ratio)
    ordered, masks, sem_masks = [], [], []
    for index, label in enumerate(labels):
        classes = as_label_tensor(label["class_labels"], torch.float32, "class_labels", index).reshape(-1)
        image_masks = _training_masks(as_label_tensor(label["masks"], torch.float32, "masks", index), size, index)
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
        boxes = as_label_tensor(label["boxes"], torch.float32, "boxes", index).reshape(-1, 4)
        ordered.append({**label, "class_labels": classes, "boxes": boxes[order]})
    batch = detection_batch(ordered, pixel_values.device)
    batch["masks"] = torch.cat(masks).to(pixel_values.device)
    batch["sem_masks"] = torch.stack(sem_masks).to(pixel_values.device)
    return batch


def pose_batch(labels: Any, pixel_values: torch.Tensor, kpt_shape: Sequence[int]) -> dict[str, torch.Tensor]:
    """Ultralytics' pose batch: the detection batch plus ``keypoints`` `(N, K, dims)` normalized.

    Args:
        labels: One dict per image: ``class_labels``, ``boxes`` and ``keypoints`` `(N, K, 3)` (or `(N, K, 2)`).
        pixel_values: `(B, 3, H, W)` network input.
        kpt_shape: The head's ``(K, dims)``.
    """
    check_per_image(labels, pixel_values, "class_labels, boxes, keypoints")
    num_keypoints, dims = (int(v) for v in kpt_shape)
    checked = []
    for index, label in enumerate(labels):
        keypoints = as_label_tensor(label["keypoints"], torch.float32, "keypoints", index)
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
    return detection_batch(checked, pixel_values.device, extra_keys={"keypoints": "keypoints"})




def obb_batch(labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """Ultralytics' OBB batch: ``batch_idx``, ``cls`` and ``bboxes`` `(N, 5)` normalized ``xywh`` + radians."""
    check_per_image(labels, pixel_values, "class_labels, boxes")
    indices, classes, boxes = [], [], []
    for index, label in enumerate(labels):
        image_classes = as_label_tensor(label["class_labels"], torch.float32, "class_labels", index).reshape(-1)
        image_boxes = as_label_tensor(label["boxes"], torch.float32, "boxes", index)
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


def dense_labels(labels: Any, pixel_values: torch.Tensor, dtype: torch.dtype, what: str) -> torch.Tensor:
    """A `(B, H, W)` per-pixel label tensor (class indices or depth) on the input's device."""
    labels = as_label_tensor(labels, dtype, what, 0) if not torch.is_tensor(labels) else labels
    if labels.ndim != 3 or labels.shape[0] != pixel_values.shape[0]:
        raise DatasetFormatError(
            f"labels must be a (batch_size, height, width) {what} tensor, got {tuple(labels.shape)}."
        )
    return labels.to(pixel_values.device, dtype)


def classification_batch(labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """Ultralytics' classification batch ``{"cls": (B,)}`` from a LongTensor of class indices."""
    labels = labels if torch.is_tensor(labels) else as_label_tensor(labels, torch.long, "labels", 0)
    if labels.ndim != 1 or labels.shape[0] != pixel_values.shape[0] or labels.is_floating_point():
        raise DatasetFormatError(
            f"labels must be a LongTensor (batch_size,) of class indices, got {labels.dtype} {tuple(labels.shape)}."
        )
    return {"cls": labels.to(pixel_values.device)}


def semantic_batch(labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """Ultralytics' semantic-segmentation batch ``{"semantic_mask": (B, H, W)}`` (class indices, 255 = ignore)."""
    return {"semantic_mask": dense_labels(labels, pixel_values, torch.long, "class-index")}


def depth_batch(labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """Ultralytics' depth batch ``{"depth": (B, H, W)}``."""
    return {"depth": dense_labels(labels, pixel_values, torch.float32, "depth")}


def _image_name(labels: Any, index: int) -> str:
    """``labels[i]``, with the image's ``image_id`` when its label dict carries one (processor labels do)."""
    label = labels[index] if isinstance(labels, Sequence) and index < len(labels) else None
    image_id = label.get("image_id") if isinstance(label, Mapping) else None
    if torch.is_tensor(image_id):
        image_id = int(image_id.reshape(-1)[0]) if image_id.numel() == 1 and int(image_id.reshape(-1)[0]) >= 0 else None
    return f"labels[{index}]" if image_id is None else f"labels[{index}] (image_id {image_id})"


def check_class_ids(batch: Mapping[str, torch.Tensor], labels: Any, num_classes: int) -> None:
    """Refuse class ids outside ``[0, num_classes)`` before Ultralytics' criterion indexes with them.

    Args:
        batch: An Ultralytics batch: ``cls`` `(N, 1)` with ``batch_idx`` `(N,)`, ``cls`` `(B,)` (classification) or
            ``semantic_mask`` `(B, H, W)` (255 = ignore).
        labels: The labels the batch was built from (to name the image).
        num_classes: The model's number of classes (``config.num_labels``).

    Raises:
        DatasetFormatError: naming the first offending image, the class id and the valid range.
    """
    if "semantic_mask" in batch:
        mask = batch["semantic_mask"]
        bad = (mask != 255) & ((mask < 0) | (mask >= num_classes))
        if bad.any():
            image = int(bad.flatten(1).any(1).nonzero()[0])
            value = int(mask[image][bad[image]][0])
            raise DatasetFormatError(f"labels[{image}] has class id {value}, outside the model's {num_classes} "
                                     f"classes (0..{num_classes - 1}, 255 = ignore); remap the labels or re-head "
                                     "the model for your classes.")
        return
    if "cls" not in batch or batch["cls"].numel() == 0:
        return
    classes = batch["cls"].reshape(-1)
    bad = (classes < 0) | (classes >= num_classes) | (classes != classes.round())
    if bad.any():
        first = int(bad.nonzero()[0])
        image = int(batch["batch_idx"][first]) if "batch_idx" in batch else first
        value = classes[first].item()
        value = int(value) if float(value).is_integer() else value
        raise DatasetFormatError(
            f"{_image_name(labels, image)} has class id {value}, outside the model's {num_classes} classes "
            f"(0..{num_classes - 1}); remap the dataset's classes to the model's or re-head the model "
            "(from_pretrained(..., id2label=..., ignore_mismatched_sizes=True))."
        )
