"""Which image processor serves a config (``processor_for_config``), and how it post-processes a task
(``post_processed_arrays``), both read from the task table.

It sits below the model classes so that code which saves a model next to its processor (``push_to_hub``, the Hub
staging) does not have to import the Auto registration above them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .configuration_yolo import YoloConfig
from .image_processing_yolo import YoloImageProcessor
from .image_processing_yolo_classification import YoloClassificationImageProcessor
from .processing.result_comparison import detection_arrays
from .tasks import TASK_SPECS

__all__ = ["processor_for_config", "post_processed_arrays"]

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


def post_processed_arrays(processor: Any, outputs: Any, task: str, threshold: float | None,
                          image_hw: tuple[int, int]) -> dict[str, np.ndarray]:
    """One image's model outputs post-processed by ``processor`` as the plain arrays the parity checks compare.

    Args:
        processor: The model's image processor.
        outputs: The model's outputs for a batch of one image (PyTorch or ONNX Runtime / OpenVINO model).
        task: The model's task.
        threshold: Score threshold of detection post-processing (None: the processor's default).
        image_hw: The original image's ``(height, width)``.

    Returns:
        ``probs`` (C,) softmax probabilities, ``class_map`` (H, W), ``depth`` (H, W) float64, or the detections of
        :func:`~yolo_transformers.processing.result_comparison.detection_arrays`.
    """
    spec = TASK_SPECS[task]
    size = [image_hw]
    if spec.parity == "probabilities":
        return {"probs": outputs.logits.float().softmax(-1)[0].double().numpy()}
    post_process = getattr(processor, spec.post_processing)
    if spec.parity == "class_map":
        return {"class_map": post_process(outputs, size)[0].numpy()}
    if spec.parity == "depth":
        return {"depth": post_process(outputs, size)[0]["predicted_depth"].double().numpy()}
    return detection_arrays(post_process(outputs, threshold, size)[0], task)
