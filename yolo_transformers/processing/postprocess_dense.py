"""Dense-prediction post-processing of :class:`YoloImageProcessor` (mixin): semantic class maps and depth maps.

Both follow Ultralytics' predictors step for step:

* semantic: logits ``(C, h, w)`` are resized bilinearly to the network input, the letterbox padding is cut away,
  the rest is resized bilinearly to the original image and the arg-max taken (``> 0`` for a single class);
* depth: the ``(h, w)`` map is resized to the network input and then to the original image, both with
  ``align_corners=True`` (the image was stretched, not letterboxed, so there is no padding to cut).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .geometry import content_window, output_field, size_pairs
from .task_method import task_method

__all__ = ["DensePostProcessing"]

logger = logging.getLogger(__name__)


def _crop_and_resize(maps: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]) -> torch.Tensor:
    """``(1, C, H_in, W_in)`` at the network input -> ``(1, C, H, W)`` original image (letterbox padding removed)."""
    if tuple(maps.shape[-2:]) == tuple(original_size):
        return maps
    window = content_window(input_size, original_size)
    cropped = maps[..., window.top:window.bottom, window.left:window.right]
    return F.interpolate(cropped, size=tuple(original_size), mode="bilinear", align_corners=False)


class DensePostProcessing:
    """``post_process_semantic_segmentation`` and ``post_process_depth_estimation`` for :class:`YoloImageProcessor`."""

    @task_method("semantic")
    def post_process_semantic_segmentation(
        self,
        outputs: Any,
        target_sizes: Sequence[Sequence[int]] | torch.Tensor | None = None,
        *,
        input_size: Sequence[int] | None = None,
    ) -> list[torch.Tensor]:
        """Turn semantic-segmentation logits into one class map per image.

        Args:
            outputs: :class:`YoloSemanticSegmenterOutput` (or a mapping) with ``logits`` ``(B, C, h, w)``.
            target_sizes: ``(B, 2)`` ``(height, width)`` of the original images. None returns maps at the network
                input size (padding included).
            input_size: ``(height, width)`` of ``pixel_values``; needed only without ``target_sizes`` when minimal
                padding was used.

        Returns:
            One ``(height, width)`` int64 tensor of class indices per image.
        """
        logits = output_field(outputs, "logits", "semantic segmentation logits (B, C, h, w)").float()
        if logits.ndim != 4:
            raise ValueError(f"Expected semantic logits (B, C, h, w), got shape {tuple(logits.shape)}")
        batch = logits.shape[0]
        originals = None if target_sizes is None else size_pairs(target_sizes, batch)
        input_sizes = self._input_sizes(batch, originals, input_size, outputs)
        maps = []
        for i in range(batch):
            scores = self._own_map(logits[i : i + 1], i, input_sizes[i], outputs)  # a mixed batch's padding cut
            if tuple(scores.shape[-2:]) != tuple(input_sizes[i]):
                scores = F.interpolate(scores, size=input_sizes[i], mode="bilinear", align_corners=False)
            if originals is not None:
                scores = _crop_and_resize(scores, input_sizes[i], originals[i])
            scores = scores[0]
            class_map = scores.max(0).indices if scores.shape[0] > 1 else scores[0].gt(0).long()
            maps.append(class_map.long())
        return maps

    @task_method("depth")
    def post_process_depth_estimation(
        self,
        outputs: Any,
        target_sizes: Sequence[Sequence[int]] | torch.Tensor | None = None,
        *,
        input_size: Sequence[int] | None = None,
    ) -> list[dict[str, torch.Tensor]]:
        """Resize predicted depth to the original images (transformers' depth-estimation convention).

        Args:
            outputs: :class:`YoloDepthEstimatorOutput` (or a mapping) with ``predicted_depth`` ``(B, h, w)``.
            target_sizes: ``(B, 2)`` ``(height, width)`` of the original images (``pipeline("depth-estimation")``
                passes them). None returns depth at the network input size.
            input_size: ``(height, width)`` of ``pixel_values``; needed only without ``target_sizes`` when minimal
                padding was used.

        Returns:
            One dict per image with ``predicted_depth`` ``(height, width)`` float32, in the model's depth unit.
        """
        depth = output_field(outputs, "predicted_depth", "depth outputs with predicted_depth (B, h, w)").float()
        if depth.ndim == 4 and depth.shape[1] == 1:
            depth = depth[:, 0]
        if depth.ndim != 3:
            raise ValueError(f"Expected predicted_depth (B, h, w), got shape {tuple(depth.shape)}")
        batch = depth.shape[0]
        originals = None if target_sizes is None else size_pairs(target_sizes, batch)
        input_sizes = self._input_sizes(batch, originals, input_size, outputs)
        results = []
        for i in range(batch):
            maps = self._own_map(depth[i][None, None], i, input_sizes[i], outputs)  # a mixed batch's padding cut
            maps = F.interpolate(maps, size=input_sizes[i], mode="bilinear", align_corners=True)
            if originals is not None:
                if not getattr(self, "scale_fill", False):  # a letterboxed input: cut the padding away first
                    window = content_window(input_sizes[i], originals[i])
                    maps = maps[..., window.top:window.bottom, window.left:window.right]
                maps = F.interpolate(maps, size=originals[i], mode="bilinear", align_corners=True)
            results.append({"predicted_depth": maps[0, 0]})
        return results
