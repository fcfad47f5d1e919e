"""``YoloForOrientedObjectDetection``: Ultralytics ``-obb`` models (YOLOv8/YOLO11 ``OBB``, YOLO26 ``OBB26``).

An OBB head is a detection head whose boxes are rotated: per anchor, a centre, a size along the box's own axes
and an angle in radians. The angle convention is Ultralytics': ``OBB`` squashes it into ``[-pi/4, 3pi/4)``,
``OBB26`` leaves it unbounded; both are returned exactly as the head computes them.
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

__all__ = ["YoloForOrientedObjectDetection", "YoloOrientedObjectDetectionOutput"]

logger = logging.getLogger(__name__)


@dataclass
class YoloOrientedObjectDetectionOutput(ModelOutput):
    r"""Output of :class:`YoloForOrientedObjectDetection`.

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Ultralytics' training loss (what its trainer back-propagates), returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            Ultralytics' detached loss items (``box``, ``cls``, ``dfl``, ``angle``; YOLO26 reports
            ``l1`` instead of ``dfl``), returned with ``loss``.
        logits (`torch.Tensor` of shape `(batch_size, num_anchors, num_labels)`):
            Raw class logits (before the sigmoid) of every anchor point (e.g. 21504 for a 1024×1024 input).
        pred_boxes (`torch.Tensor` of shape `(batch_size, num_anchors, 4)`):
            Rotated boxes as ``(center_x, center_y, width, height)``: the centre normalized by the network input width
            and height, and the box's own width (along its angle) and height divided by the input width and height
            respectively (the letterboxed ``pixel_values``, padding included).
        pred_angles (`torch.Tensor` of shape `(batch_size, num_anchors)`):
            Rotation of each box in radians (Ultralytics' ``xywhr`` convention: ``width`` lies along the direction
            ``(cos(angle), sin(angle))`` in image coordinates, y pointing down).
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            Feature maps entering the head, one per level, each `(batch_size, channels, height_i, width_i)`;
            returned with ``output_hidden_states=True``.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    logits: torch.Tensor | None = None
    pred_boxes: torch.Tensor | None = None
    pred_angles: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloForOrientedObjectDetection(YoloPreTrainedModel):
    """YOLO oriented-box detection (``yolov8n-obb``, ``yolo11n-obb``, ``yolo26n-obb`` ...) as a transformers model.

    Example:
        >>> from yolo_transformers import YoloForOrientedObjectDetection, YoloImageProcessor
        >>> model = YoloForOrientedObjectDetection.from_pretrained("path/to/converted-obb")
        >>> processor = YoloImageProcessor.from_pretrained("path/to/converted-obb")
        >>> outputs = model(**processor(images=image, return_tensors="pt"))
        >>> result = processor.post_process_oriented_object_detection(outputs, 0.25, [image.size[::-1]])[0]
        >>> result["rotated_boxes"].shape, result["corners"].shape  # (N, 5) cx, cy, w, h, angle; (N, 4, 2)
    """

    task = "obb"
    output_class = YoloOrientedObjectDetectionOutput

    def __init__(self, config: YoloConfig) -> None:
        super().__init__(config)
        configure_head(self.model.model[-1], end_to_end=config.end_to_end)

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: list[dict[str, torch.Tensor]] | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloOrientedObjectDetectionOutput | tuple:
        r"""Detect rotated objects.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]``, letterboxed by
                :class:`YoloImageProcessor`; height and width must be multiples of the largest stride.
            labels: One dict per image with ``class_labels`` `(num_objects,)` and ``boxes`` `(num_objects, 5)`:
                ``(cx, cy, w, h)`` normalized by the input width and height and the angle in radians (Ultralytics'
                ``xywhr``). Given, the output holds Ultralytics' own OBB loss.
            output_hidden_states: Also return the feature maps entering the head.
            return_dict: Return a :class:`YoloOrientedObjectDetectionOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloOrientedObjectDetectionOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = None
        if labels is not None:
            loss, loss_dict = task_loss(self, features, labels, pixel_values)
        head = network.model[-1]
        heads = run_anchor_head(head, features)
        output = YoloOrientedObjectDetectionOutput(
            loss=loss,
            loss_dict=loss_dict,
            logits=heads.raw["scores"].transpose(1, 2),
            pred_boxes=normalized_boxes(pixel_values, heads, rotated=True),
            pred_angles=heads.raw["angle"][:, 0],
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The head's inference tensor exactly as Ultralytics computes it (used to prove conversion parity).

        Returns:
            `(batch_size, 4 + num_labels + 1, num_anchors)`: rotated ``(cx, cy, w, h)`` in input pixels, sigmoid class
            scores and the angle in radians.
        """
        pixel_values = plain(pixel_values)  # a processor's marked tensor: plain into the head's helpers
        return ultralytics_rows("obb", pixel_values, self.forward(pixel_values, return_dict=True), False)
