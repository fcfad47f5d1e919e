"""Fine-tune YOLO detectors with ``transformers.Trainer`` on ``datasets`` detection datasets.

The pieces transformers' object-detection guide asks for, for YOLO:

* :class:`DetectionTransform` turns rows of the Hub detection schema (``image``, ``image_id``,
  ``objects: {bbox (COCO x, y, w, h pixels), category, area}``, as :func:`yolo_transformers.data.load_yolo_dataset`
  writes them) into letterboxed ``pixel_values`` and ``labels``; use it with ``dataset.with_transform``;
* :func:`collate_fn` stacks samples into a batch (every sample is padded to the same square ``image_size``);
* :class:`EndToEndLossSchedule` moves the YOLOv10/YOLO26 loss weight from the one-to-many to the one-to-one
  branch once per epoch, as Ultralytics' trainer does.

Example::

    from transformers import Trainer, TrainingArguments
    from .. import YoloForObjectDetection, YoloImageProcessor
    from ..data import load_yolo_dataset
    from .transforms import DetectionTransform, collate_fn

    model = YoloForObjectDetection.from_pretrained("my-detector")
    processor = YoloImageProcessor.from_pretrained("my-detector")
    data = load_yolo_dataset("shapes/data.yaml")
    train = data["train"].with_transform(DetectionTransform(processor))
    args = TrainingArguments("out", remove_unused_columns=False, learning_rate=1e-3, num_train_epochs=10)
    Trainer(model=model, args=args, train_dataset=train, data_collator=collate_fn).train()
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from transformers import TrainerCallback

from ..errors import DatasetFormatError, UnsupportedTaskError
from ..tasks import TASK_SPECS
from .task_transform import TaskTransform, collate_task_batch

__all__ = ["DetectionTransform", "collate_fn", "coco_target", "EndToEndLossSchedule", "train_transform_for",
           "collate_for", "training_dataset"]

logger = logging.getLogger(__name__)


def coco_target(image_id: int, objects: Mapping[str, Sequence[Any]], num_labels: int | None = None) -> dict[str, Any]:
    """One row's ``objects`` (Hub detection schema) as the COCO target ``YoloImageProcessor`` takes.

    Args:
        image_id: The row's ``image_id``.
        objects: ``{"bbox": [[x_min, y_min, w, h], ...] (pixels), "category": [...], "area": [...]}``.
        num_labels: The model's number of classes; categories outside ``[0, num_labels)`` are refused. None checks
            only that they are not negative.

    Returns:
        ``{"image_id": image_id, "annotations": [{"bbox", "category_id", "area", "iscrowd"}, ...]}``.

    Raises:
        DatasetFormatError: Boxes and categories differ in number, or a category is outside the model's classes.
    """
    boxes, categories = objects.get("bbox", []), objects.get("category", [])
    if len(boxes) != len(categories):
        raise DatasetFormatError(f"image {image_id}: {len(boxes)} boxes but {len(categories)} categories.")
    for category in categories:
        if int(category) < 0 or (num_labels is not None and int(category) >= num_labels):
            valid = "must not be negative" if num_labels is None else f"the model has {num_labels} classes (0..{num_labels - 1})"
            raise DatasetFormatError(
                f"image {image_id}: class id {int(category)} is outside the model's classes: {valid}; remap the "
                "dataset's classes to the model's or re-head the model (from_pretrained(..., id2label=..., "
                "ignore_mismatched_sizes=True))."
            )
    areas = objects.get("area") or [float(w) * float(h) for _, _, w, h in boxes]
    return {
        "image_id": image_id,
        "annotations": [
            {"bbox": list(box), "category_id": int(category), "area": float(area), "iscrowd": 0}
            for box, category, area in zip(boxes, categories, areas)
        ],
    }


class DetectionTransform:
    """Batch transform for ``Dataset.with_transform``: Hub detection rows -> ``pixel_values`` and ``labels``.

    Args:
        processor: The model's ``YoloImageProcessor``; every image is letterboxed to its full ``image_size``.
        image_size: Training input size (square side or ``[height, width]``), default the processor's.
        num_labels: The model's number of classes (``model.config.num_labels``): a row with a category outside
            them raises :class:`DatasetFormatError` naming the ``image_id`` and the id, when the row is read.

    Example:
        >>> train = dataset["train"].with_transform(DetectionTransform(processor, image_size=320))
        >>> train[0]["pixel_values"].shape, train[0]["labels"]["boxes"].shape
        (torch.Size([3, 320, 320]), torch.Size([3, 4]))
    """

    def __init__(self, processor: Any, image_size: int | Sequence[int] | None = None,
                 num_labels: int | None = None) -> None:
        self.processor = processor
        self.image_size = image_size
        self.num_labels = num_labels

    def __call__(self, examples: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
        """Transform a batch of rows (column -> list of values).

        Returns:
            ``{"pixel_values": (B, 3, H, W) float32, "labels": [dict, ...]}`` (see
            :func:`yolo_transformers.processing.annotations.annotations_to_labels` for the label fields).
        """
        images = list(examples["image"])
        ids = examples.get("image_id") or list(range(len(images)))
        targets = [coco_target(i, objects, self.num_labels) for i, objects in zip(ids, examples["objects"])]
        features = self.processor(
            images=images, annotations=targets, image_size=self.image_size, minimal_padding=False,
            return_tensors="pt",
        )  # fmt: skip
        return {"pixel_values": features["pixel_values"], "labels": features["labels"]}


def collate_fn(batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack processed samples into a model batch (the ``data_collator`` of ``Trainer``).

    Args:
        batch: Samples with ``pixel_values`` `(3, H, W)` (all the same shape) and ``labels`` (one dict each).

    Returns:
        ``{"pixel_values": (B, 3, H, W), "labels": [dict, ...]}``.

    Raises:
        DatasetFormatError: The samples have different input sizes (letterbox them to one fixed ``image_size``:
            :class:`DetectionTransform` does).
    """
    return collate_task_batch(batch)


