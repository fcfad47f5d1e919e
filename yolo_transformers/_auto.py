"""Registration of the ``yolo`` model type with transformers' Auto classes."""

from __future__ import annotations

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForObjectDetection

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
    AutoImageProcessor.register(
        YoloConfig,
        image_processor_classes={"pil": YoloImageProcessor, "torchvision": YoloImageProcessor},
        exist_ok=True,
    )
