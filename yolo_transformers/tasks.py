"""The task table: every fact that varies by Ultralytics task, in one place.

This module is the bottom of the package: it imports nothing from it, and every other layer reads its facts from
here instead of keeping a table or a ``task == ...`` chain of its own. Adding a task, or a fact about every task, is
a change to :data:`TASK_SPECS` alone. Classes are named by string so the table needs no import of the layers above
it; :mod:`yolo_transformers.auto` resolves the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["TaskSpec", "TASK_SPECS", "TASKS", "DATASET_TASKS", "task_spec"]


@dataclass(frozen=True)
class TaskSpec:
    """What one Ultralytics task is, for every layer of the package.

    Attributes:
        name: Ultralytics' task name (``model.task``, ``data.yaml``'s ``task``).
        network_class: Ultralytics' model class in ``ultralytics.nn.tasks`` (``DetectionModel``...).
        model_class: The ``YoloFor...`` class serving the task.
        processor_class: The image processor class preparing its images.
        resize: How the processor fits an image to the network input: ``letterbox`` (keep the aspect ratio, pad
            with grey), ``stretch`` (resize both sides, depth), or ``center_crop`` (classification).
        auto_classes: The transformers Auto classes that load the model (``AutoModel`` loads every task).
        pipeline_tag: The Hub's ``pipeline_tag`` (also the dataset card's ``task_categories``).
        description: What the model is, for the model card ("object detector").
        dataset_task: How the task's dataset is named on a dataset card, or None when no dataset format is served.
        dataset_task_ids: The Hub's ``task_ids`` for such a dataset.
        parity: What the converter compares with Ultralytics' predictions: ``detections`` (boxes, classes, scores,
            plus :attr:`detection_extras`), ``probabilities``, ``class_map`` or ``depth``.
        detection_geometry: For detections: ``box`` (axis-aligned xyxy) or ``corners`` (rotated boxes).
        detection_extras: Per-detection outputs compared beside the boxes (``masks``, ``keypoints``).
        has_classes: Whether the head predicts classes (every task but depth).
        dense_column: For per-pixel tasks, the dataset column holding the target map (``annotation``: the class-index
            mask, the Hub's scene_parse_150 convention; ``depth_map``: metric depth), else None.
        training_dataset: Ultralytics' training dataset class (``ultralytics.data.dataset``) whose augmentation the
            task's training mirrors (its ``format_class`` closes the pipeline): ``YOLODataset`` (``v8_transforms``),
            ``SemanticDataset``, ``DepthDataset`` or ``ClassificationDataset`` (``classify_augmentations``).
        augmentation_off: Augmentation settings that dataset class forces to 0 (``DepthDataset``: no mosaic, mixup,
            cutmix or copy-paste).
        resize_short_side: Training images are loaded with the short side at ``imgsz`` (``SemanticDataset``), not
            the long side.
    """

    name: str
    network_class: str
    model_class: str
    processor_class: str
    resize: Literal["letterbox", "stretch", "center_crop"]
    auto_classes: tuple[str, ...]
    pipeline_tag: str
    description: str
    dataset_task: str | None
    dataset_task_ids: tuple[str, ...] = ()
    parity: Literal["detections", "probabilities", "class_map", "depth"] = "detections"
    detection_geometry: Literal["box", "corners"] = "box"
    detection_extras: tuple[str, ...] = ()
    has_classes: bool = True
    dense_column: str | None = None
    training_dataset: str = "YOLODataset"
    augmentation_off: tuple[str, ...] = ()
    resize_short_side: bool = False


_LETTERBOX = "YoloImageProcessor"

#: One entry per Ultralytics 8.4 task, in the order they are listed to users.
TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("detect", "DetectionModel", "YoloForObjectDetection", _LETTERBOX, "letterbox",
                 ("AutoModel", "AutoModelForObjectDetection"), "object-detection", "object detector",
                 "object detection"),
        TaskSpec("segment", "SegmentationModel", "YoloForInstanceSegmentation", _LETTERBOX, "letterbox",
                 ("AutoModel", "AutoModelForInstanceSegmentation", "AutoModelForImageSegmentation"),
                 "image-segmentation", "instance segmentation model", "instance segmentation",
                 ("instance-segmentation",), detection_extras=("masks",)),
        TaskSpec("semantic", "SemanticSegmentationModel", "YoloForSemanticSegmentation", _LETTERBOX, "letterbox",
                 ("AutoModel", "AutoModelForSemanticSegmentation", "AutoModelForImageSegmentation"),
                 "image-segmentation", "semantic segmentation model", "semantic segmentation",
                 ("semantic-segmentation",), parity="class_map", dense_column="annotation",
                 training_dataset="SemanticDataset", resize_short_side=True),
        TaskSpec("depth", "DepthModel", "YoloForDepthEstimation", _LETTERBOX, "stretch",
                 ("AutoModel", "AutoModelForDepthEstimation"), "depth-estimation", "depth estimation model",
                 "depth estimation", parity="depth", has_classes=False, dense_column="depth_map",
                 training_dataset="DepthDataset", augmentation_off=("mosaic", "mixup", "cutmix", "copy_paste")),
        TaskSpec("pose", "PoseModel", "YoloForPoseEstimation", _LETTERBOX, "letterbox", ("AutoModel",),
                 "keypoint-detection", "pose estimation (keypoint) model", "pose estimation (keypoints)",
                 detection_extras=("keypoints",)),
        TaskSpec("obb", "OBBModel", "YoloForOrientedObjectDetection", _LETTERBOX, "letterbox",
                 ("AutoModel", "AutoModelForObjectDetection"), "object-detection", "oriented bounding box detector",
                 "oriented bounding box detection", detection_geometry="corners"),
        TaskSpec("classify", "ClassificationModel", "YoloForImageClassification",
                 "YoloClassificationImageProcessor", "center_crop",
                 ("AutoModel", "AutoModelForImageClassification"), "image-classification", "image classifier",
                 "image classification", ("multi-class-image-classification",), parity="probabilities",
                 training_dataset="ClassificationDataset"),
    )
}

#: Every task name, in table order.
TASKS: tuple[str, ...] = tuple(TASK_SPECS)
#: The tasks whose YOLO dataset format the ``data`` layer reads and writes.
DATASET_TASKS: tuple[str, ...] = tuple(name for name, spec in TASK_SPECS.items() if spec.dataset_task)


def task_spec(task: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``task``.

    Raises:
        KeyError: ``task`` is not an Ultralytics task; the message lists the tasks. Callers turn it into the typed
            error of their layer (``ConfigError``, ``UnsupportedTaskError``...).
    """
    try:
        return TASK_SPECS[task]
    except (KeyError, TypeError):
        raise KeyError(f"task={task!r} is not one of {', '.join(TASKS)}") from None
