"""Which class serves a task: Auto-class and pipeline registration, ``model_class_for_task``, ``processor_for_config``.

Everything here is read from :data:`yolo_transformers.tasks.TASK_SPECS`. transformers maps one config class to one
model class per Auto class, and every YOLO task shares ``YoloConfig``: where several YOLO classes fit one Auto class
(``AutoModel``: all of them; ``AutoModelForObjectDetection``: detection and oriented boxes;
``AutoModelForImageSegmentation``: instance and semantic segmentation), a tuple is registered and transformers picks
the class named in ``config.architectures`` (written by ``save_pretrained`` and by the converter).

``pipeline("object-detection")`` on an OBB model gets its axis-aligned envelopes (the pipeline's contract has no
angle). Pose has no fitting Auto class (``AutoModelForKeypointDetection`` is SuperPoint-style interest points): use
``YoloForPoseEstimation`` or ``AutoModel``. ``AutoImageProcessor`` resolves classification folders to
:class:`YoloClassificationImageProcessor` (by the ``image_processor_type`` they record) and every other task to
:class:`YoloImageProcessor`.
"""

from __future__ import annotations

import transformers

from .compat import register_pipeline_model_names
from .configuration_yolo import YoloConfig
from .errors import UnsupportedTaskError
from .image_processing_yolo import YoloImageProcessor
from .image_processing_auto import processor_for_config
from .image_processing_yolo_classification import YoloClassificationImageProcessor
from .modeling_yolo import YoloForObjectDetection, YoloPreTrainedModel
from .modeling_yolo_classification import YoloForImageClassification
from .modeling_yolo_depth import YoloForDepthEstimation
from .modeling_yolo_obb import YoloForOrientedObjectDetection
from .modeling_yolo_pose import YoloForPoseEstimation
from .modeling_yolo_segmentation import YoloForInstanceSegmentation
from .modeling_yolo_semantic import YoloForSemanticSegmentation
from .runtime.model import YoloRuntimeModel
from .tasks import TASK_SPECS, TASKS

__all__ = ["register_auto_classes", "model_class_for_task", "processor_for_config", "ALL_MODEL_CLASSES"]

_MODEL_CLASSES = {cls.__name__: cls for cls in (
    YoloForObjectDetection, YoloForInstanceSegmentation, YoloForSemanticSegmentation, YoloForDepthEstimation,
    YoloForPoseEstimation, YoloForOrientedObjectDetection, YoloForImageClassification)}

#: Every YOLO model class in task-table order; the first is ``AutoModel``'s default when ``config.architectures``
#: names none of them.
ALL_MODEL_CLASSES: tuple[type[YoloPreTrainedModel], ...] = tuple(
    _MODEL_CLASSES[spec.model_class] for spec in TASK_SPECS.values())

# The static name table each Auto class's pipeline checks models against. image-segmentation merges the instance and
# semantic tables by model type, so the instance table lists what AutoModelForImageSegmentation loads.
_PIPELINE_NAME_TABLES = {
    "AutoModelForObjectDetection": "MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES",
    "AutoModelForImageClassification": "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES",
    "AutoModelForSemanticSegmentation": "MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES",
    "AutoModelForImageSegmentation": "MODEL_FOR_INSTANCE_SEGMENTATION_MAPPING_NAMES",
    "AutoModelForDepthEstimation": "MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES",
}


class _ClassificationProcessorKey(YoloConfig):
    """Never instantiated: the key under which ``AutoImageProcessor`` learns ``YoloClassificationImageProcessor``.

    ``AutoImageProcessor`` finds a registered processor class by the name in ``preprocessor_config.json`` but, for a
    name registered under ``YoloConfig``, returns that mapping's backend entry (``YoloImageProcessor``); a separate
    key makes the classification processor its own mapping.
    """


def _classes_by_auto_class() -> dict[str, tuple[type[YoloPreTrainedModel], ...]]:
    """Auto class name -> the YOLO classes it loads, in task-table order."""
    found: dict[str, list[type[YoloPreTrainedModel]]] = {}
    for spec in TASK_SPECS.values():
        for auto_class in spec.auto_classes:
            found.setdefault(auto_class, []).append(_MODEL_CLASSES[spec.model_class])
    return {name: tuple(classes) for name, classes in found.items()}


def register_auto_classes() -> None:
    """Make transformers' Auto classes, ``AutoImageProcessor`` and pipelines know ``model_type="yolo"`` (idempotent)."""
    transformers.AutoConfig.register(YoloConfig.model_type, YoloConfig, exist_ok=True)
    for auto_name, classes in _classes_by_auto_class().items():
        getattr(transformers, auto_name).register(YoloConfig, classes if len(classes) > 1 else classes[0],
                                                  exist_ok=True)
        if auto_name in _PIPELINE_NAME_TABLES:  # the ONNX/OpenVINO model (``runtime=``) serves every pipeline too
            register_pipeline_model_names(_PIPELINE_NAME_TABLES[auto_name], YoloConfig.model_type,
                                          (*(cls.__name__ for cls in classes), YoloRuntimeModel.__name__))
    for key, processor in ((YoloConfig, YoloImageProcessor), (_ClassificationProcessorKey,
                                                             YoloClassificationImageProcessor)):
        transformers.AutoImageProcessor.register(
            key, image_processor_classes={"pil": processor, "torchvision": processor}, exist_ok=True)


def model_class_for_task(task: str) -> type[YoloPreTrainedModel]:
    """The ``YoloFor...`` class serving an Ultralytics task.

    Raises:
        UnsupportedTaskError: ``task`` is not an Ultralytics task.
    """
    if task not in TASK_SPECS:
        raise UnsupportedTaskError(f"task {task!r} has no model class; supported: {', '.join(TASKS)}.")
    return _MODEL_CLASSES[TASK_SPECS[task].model_class]
