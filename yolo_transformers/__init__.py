"""yolo_transformers: Ultralytics YOLO as native Hugging Face transformers models.

Importing the package registers the ``yolo`` model type with transformers' Auto classes, so
``AutoConfig``, ``AutoModelForObjectDetection``, ``AutoImageProcessor`` and
``pipeline("object-detection")`` load YOLO folders and Hub repos.

Licensed under AGPL-3.0, like Ultralytics, whose models it wraps.
"""

from __future__ import annotations

from .version import __version__

from .configuration_yolo import YoloConfig
from .errors import (
    CheckpointError,
    ConfigError,
    ParityError,
    TaskMismatchError,
    UnsafeCheckpointError,
    UnsafeConfigError,
    UnsupportedTaskError,
    WeightsError,
    YoloTransformersError,
)
from .image_processing_yolo import YoloImageProcessor
from .modeling_yolo import YoloForObjectDetection, YoloObjectDetectionOutput, YoloPreTrainedModel
from .training.evaluation import evaluate
from .image_processing_yolo_classification import YoloClassificationImageProcessor
from .modeling_yolo_classification import YoloForImageClassification, YoloImageClassifierOutput
from .modeling_yolo_depth import YoloDepthEstimatorOutput, YoloForDepthEstimation
from .modeling_yolo_obb import YoloForOrientedObjectDetection, YoloOrientedObjectDetectionOutput
from .modeling_yolo_pose import YoloForPoseEstimation, YoloPoseEstimationOutput
from .modeling_yolo_segmentation import YoloForInstanceSegmentation, YoloInstanceSegmentationOutput
from .modeling_yolo_semantic import YoloForSemanticSegmentation, YoloSemanticSegmenterOutput
from .auto import register_auto_classes

register_auto_classes()

# Hub and dataset functions, importable from the top level without importing their modules at package import.
_LAZY_ATTRIBUTES = {
    "upload_model": "hub", "download_model": "hub", "list_models": "hub",
    "generate_model_card": "cards", "save_ultralytics_checkpoint": "convert",
    "convert_checkpoint": "convert",
    "load_yolo_dataset": "data", "to_yolo_folder": "data", "from_coco": "data",
    "push_dataset": "hub", "pull_dataset": "hub",
}


def __getattr__(name: str):
    """Resolve the lazily imported public functions listed in ``_LAZY_ATTRIBUTES``."""
    if name in _LAZY_ATTRIBUTES:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY_ATTRIBUTES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "__version__",
    "YoloConfig",
    "YoloImageProcessor",
    "YoloPreTrainedModel",
    "YoloForObjectDetection",
    "YoloObjectDetectionOutput",
    "evaluate",
    "YoloClassificationImageProcessor",
    "YoloForInstanceSegmentation",
    "YoloInstanceSegmentationOutput",
    "YoloForSemanticSegmentation",
    "YoloSemanticSegmenterOutput",
    "YoloForDepthEstimation",
    "YoloDepthEstimatorOutput",
    "YoloForPoseEstimation",
    "YoloPoseEstimationOutput",
    "YoloForOrientedObjectDetection",
    "YoloOrientedObjectDetectionOutput",
    "YoloForImageClassification",
    "YoloImageClassifierOutput",
    "YoloTransformersError",
    "CheckpointError",
    "UnsafeCheckpointError",
    "ConfigError",
    "UnsafeConfigError",
    "WeightsError",
    "TaskMismatchError",
    "UnsupportedTaskError",
    "ParityError",
]
