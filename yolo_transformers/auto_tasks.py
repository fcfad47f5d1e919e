"""Auto-class registration of the task models (segmentation, semantic, depth, pose, OBB, classification).

transformers maps one config class to one model class per Auto class; every YOLO task shares ``YoloConfig``. Where
several YOLO classes fit one Auto class, a tuple is registered: transformers then picks the class named in
``config.architectures`` (written by ``save_pretrained`` and by the converter), so each folder loads as its task.

=====================================  ==========================================================================
Auto class                             YOLO classes
=====================================  ==========================================================================
``AutoModel``                          every task (by ``config.architectures``)
``AutoModelForObjectDetection``        detection and oriented boxes: ``pipeline("object-detection")`` gets an OBB
                                       model's axis-aligned envelopes (its contract has no angle; the rotated boxes
                                       come from ``post_process_oriented_object_detection``)
``AutoModelForImageClassification``    classification
``AutoModelForSemanticSegmentation``   semantic segmentation
``AutoModelForInstanceSegmentation``   instance segmentation
``AutoModelForImageSegmentation``      instance and semantic segmentation (``pipeline("image-segmentation")``
                                       loads with this class first)
``AutoModelForDepthEstimation``        depth
=====================================  ==========================================================================

Pose has no fitting Auto class (``AutoModelForKeypointDetection`` is SuperPoint-style interest points): use
``YoloForPoseEstimation`` or ``AutoModel``. ``AutoImageProcessor`` resolves classification folders to
:class:`YoloClassificationImageProcessor` (by the ``image_processor_type`` they record) and every other task to
:class:`YoloImageProcessor`.
"""

from __future__ import annotations

from transformers import (
    AutoImageProcessor,
    AutoModel,
    AutoModelForObjectDetection,
    AutoModelForDepthEstimation,
    AutoModelForImageClassification,
    AutoModelForImageSegmentation,
    AutoModelForInstanceSegmentation,
    AutoModelForSemanticSegmentation,
)
from transformers.models.auto import modeling_auto

from .configuration_yolo import YoloConfig
from .image_processing_yolo_classification import YoloClassificationImageProcessor
from .modeling_yolo import YoloForObjectDetection
from .modeling_yolo_classification import YoloForImageClassification
from .modeling_yolo_depth import YoloForDepthEstimation
from .modeling_yolo_obb import YoloForOrientedObjectDetection
from .modeling_yolo_pose import YoloForPoseEstimation
from .modeling_yolo_segmentation import YoloForInstanceSegmentation
from .modeling_yolo_semantic import YoloForSemanticSegmentation

__all__ = ["register_task_auto_classes", "ALL_MODEL_CLASSES"]

#: Every YOLO model class; the first is ``AutoModel``'s default when ``config.architectures`` names none of them.
ALL_MODEL_CLASSES = (
    YoloForObjectDetection,
    YoloForInstanceSegmentation,
    YoloForSemanticSegmentation,
    YoloForDepthEstimation,
    YoloForPoseEstimation,
    YoloForOrientedObjectDetection,
    YoloForImageClassification,
)


class _ClassificationProcessorKey(YoloConfig):
    """Never instantiated: the key under which ``AutoImageProcessor`` learns ``YoloClassificationImageProcessor``.

    ``AutoImageProcessor`` finds a registered processor class by the name in ``preprocessor_config.json`` but, for a
    name registered under ``YoloConfig``, returns that mapping's backend entry (``YoloImageProcessor``); a separate
    key makes the classification processor its own mapping.
    """


def _register_pipeline_names() -> None:
    """Add the YOLO class names to the static tables pipelines check models against (they log an error otherwise).

    ``"yolo"`` is absent from ``CONFIG_MAPPING_NAMES``, so the lazy Auto mappings never import anything from these
    entries; they are only read by ``Pipeline.check_model_type``.
    """
    # the detection entry may already hold YoloForObjectDetection alone (registered before the task models)
    modeling_auto.MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES[YoloConfig.model_type] = (
        YoloForObjectDetection.__name__, YoloForOrientedObjectDetection.__name__)
    names = {
        "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES": YoloForImageClassification.__name__,
        "MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES": YoloForSemanticSegmentation.__name__,
        # image-segmentation merges the instance and semantic tables by model type: list both under one key
        "MODEL_FOR_INSTANCE_SEGMENTATION_MAPPING_NAMES": (
            YoloForInstanceSegmentation.__name__, YoloForSemanticSegmentation.__name__),
        "MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES": YoloForDepthEstimation.__name__,
    }
    for table, name in names.items():
        getattr(modeling_auto, table).setdefault(YoloConfig.model_type, name)


def register_task_auto_classes() -> None:
    """Register every task model and the classification processor with transformers' Auto classes (idempotent)."""
    AutoModel.register(YoloConfig, ALL_MODEL_CLASSES, exist_ok=True)
    AutoModelForObjectDetection.register(
        YoloConfig, (YoloForObjectDetection, YoloForOrientedObjectDetection), exist_ok=True
    )
    AutoModelForImageClassification.register(YoloConfig, YoloForImageClassification, exist_ok=True)
    AutoModelForSemanticSegmentation.register(YoloConfig, YoloForSemanticSegmentation, exist_ok=True)
    AutoModelForInstanceSegmentation.register(YoloConfig, YoloForInstanceSegmentation, exist_ok=True)
    AutoModelForImageSegmentation.register(
        YoloConfig, (YoloForInstanceSegmentation, YoloForSemanticSegmentation), exist_ok=True
    )
    AutoModelForDepthEstimation.register(YoloConfig, YoloForDepthEstimation, exist_ok=True)
    AutoImageProcessor.register(
        _ClassificationProcessorKey,
        image_processor_classes={"pil": YoloClassificationImageProcessor,
                                 "torchvision": YoloClassificationImageProcessor},
        exist_ok=True,
    )
    _register_pipeline_names()
