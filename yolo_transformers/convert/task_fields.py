"""What conversion adds for a checkpoint's task: config fields and the matching image processor.

* every task: ``architectures`` names the ``YoloFor...`` class, so Auto classes that several YOLO classes share
  (``AutoModel``, ``AutoModelForImageSegmentation``) load the right one;
* pose: ``kpt_shape`` (mirrors ``architecture["kpt_shape"]``) and ``keypoint_names`` (one list of names per class,
  indexed by class id) when the training data named the keypoints (Ultralytics stores them on the model);
* classification uses :class:`YoloClassificationImageProcessor`; depth stretches instead of letterboxing.
"""

from __future__ import annotations

import logging
from typing import Any

from ..configuration_yolo import YoloConfig

__all__ = ["task_config_fields", "task_processor_kwargs", "classification_processor"]

logger = logging.getLogger(__name__)

# Ultralytics' predictor (AutoBackend) rounds a classifier's input size up to a multiple of at least 32.
_CLASSIFY_SIZE_MULTIPLE = 32


def _keypoint_names(network: Any, num_classes: int) -> list[list[str]] | None:
    """``network.kpt_names`` (``{class_id: [names]}``, set by Ultralytics' pose trainer) as one list per class."""
    names = getattr(network, "kpt_names", None)
    if not isinstance(names, dict) or not names:
        return None
    return [[str(n) for n in names.get(i, names.get(str(i), []))] for i in range(num_classes)]


def task_config_fields(checkpoint: Any) -> dict[str, Any]:
    """Extra :class:`YoloConfig` keyword arguments for a loaded :class:`UltralyticsCheckpoint`."""
    from ..modeling_yolo import model_class_for_task

    fields: dict[str, Any] = {"architectures": [model_class_for_task(checkpoint.task).__name__]}
    if checkpoint.task == "pose":
        fields["kpt_shape"] = [int(v) for v in checkpoint.architecture["kpt_shape"]]
        names = _keypoint_names(checkpoint.network, int(checkpoint.architecture.get("nc", len(checkpoint.names))))
        if names is not None:
            fields["keypoint_names"] = names
    return fields


def task_processor_kwargs(config: YoloConfig) -> dict[str, Any]:
    """Extra :class:`YoloImageProcessor` keyword arguments for ``config.task`` (every task but classification)."""
    return {"task": config.task, "scale_fill": config.task == "depth"}


def classification_processor(config: YoloConfig):
    """The :class:`YoloClassificationImageProcessor` of a classification config."""
    from ..image_processing_yolo_classification import YoloClassificationImageProcessor

    return YoloClassificationImageProcessor(
        image_size=config.image_size, stride=max(config.max_stride, _CLASSIFY_SIZE_MULTIPLE)
    )
