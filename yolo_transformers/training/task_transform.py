"""``TaskTransform``: rows of any task's dataset → ``pixel_values`` and the labels its model trains on.

Use it with ``Dataset.with_transform`` and :func:`collate_task_batch` as ``Trainer``'s ``data_collator``; the public
entry points are :func:`yolo_transformers.training.transforms.train_transform_for` and ``collate_for``.

Inputs: rows of this package's schema (:mod:`yolo_transformers.data.features`): ``image`` plus ``objects``
(detect, segment, pose, obb), ``label`` (classify; the Hub's ``image`` + ``label`` convention, so any Hub
image-classification dataset works), ``annotation`` (semantic) or ``depth_map`` (depth). Images are letterboxed
to the full square ``image_size`` (stretched for depth, resized and centre-cropped for classify) exactly as the
model's processor does, so every sample of a batch has one shape.

``fliplr`` is the probability of a left-right mirror per sample (Ultralytics' ``RandomFlip``), the one geometric
augmentation done here; labels follow (see :mod:`.task_targets`). Classification mirrors the image only.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..data.dense import DEFAULT_DEPTH_SCALE
from ..data.metadata import YoloMetadata
from ..errors import DatasetFormatError
from ..loss.yolo_loss import training_hyperparameters
from ..processing.letterbox import to_rgb_array
from ..tasks import TASK_SPECS
from .task_targets import depth_label, label_lut, object_labels, semantic_label

__all__ = ["TaskTransform", "collate_task_batch"]

_DETECTION_LIKE = ("detect", "segment", "pose", "obb")


class TaskTransform:
    """Batch transform for ``Dataset.with_transform``, for every task.

    Args:
        config: The model's ``YoloConfig`` (task, ``kpt_shape`` in its architecture, ``mask_ratio`` in train_args).
        processor: The model's image processor (``processor_for_config(config)``).
        image_size: Training input size (square side or ``[height, width]``), default the processor's.
        metadata: The dataset's YOLO metadata (``flip_idx``, ``depth_scale``, ``label_mapping``); optional.
        fliplr: Probability of mirroring a sample left-right.
        seed: Seed of the flip draws (None: not reproducible).

    Raises:
        DatasetFormatError: ``fliplr`` on a pose dataset without ``flip_idx``.
    """

    def __init__(
        self,
        config: Any,
        processor: Any,
        *,
        image_size: int | Sequence[int] | None = None,
        metadata: YoloMetadata | None = None,
        fliplr: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.task = config.task
        self.processor = processor
        self.image_size = image_size
        self.fliplr = float(fliplr)
        self.rng = random.Random(seed)
        architecture = config.architecture or {}
        self.kpt_shape = architecture.get("kpt_shape")
        self.mask_ratio = int(training_hyperparameters(config.train_args).mask_ratio)
        extra = (metadata.extra if metadata else None) or {}
        self.flip_idx = metadata.flip_idx if metadata else None
        self.depth_scale = float(extra.get("depth_scale", DEFAULT_DEPTH_SCALE))
        self.lut = label_lut(extra.get("label_mapping"))
        if self.task == "pose" and self.fliplr > 0 and not self.flip_idx:
            raise DatasetFormatError(
                "fliplr > 0 on a pose dataset needs 'flip_idx' (the keypoint order after a mirror) in its metadata. "
                "Fix: add flip_idx to data.yaml and reload the dataset, pass metadata=read_metadata(dataset), or "
                "set fliplr=0."
            )

    def __call__(self, examples: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
        """Transform a batch of rows (column → list of values).

        Returns:
            ``{"pixel_values": (B, 3, H, W) float32, "labels": ...}``: a list of dicts (detection-like tasks),
            ``(B,)`` int64 (classify), ``(B, H, W)`` int64 class ids (semantic) or float32 metres (depth).
        """
        arrays = [to_rgb_array(image) for image in examples["image"]]
        flips = [self.fliplr > 0 and self.rng.random() < self.fliplr for _ in arrays]
        if self.task == "classify":
            pixel_values = self.processor(arrays, return_tensors="pt")["pixel_values"]
            labels = torch.as_tensor(list(examples["label"]), dtype=torch.long)
            return {"pixel_values": _flip(pixel_values, flips), "labels": labels}
        geometry = self.processor.letterbox_geometry([a.shape[:2] for a in arrays], self.image_size, False)
        pixel_values = self.processor(arrays, image_size=self.image_size, minimal_padding=False,
                                      return_tensors="pt")["pixel_values"]
        pixel_values = _flip(pixel_values, flips)
        if self.task in _DETECTION_LIKE:
            labels = [
                object_labels(self.task, objects, g, kpt_shape=self.kpt_shape, mask_ratio=self.mask_ratio, flip=f,
                              flip_idx=self.flip_idx, index=i)
                for i, (objects, g, f) in enumerate(zip(examples["objects"], geometry, flips))
            ]
            return {"pixel_values": pixel_values, "labels": labels}
        column = TASK_SPECS[self.task].dense_column
        if self.task == "semantic":
            maps = [semantic_label(v, g, self.lut, f) for v, g, f in zip(examples[column], geometry, flips)]
        else:
            maps = [depth_label(v, g, self.depth_scale, f) for v, g, f in zip(examples[column], geometry, flips)]
        return {"pixel_values": pixel_values, "labels": torch.stack(maps)}


def _flip(pixel_values: torch.Tensor, flips: list[bool]) -> torch.Tensor:
    """Mirror the flagged images of a `(B, 3, H, W)` batch left-right."""
    if not any(flips):
        return pixel_values
    mask = torch.tensor(flips)
    out = pixel_values.clone()
    out[mask] = pixel_values[mask].flip(-1)
    return out


def collate_task_batch(batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack samples of :class:`TaskTransform` into a model batch (``Trainer``'s ``data_collator``).

    Label dicts stay a list (one per image); tensor labels (classify, semantic, depth) are stacked.

    Raises:
        DatasetFormatError: The samples have different input sizes.
    """
    shapes = {tuple(sample["pixel_values"].shape) for sample in batch}
    if len(shapes) > 1:
        raise DatasetFormatError(
            f"samples of one batch must share one input size, got {sorted(shapes)}; letterbox every image to the "
            "same image_size (train_transform_for and DetectionTransform do, or processor(..., minimal_padding=False))."
        )
    collated: dict[str, Any] = {"pixel_values": torch.stack([torch.as_tensor(s["pixel_values"]) for s in batch])}
    if "labels" in batch[0]:
        labels = [sample["labels"] for sample in batch]
        collated["labels"] = torch.stack([torch.as_tensor(v) for v in labels]) if torch.is_tensor(labels[0]) \
            or isinstance(labels[0], (int, np.integer)) else labels
    return collated
