"""``YoloForSemanticSegmentation``: Ultralytics ``-sem`` models (YOLO26 ``SemanticSegment`` head).

The head classifies every cell of the stride-8 feature map; the class map at the original image size comes from
:meth:`YoloImageProcessor.post_process_semantic_segmentation`, which upsamples, removes the letterbox padding and
takes the arg-max exactly as Ultralytics' predictor does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .modeling_yolo import YoloPreTrainedModel
from .network.ultralytics_rows import ultralytics_rows
from .loss.yolo_loss import task_loss

__all__ = ["YoloForSemanticSegmentation", "YoloSemanticSegmenterOutput"]

logger = logging.getLogger(__name__)


@dataclass
class YoloSemanticSegmenterOutput(ModelOutput):
    r"""Output of :class:`YoloForSemanticSegmentation` (transformers' ``SemanticSegmenterOutput`` layout).

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Ultralytics' training loss (what its trainer back-propagates), returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            Ultralytics' detached loss items (``ce``, ``dice``, ``aux``), returned with ``loss``.
        logits (`torch.Tensor` of shape `(batch_size, num_labels, height / 8, width / 8)`):
            Raw per-class scores of every cell of the stride-8 grid of the network input (letterbox padding
            included). Not the input size: resize (and un-letterbox) with
            :meth:`YoloImageProcessor.post_process_semantic_segmentation`.
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            Feature maps entering the head (P3 and P4), each `(batch_size, channels, height_i, width_i)`; returned
            with ``output_hidden_states=True``.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloForSemanticSegmentation(YoloPreTrainedModel):
    """YOLO semantic segmentation (``yolo26n-sem`` ...) as a transformers model.

    Works with ``AutoModelForSemanticSegmentation`` and ``pipeline("image-segmentation")``.

    Example:
        >>> from yolo_transformers import YoloForSemanticSegmentation, YoloImageProcessor
        >>> model = YoloForSemanticSegmentation.from_pretrained("path/to/converted-sem")
        >>> processor = YoloImageProcessor.from_pretrained("path/to/converted-sem")
        >>> outputs = model(**processor(images=image, return_tensors="pt"))
        >>> class_map = processor.post_process_semantic_segmentation(outputs, [image.size[::-1]])[0]  # (H, W)
    """

    task = "semantic"
    output_class = YoloSemanticSegmenterOutput

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloSemanticSegmenterOutput | tuple:
        r"""Classify every pixel.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]``, letterboxed by
                :class:`YoloImageProcessor`; height and width must be multiples of the largest stride (32).
            labels: `(batch_size, height, width)` class map at the input resolution (255 = ignore), as for
                transformers' semantic segmentation models. Given, the output holds Ultralytics' own loss
                (cross-entropy + Dice, plus the auxiliary P4 cross-entropy in training mode).
            output_hidden_states: Also return the feature maps entering the head.
            return_dict: Return a :class:`YoloSemanticSegmenterOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloSemanticSegmenterOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = None
        if labels is not None:
            loss, loss_dict = task_loss(self, features, labels, pixel_values)
        head = network.model[-1]
        logits = head(features)
        if isinstance(logits, tuple):  # training mode also returns the auxiliary P4 logits
            logits = logits[0]
        output = YoloSemanticSegmenterOutput(
            loss=loss,
            loss_dict=loss_dict,
            logits=logits,
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The head's inference tensor exactly as Ultralytics computes it: `(batch_size, num_labels, h / 8, w / 8)`."""
        return ultralytics_rows("semantic", pixel_values, self.forward(pixel_values, return_dict=True), False)
