"""Which image processor serves a config: ``processor_for_config``, read from the task table.

It sits below the model classes so that code which saves a model next to its processor (``push_to_hub``, the Hub
staging) does not have to import the Auto registration above them.
"""

from __future__ import annotations

from .configuration_yolo import YoloConfig
from .image_processing_yolo import YoloImageProcessor
from .image_processing_yolo_classification import YoloClassificationImageProcessor
from .tasks import TASK_SPECS

__all__ = ["processor_for_config"]

_PROCESSOR_CLASSES = {cls.__name__: cls for cls in (YoloImageProcessor, YoloClassificationImageProcessor)}
# Ultralytics' predictor (AutoBackend) rounds a classifier's input size up to a multiple of at least 32.
_CLASSIFY_SIZE_MULTIPLE = 32


def processor_for_config(config: YoloConfig) -> YoloImageProcessor | YoloClassificationImageProcessor:
    """The image processor matching a config's task, input size, stride and post-processing defaults."""
    spec = TASK_SPECS[config.task]
    processor_class = _PROCESSOR_CLASSES[spec.processor_class]
    if spec.resize == "center_crop":
        return processor_class(image_size=config.image_size,
                               stride=max(config.max_stride, _CLASSIFY_SIZE_MULTIPLE))
    return processor_class(
        image_size=config.image_size,
        stride=config.max_stride,
        conf_threshold=config.conf_threshold,
        iou_threshold=config.iou_threshold,
        max_det=config.max_det,
        end_to_end=config.end_to_end,
        task=config.task,
        scale_fill=spec.resize == "stretch",
    )
