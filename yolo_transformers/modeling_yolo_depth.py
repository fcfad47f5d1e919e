"""``YoloForDepthEstimation``: Ultralytics ``-depth`` models (YOLO26 ``Depth`` head, monocular metric depth).

The head fuses P3-P5 top-down and predicts log-depth at a quarter of the input resolution; depth is
``exp(cal_a * log_depth + cal_b)`` with the checkpoint's calibration buffers. Ultralytics stretches the image to the
model's square input size for depth (no letterbox), so the processor of a depth model has ``scale_fill=True``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .modeling_yolo import YoloPreTrainedModel
from .network.ultralytics_rows import ultralytics_rows
from .loss.yolo_loss import task_loss

__all__ = ["YoloForDepthEstimation", "YoloDepthEstimatorOutput"]

logger = logging.getLogger(__name__)


@dataclass
class YoloDepthEstimatorOutput(ModelOutput):
    r"""Output of :class:`YoloForDepthEstimation` (transformers' ``DepthEstimatorOutput`` layout).

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Ultralytics' training loss (what its trainer back-propagates), returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            Ultralytics' detached loss items (``dlog``, ``dgrad``), returned with ``loss``.
        predicted_depth (`torch.Tensor` of shape `(batch_size, height / 4, width / 4)`):
            Positive depth of every cell of the stride-4 grid of the network input, in the unit the model was trained
            in (metres for Ultralytics' depth datasets), calibration applied. Resize to the image with
            :meth:`YoloImageProcessor.post_process_depth_estimation`. In training mode the head skips the calibration
            and this is the raw ``exp(log_depth)``.
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            Feature maps entering the head (P3, P4, P5), each `(batch_size, channels, height_i, width_i)`; returned
            with ``output_hidden_states=True``.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    predicted_depth: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloForDepthEstimation(YoloPreTrainedModel):
    """YOLO monocular depth estimation (``yolo26n-depth`` ...) as a transformers model.

    Works with ``AutoModelForDepthEstimation`` and ``pipeline("depth-estimation")``.

    Example:
        >>> from yolo_transformers import YoloForDepthEstimation, YoloImageProcessor
        >>> model = YoloForDepthEstimation.from_pretrained("path/to/converted-depth")
        >>> processor = YoloImageProcessor.from_pretrained("path/to/converted-depth")
        >>> outputs = model(**processor(images=image, return_tensors="pt"))
        >>> depth = processor.post_process_depth_estimation(outputs, [image.size[::-1]])[0]["predicted_depth"]
    """

    task = "depth"
    output_class = YoloDepthEstimatorOutput

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloDepthEstimatorOutput | tuple:
        r"""Estimate depth.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]``, stretched to the model's input size by
                :class:`YoloImageProcessor` (``scale_fill=True``); height and width must be multiples of 32.
            labels: `(batch_size, height, width)` ground-truth depth (values <= 0.001 are invalid pixels), in the
                unit the model predicts. Given, the output holds Ultralytics' own depth loss (SILog + gradient
                matching).
            output_hidden_states: Also return the feature maps entering the head.
            return_dict: Return a :class:`YoloDepthEstimatorOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloDepthEstimatorOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = None
        if labels is not None:
            loss, loss_dict = task_loss(self, features, labels, pixel_values)
        head = network.model[-1]
        depth = head(features)
        if isinstance(depth, dict):  # training mode: uncalibrated exp(log-depth)
            depth = depth["depth"]
        output = YoloDepthEstimatorOutput(
            loss=loss,
            loss_dict=loss_dict,
            predicted_depth=depth[:, 0],
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The head's inference tensor exactly as Ultralytics computes it: `(batch_size, 1, height / 4, width / 4)`."""
        return ultralytics_rows("depth", pixel_values, self.forward(pixel_values, return_dict=True), False)