def training_dataset(
    config: Any, rows: Any, *, image_size: int | None = None, augment: bool = True, seed: int = 0,
    processor: Any = None, hyperparameters: Mapping[str, Any] | None = None,
) -> tuple[Any, list[TrainerCallback]]:
    """The ``train_dataset`` for ``Trainer`` and the callbacks it needs: augmented as Ultralytics trains, or not.

    Args:
        config: The model's ``YoloConfig``.
        rows: The training split (the schema of ``config.task``; classification: any ``image`` + ``label`` rows).
        image_size: Square training size, default the config's (its larger side).
        augment: Ultralytics' default training augmentation of the task, built on its own classes: detect, segment,
            pose, obb and semantic get ``v8_transforms`` (mosaic, random perspective/scale/translate, HSV, flips,
            ``close_mosaic``; :mod:`.augmentation`, :mod:`.task_augmentation`), depth the same without mosaic,
            classify ``classify_augmentations`` (:mod:`.classify_augmentation`). False: letterbox only.
        seed: Seed of the augmentation draws.
        processor: The model's image processor (letterbox-only path), default built from ``config``.
        hyperparameters: Ultralytics augmentation settings overriding its defaults (``mosaic``, ``scale``, ...);
            ``mask_ratio`` and ``overlap_mask`` default to ``config.train_args``' (what the segment loss reads).

    Returns:
        ``(dataset, callbacks)``: pass both to ``Trainer`` (``callbacks`` moves the augmentation's epoch).
    """
    metadata = None
    if config.task not in ("detect", "classify"):  # flip_idx, depth_scale, label_mapping travel in the metadata
        from ..data.metadata import read_metadata

        metadata = read_metadata(rows)
    if not augment:
        transform = train_transform_for(config, image_size=image_size, processor=processor, metadata=metadata)
        return rows.with_transform(transform), []
    from .augmentation import AugmentationSchedule, AugmentedDetectionDataset

    size = int(image_size or max(config.image_hw))
    if config.task == "detect":
        dataset = AugmentedDetectionDataset(rows, size, hyperparameters=hyperparameters, seed=seed)
    elif TASK_SPECS[config.task].training_dataset == "ClassificationDataset":
        from .classify_augmentation import AugmentedClassificationDataset

        dataset = AugmentedClassificationDataset(rows, size, hyperparameters=hyperparameters, seed=seed)
    else:
        from ..loss.yolo_loss import training_hyperparameters
        from .task_augmentation import AugmentedTaskDataset

        train_args = training_hyperparameters(config.train_args)
        settings = {"mask_ratio": train_args.mask_ratio, "overlap_mask": train_args.overlap_mask,
                    **(hyperparameters or {})}  # fmt: skip
        dataset = AugmentedTaskDataset(rows, size, task=config.task, metadata=metadata, hyperparameters=settings,
                                       seed=seed)  # fmt: skip
    logger.info("training %r with Ultralytics' augmentation (as its %s does; %s), seed %d", config.task,
                TASK_SPECS[config.task].training_dataset, type(dataset).__name__, seed)
    return dataset, [AugmentationSchedule(dataset)]


