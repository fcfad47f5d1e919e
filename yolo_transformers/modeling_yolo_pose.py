"""``YoloForPoseEstimation``: Ultralytics ``-pose`` models (YOLOv8/YOLO11 ``Pose``, YOLO26 ``Pose26``).

A pose head is a detection head plus ``K × D`` keypoint values per anchor (``kpt_shape = [K, D]``, D = 2 for
``x, y`` or 3 for ``x, y, visibility``). The keypoints are decoded by the head's own ``kpts_decode`` (the two
families decode differently), so they are exactly Ultralytics' numbers.

``kpt_shape`` is part of the architecture dict (``config.architecture["kpt_shape"]``) and mirrored as
``config.kpt_shape``; keypoint names, when the training data named them, are in ``config.keypoint_names``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .processing.batching import plain
from .network.heads import normalized_boxes, pixel_scale, run_anchor_head
from .network.ultralytics_rows import ultralytics_rows
from .compat import configure_head
from .configuration_yolo import YoloConfig
from .errors import ConfigError
from .modeling_yolo import YoloPreTrainedModel
from .loss.yolo_loss import task_loss

__all__ = ["YoloForPoseEstimation", "YoloPoseEstimationOutput"]

logger = logging.getLogger(__name__)


@dataclass
class YoloPoseEstimationOutput(ModelOutput):
    r"""Output of :class:`YoloForPoseEstimation`.

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Ultralytics' training loss (what its trainer back-propagates), returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            Ultralytics' detached loss items (``box``, ``pose``, ``kobj``, ``cls``, ``dfl``; YOLO26 reports ``l1``
            instead of ``dfl`` and adds ``rle``), returned with ``loss``.
        logits (`torch.Tensor` of shape `(batch_size, num_anchors, num_labels)`):
            Raw class logits (before the sigmoid) of every anchor point (e.g. 8400 for a 640×640 input).
        pred_boxes (`torch.Tensor` of shape `(batch_size, num_anchors, 4)`):
            Boxes as ``(center_x, center_y, width, height)`` normalized to ``[0, 1]`` by the network input width and
            height (the letterboxed ``pixel_values``, padding included).
        pred_keypoints (`torch.Tensor` of shape `(batch_size, num_anchors, num_keypoints, keypoint_dims)`):
            Decoded keypoints of every anchor: ``x`` and ``y`` normalized to ``[0, 1]`` by the network input width and
            height, and, when ``keypoint_dims == 3``, the visibility probability (sigmoid already applied).
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            Feature maps entering the head, one per level, each `(batch_size, channels, height_i, width_i)`;
            returned with ``output_hidden_states=True``.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    logits: torch.Tensor | None = None
    pred_boxes: torch.Tensor | None = None
    pred_keypoints: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloForPoseEstimation(YoloPreTrainedModel):
    """YOLO pose estimation (``yolov8n-pose``, ``yolo11n-pose``, ``yolo26n-pose`` ...) as a transformers model.

    Example:
        >>> from yolo_transformers import YoloForPoseEstimation, YoloImageProcessor
        >>> model = YoloForPoseEstimation.from_pretrained("path/to/converted-pose")
        >>> processor = YoloImageProcessor.from_pretrained("path/to/converted-pose")
        >>> outputs = model(**processor(images=image, return_tensors="pt"))
        >>> people = processor.post_process_pose_estimation(outputs, 0.25, [image.size[::-1]])[0]
        >>> people["keypoints"].shape  # (num_people, 17, 3): x, y in original pixels, visibility
    """

    task = "pose"
    output_class = YoloPoseEstimationOutput

    def __init__(self, config: YoloConfig) -> None:
        super().__init__(config)
        configure_head(self.model.model[-1], end_to_end=config.end_to_end)
        mirrored = getattr(config, "kpt_shape", None)
        if mirrored is not None and list(mirrored) != list(self.kpt_shape):
            raise ConfigError(
                f"config.kpt_shape={list(mirrored)} disagrees with architecture.kpt_shape={list(self.kpt_shape)}; "
                "the architecture's value is what the head was built with. Remove kpt_shape or make them equal."
            )

    @property
    def kpt_shape(self) -> tuple[int, int]:
        """``(num_keypoints, keypoint_dims)`` of the head."""
        num_keypoints, dims = self.model.model[-1].kpt_shape
        return int(num_keypoints), int(dims)

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: list[dict[str, torch.Tensor]] | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloPoseEstimationOutput | tuple:
        r"""Detect people (or the trained classes) and their keypoints.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]``, letterboxed by
                :class:`YoloImageProcessor`; height and width must be multiples of the largest stride.
            labels: One dict per image with ``class_labels`` `(num_objects,)`, ``boxes`` `(num_objects, 4)`
                normalized ``(cx, cy, w, h)`` and ``keypoints`` `(num_objects, num_keypoints, 3)` normalized
                ``(x, y, visibility)`` (visibility 0 = unlabelled). Given, the output holds Ultralytics' own pose loss.
            output_hidden_states: Also return the feature maps entering the head.
            return_dict: Return a :class:`YoloPoseEstimationOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloPoseEstimationOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = None
        if labels is not None:
            loss, loss_dict = task_loss(self, features, labels, pixel_values)
        head = network.model[-1]
        heads = run_anchor_head(head, features)
        decoded = head.kpts_decode(heads.raw["kpts"])  # (B, K * D, A), x/y in input pixels
        batch, _, anchors = decoded.shape
        keypoints = decoded.view(batch, *self.kpt_shape, anchors).permute(0, 3, 1, 2)  # (B, A, K, D)
        xy_scale = pixel_scale(pixel_values, keypoints)[:2]
        keypoints = torch.cat((keypoints[..., :2] / xy_scale, keypoints[..., 2:]), dim=-1)
        output = YoloPoseEstimationOutput(
            loss=loss,
            loss_dict=loss_dict,
            logits=heads.raw["scores"].transpose(1, 2),
            pred_boxes=normalized_boxes(pixel_values, heads),
            pred_keypoints=keypoints,
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The head's inference tensor exactly as Ultralytics computes it (used to prove conversion parity).

        Returns:
            `(batch_size, 4 + num_labels + K * D, num_anchors)`: boxes (xywh pixels, or xyxy for the end-to-end branch),
            sigmoid class scores and keypoints (``x, y`` pixels[, visibility]) flattened keypoint-major.
        """
        pixel_values = plain(pixel_values)  # a processor's marked tensor: plain into the head's helpers
        outputs = self.forward(pixel_values, return_dict=True)
        return ultralytics_rows("pose", pixel_values, outputs, bool(self.config.end_to_end))
