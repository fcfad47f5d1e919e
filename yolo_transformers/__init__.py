"""yolo_transformers: Ultralytics YOLO as native Hugging Face transformers models.

Importing the package registers the ``yolo`` model type with transformers' Auto classes, so
``AutoConfig``, ``AutoModelForObjectDetection``, ``AutoImageProcessor`` and
``pipeline("object-detection")`` load YOLO folders and Hub repos.

Licensed under AGPL-3.0, like Ultralytics, whose models it wraps.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
from .evaluation import evaluate
from .image_processing_yolo_classification import YoloClassificationImageProcessor
from .modeling_yolo_classification import YoloForImageClassification, YoloImageClassifierOutput
from .modeling_yolo_depth import YoloDepthEstimatorOutput, YoloForDepthEstimation
from .modeling_yolo_obb import YoloForOrientedObjectDetection, YoloOrientedObjectDetectionOutput
from .modeling_yolo_pose import YoloForPoseEstimation, YoloPoseEstimationOutput
from .modeling_yolo_segmentation import YoloForInstanceSegmentation, YoloInstanceSegmentationOutput
from .modeling_yolo_semantic import YoloForSemanticSegmentation, YoloSemanticSegmenterOutput
from ._auto import register_auto_classes

register_auto_classes()

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