class EndToEndLossSchedule(TrainerCallback):
    """Ultralytics' per-epoch one-to-many -> one-to-one loss weighting for YOLOv10/YOLO26 heads (``E2ELoss``).

    Ultralytics' trainer calls ``criterion.update()`` after each epoch, decaying the one-to-many weight from 0.8
    to 0.1 over ``epochs``; this callback does the same with ``Trainer``'s epochs. Harmless for classic heads.
    """

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        criterion = self._criterion(model)
        if criterion is not None:
            criterion.one2one.hyp.epochs = max(math.ceil(args.num_train_epochs), 1)

    def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        criterion = self._criterion(model)
        if criterion is not None:
            criterion.update()
            logger.debug("end-to-end loss weights: one-to-many %.3f, one-to-one %.3f", criterion.o2m, criterion.o2o)

    @staticmethod
    def _criterion(model: Any) -> Any:
        """The model's Ultralytics criterion if it has a schedule, else None."""
        if model is None or not hasattr(model, "config"):
            return None
        from ..loss.yolo_loss import get_criterion

        criterion = get_criterion(model)
        return criterion if hasattr(criterion, "update") else None


def train_transform_for(
    config: Any,
    *,
    image_size: int | Sequence[int] | None = None,
    augment: bool = False,
    processor: Any = None,
    metadata: Any = None,
    fliplr: float = 0.0,
    seed: int | None = None,
) -> Any:
    """The ``Dataset.with_transform`` transform that feeds a model of ``config.task`` (every task).

    Letterbox only (``augment=False``): detection rows go through :class:`DetectionTransform`, every other task
    through :class:`~yolo_transformers.training.task_transform.TaskTransform` (which also takes ``fliplr``).

    Args:
        config: The model's ``YoloConfig``.
        image_size: Training input size (default the config's).
        augment: Refused: Ultralytics' augmentation draws other rows (mosaic), so it is a dataset, not a batch
            transform; use :func:`training_dataset` ``(augment=True)``.
        processor: The model's image processor (default: built from ``config``).
        metadata: The dataset's :class:`~yolo_transformers.data.metadata.YoloMetadata` (``flip_idx``,
            ``depth_scale``, ``label_mapping``).
        fliplr: Probability of a left-right mirror per sample, labels following (not for ``detect``, whose
            augmentation is ``augment``).
        seed: Seed of the flip draws.

    Raises:
        UnsupportedTaskError: ``augment=True`` (see above), or ``fliplr`` with ``detect``.
    """
    from ..image_processing_auto import processor_for_config

    if augment:
        raise UnsupportedTaskError(
            f"augment=True for task {config.task!r}: Ultralytics' augmentation needs the whole dataset (mosaic draws "
            "other rows), not one batch of rows. Fix: training_dataset(config, rows, augment=True) (every task), or "
            "augment=False here (letterbox only; fliplr= mirrors samples for the other tasks)."
        )
    processor = processor or processor_for_config(config)
    if config.task == "classify" and image_size is not None:
        processor = type(processor)(image_size=image_size, stride=processor.stride)
    if config.task == "detect":
        if fliplr:
            raise UnsupportedTaskError("fliplr is not available for task 'detect' here. Fix: pass fliplr=0.")
        return DetectionTransform(processor, image_size=image_size)
    return TaskTransform(config, processor, image_size=image_size, metadata=metadata, fliplr=fliplr, seed=seed)


def collate_for(config: Any) -> Any:
    """``Trainer``'s ``data_collator`` for a model of ``config.task``: stacks images, keeps label dicts a list,
    stacks tensor labels (classify ``(B,)``, semantic and depth ``(B, H, W)``)."""
    return collate_task_batch
