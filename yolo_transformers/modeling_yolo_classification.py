"""``YoloForImageClassification``: Ultralytics ``-cls`` models (YOLOv8/YOLO11/YOLO26 ``Classify`` head).

Images are prepared by :class:`~yolo_transformers.YoloClassificationImageProcessor` (Ultralytics' classify
transforms: shortest-edge resize and centre crop, no letterbox); ``softmax(logits)`` are Ultralytics' ``probs``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .modeling_yolo import YoloPreTrainedModel
from .network.ultralytics_rows import ultralytics_rows
from .loss.yolo_loss import task_loss

__all__ = ["YoloForImageClassification", "YoloImageClassifierOutput"]

logger = logging.getLogger(__name__)


@dataclass
class YoloImageClassifierOutput(ModelOutput):
    r"""Output of :class:`YoloForImageClassification` (transformers' ``ImageClassifierOutput`` layout).

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Ultralytics' training loss (what its trainer back-propagates), returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            Ultralytics' detached loss items (``cls`` (the mean cross-entropy)), returned with ``loss``.
        logits (`torch.Tensor` of shape `(batch_size, num_labels)`):
            Class scores before the softmax; ``logits.softmax(-1)`` equals Ultralytics' ``Results.probs``.
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            The feature map entering the head, `(batch_size, channels, height / 32, width / 32)`; returned with
            ``output_hidden_states=True``.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloForImageClassification(YoloPreTrainedModel):
    """YOLO image classification (``yolov8n-cls``, ``yolo11n-cls``, ``yolo26n-cls`` ...) as a transformers model.

    Works with ``AutoModelForImageClassification`` and ``pipeline("image-classification")``.

    Example:
        >>> from yolo_transformers import YoloForImageClassification, YoloClassificationImageProcessor
        >>> model = YoloForImageClassification.from_pretrained("path/to/converted-cls")
        >>> processor = YoloClassificationImageProcessor.from_pretrained("path/to/converted-cls")
        >>> probs = model(**processor(images=image, return_tensors="pt")).logits.softmax(-1)
    """

    task = "classify"
    output_class = YoloImageClassifierOutput

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloImageClassifierOutput | tuple:
        r"""Classify images.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]`` prepared by
                :class:`YoloClassificationImageProcessor` (any size; the head pools globally).
            labels: `(batch_size,)` class indices, as for transformers' image classifiers. Given, the output holds
                Ultralytics' classification loss (mean cross-entropy).
            output_hidden_states: Also return the feature map entering the head.
            return_dict: Return a :class:`YoloImageClassifierOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloImageClassifierOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = None
        if labels is not None:
            loss, loss_dict = task_loss(self, features, labels, pixel_values)
        head = network.model[-1]
        scores = head(features)  # eval: (softmax, logits); training: logits
        logits = scores[1] if isinstance(scores, tuple) else scores
        output = YoloImageClassifierOutput(
            loss=loss,
            loss_dict=loss_dict,
            logits=logits,
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Ultralytics' inference output: class probabilities `(batch_size, num_labels)` (softmax of the logits)."""
        return ultralytics_rows("classify", pixel_values, self.forward(pixel_values, return_dict=True), False)
