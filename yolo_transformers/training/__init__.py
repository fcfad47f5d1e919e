"""Fine-tuning and evaluation with the Hugging Face stack: ``Trainer`` transforms, Ultralytics' augmentation and
optimisation recipe, ``fine_tune``, and COCO metrics.

:mod:`.transforms` (``datasets`` rows to ``pixel_values`` and labels), :mod:`.evaluation` (``evaluate``) with
:mod:`.coco_metrics`. The losses the models compute are in :mod:`yolo_transformers.loss`.
"""

from __future__ import annotations

from ..lazy_exports import lazy_attributes

__all__ = ["DetectionTransform", "collate_fn", "EndToEndLossSchedule", "coco_target", "evaluate", "record_metrics",
           "training_dataset", "train_transform_for", "collate_for", "AugmentedDetectionDataset", "YoloTrainer",
           "UltralyticsRecipe", "fine_tune", "TaskTransform", "evaluate_task", "AugmentedTaskDataset",
           "AugmentedClassificationDataset"]

__getattr__ = lazy_attributes(__name__, {
    "DetectionTransform": ".transforms", "collate_fn": ".transforms", "EndToEndLossSchedule": ".transforms",
    "coco_target": ".transforms", "evaluate": ".evaluation", "record_metrics": ".evaluation",
    "training_dataset": ".transforms", "train_transform_for": ".transforms", "collate_for": ".transforms",
    "AugmentedDetectionDataset": ".augmentation", "YoloTrainer": ".recipe", "UltralyticsRecipe": ".recipe",
    "fine_tune": ".fine_tune",
    "TaskTransform": ".task_transform", "evaluate_task": ".task_evaluation",
    "AugmentedTaskDataset": ".task_augmentation", "AugmentedClassificationDataset": ".classify_augmentation",
})
