"""``YoloForInstanceSegmentation``: Ultralytics ``-seg`` models (YOLOv8/YOLO11 ``Segment``, YOLO26 ``Segment26``).

A segmentation head is a detection head plus, per anchor, ``nm`` mask coefficients, and a prototype branch that
produces ``nm`` mask prototypes at 1/4 of the input resolution. An instance's mask is the sigmoid of its
coefficients times the prototypes, cropped to its box; :meth:`YoloImageProcessor.post_process_instance_segmentation`
assembles those masks at the original image size exactly as Ultralytics' ``retina_masks=True`` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .processing.batching import plain
from .network.heads import normalized_boxes, run_anchor_head
from .network.ultralytics_rows import ultralytics_rows
from .compat import configure_head
from .configuration_yolo import YoloConfig
from .modeling_yolo import YoloPreTrainedModel
from .loss.yolo_loss import task_loss

__all__ = ["YoloForInstanceSegmentation", "YoloInstanceSegmentationOutput"]

logger = logging.getLogger(__name__)


@dataclass
class YoloInstanceSegmentationOutput(ModelOutput):
    r"""Output of :class:`YoloForInstanceSegmentation`.

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Ultralytics' training loss (what its trainer back-propagates), returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            Ultralytics' detached loss items (``box``, ``seg``, ``cls``, ``dfl``, ``sem``;
            YOLO26 reports ``l1`` instead of ``dfl``), returned with ``loss``.
        logits (`torch.Tensor` of shape `(batch_size, num_anchors, num_labels)`):
            Raw class logits (before the sigmoid) of every anchor point (e.g. 8400 for a 640×640 input).
        pred_boxes (`torch.Tensor` of shape `(batch_size, num_anchors, 4)`):
            Boxes as ``(center_x, center_y, width, height)`` normalized to ``[0, 1]`` by the network input width and
            height (the letterboxed ``pixel_values``, padding included).
        mask_coefficients (`torch.Tensor` of shape `(batch_size, num_anchors, num_masks)`):
            Per-anchor coefficients of the mask prototypes (``num_masks`` is 32 for every official model). An
            instance's mask logits are ``mask_coefficients[b, a] @ proto_masks[b].flatten(1)``.
        proto_masks (`torch.Tensor` of shape `(batch_size, num_masks, height / 4, width / 4)`):
            Mask prototypes at a quarter of the network input resolution.
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            Feature maps entering the head, one per level, each `(batch_size, channels, height_i, width_i)`;
            returned with ``output_hidden_states=True``.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    logits: torch.Tensor | None = None
    pred_boxes: torch.Tensor | None = None
    mask_coefficients: torch.Tensor | None = None
    proto_masks: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloForInstanceSegmentation(YoloPreTrainedModel):
    """YOLO instance segmentation (``yolov8n-seg``, ``yolo11n-seg``, ``yolo26n-seg`` ...) as a transformers model.

    Example:
        >>> from yolo_transformers import YoloForInstanceSegmentation, YoloImageProcessor
        >>> model = YoloForInstanceSegmentation.from_pretrained("path/to/converted-seg")
        >>> processor = YoloImageProcessor.from_pretrained("path/to/converted-seg")
        >>> outputs = model(**processor(images=image, return_tensors="pt"))
        >>> result = processor.post_process_instance_segmentation(outputs, 0.25, [image.size[::-1]])[0]
        >>> result["masks"].shape  # (num_instances, height, width) boolean, original image size
    """

    task = "segment"
    output_class = YoloInstanceSegmentationOutput

    def __init__(self, config: YoloConfig) -> None:
        super().__init__(config)
        configure_head(self.model.model[-1], end_to_end=config.end_to_end)

    @staticmethod
    def _prototypes(proto: torch.nn.Module, features: list[torch.Tensor]) -> torch.Tensor:
        """``(B, nm, H/4, W/4)`` prototypes: YOLO26's ``Proto26`` fuses every level, the classic ``Proto`` reads P3."""
        from ultralytics.nn.modules.block import Proto26

        if isinstance(proto, Proto26):
            prototypes = proto(features, return_semantic=False)
        else:
            prototypes = proto(features[0])
        return prototypes[0] if isinstance(prototypes, tuple) else prototypes

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: list[dict[str, torch.Tensor]] | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloInstanceSegmentationOutput | tuple:
        r"""Detect and segment instances.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]``, letterboxed by
                :class:`YoloImageProcessor`; height and width must be multiples of the largest stride.
            labels: One dict per image with ``class_labels`` `(num_objects,)`, ``boxes`` `(num_objects, 4)`
                normalized ``(cx, cy, w, h)`` and ``masks`` `(num_objects, height, width)` binary instance masks at the
                input resolution (or at Ultralytics' `(height / 4, width / 4)` training-mask resolution). Given, the
                output holds Ultralytics' own segmentation loss; see :mod:`yolo_transformers.loss.yolo_loss`.
            output_hidden_states: Also return the feature maps entering the head.
            return_dict: Return a :class:`YoloInstanceSegmentationOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloInstanceSegmentationOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = None
        if labels is not None:
            loss, loss_dict = task_loss(self, features, labels, pixel_values)
        head = network.model[-1]
        heads = run_anchor_head(head, features)
        output = YoloInstanceSegmentationOutput(
            loss=loss,
            loss_dict=loss_dict,
            logits=heads.raw["scores"].transpose(1, 2),
            pred_boxes=normalized_boxes(pixel_values, heads),
            mask_coefficients=heads.raw["mask_coefficient"].transpose(1, 2),
            proto_masks=self._prototypes(head.proto, features),
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The head's inference tensors exactly as Ultralytics computes them (used to prove conversion parity).

        Returns:
            ``(predictions, prototypes)``: `(batch_size, 4 + num_labels + num_masks, num_anchors)` boxes (xywh pixels,
            or xyxy for the end-to-end branch), sigmoid class scores and mask coefficients; and
            `(batch_size, num_masks, height / 4, width / 4)` prototypes.
        """
        pixel_values = plain(pixel_values)  # a processor's marked tensor: plain into the head's helpers
        outputs = self.forward(pixel_values, return_dict=True)
        return ultralytics_rows("segment", pixel_values, outputs, bool(self.config.end_to_end))
