"""Registration of the ``yolo`` model type with transformers' Auto classes."""

from __future__ import annotations

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForObjectDetection
from transformers.models.auto.modeling_auto import MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES

from .configuration_yolo import YoloConfig
from .image_processing_yolo import YoloImageProcessor
from .modeling_yolo import YoloForObjectDetection

__all__ = ["register_auto_classes"]


def register_auto_classes() -> None:
    """Make ``AutoConfig``, ``AutoModelForObjectDetection`` and ``AutoImageProcessor`` know ``model_type="yolo"``.

    Idempotent: safe to call more than once.
    """
    AutoConfig.register(YoloConfig.model_type, YoloConfig, exist_ok=True)
    AutoModelForObjectDetection.register(YoloConfig, YoloForObjectDetection, exist_ok=True)
    AutoModel.register(YoloConfig, YoloForObjectDetection, exist_ok=True)
    # The object-detection pipeline checks models against this static name table (it logs an error otherwise);
    # "yolo" is absent from CONFIG_MAPPING_NAMES, so the lazy Auto mappings never try to import it from here.
    MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES.setdefault(YoloConfig.model_type, YoloForObjectDetection.__name__)
    AutoImageProcessor.register(
        YoloConfig,
        image_processor_classes={"pil": YoloImageProcessor, "torchvision": YoloImageProcessor},
        exist_ok=True,
    )
    from .auto_tasks import register_task_auto_classes  # the other tasks' models, and AutoModel for all of them

    register_task_auto_classes()
