"""``YoloClassificationImageProcessor``: Ultralytics' classification preprocessing for transformers.

Ultralytics classifies an image after its ``classify_transforms``: resize the shortest edge to the input size with
PIL bilinear filtering (a ``[height, width]`` size is resized to exactly that), centre-crop to the input size, scale
to ``[0, 1]`` and normalise with mean 0 and std 1 (a no-op). The predictor's input size is the model's ``imgsz``
rounded up to a multiple of 32. The same torchvision functions are called here, so ``pixel_values`` are identical.

Classification gets its own processor class (instead of a mode of :class:`YoloImageProcessor`) because nothing is
shared: no letterbox, no detection post-processing. ``AutoImageProcessor`` picks it from the ``image_processor_type``
saved in ``preprocessor_config.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.processing_utils import ImagesKwargs

from .processing.letterbox import ChannelFormat, SingleImage, network_input_shape, to_rgb_array
from .processing.pixel_values import as_return_type, scaled_pixel_values

__all__ = ["YoloClassificationImageProcessor", "YoloClassificationImageProcessorKwargs"]

logger = logging.getLogger(__name__)


class YoloClassificationImageProcessorKwargs(ImagesKwargs, total=False):
    """Keyword arguments ``YoloClassificationImageProcessor`` accepts (saved in ``preprocessor_config.json``)."""

    image_size: int | list[int]
    stride: int
    image_mean: list[float]
    image_std: list[float]
    top_k: int


def _as_uint8(array: np.ndarray) -> np.ndarray:
    """Float images on the 0-255 scale are rounded to uint8 (PIL, and so Ultralytics' transforms, need uint8)."""
    if array.dtype == np.uint8:
        return array
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


class YoloClassificationImageProcessor(BaseImageProcessor):
    r"""Image processor for Ultralytics YOLO classification models (``-cls``).

    Args:
        image_size (`int` or `list[int]`, *optional*, defaults to 224):
            Model input size (Ultralytics ``imgsz``), a square side or ``[height, width]``; rounded up to a multiple of
            ``stride`` as Ultralytics' predictor does.
        stride (`int`, *optional*, defaults to 32):
            Size multiple (Ultralytics' predictor uses 32 for classifiers).
        image_mean (`list[float]`, *optional*, defaults to `[0.0, 0.0, 0.0]`):
            Per-channel mean subtracted after scaling to ``[0, 1]`` (Ultralytics' default: none).
        image_std (`list[float]`, *optional*, defaults to `[1.0, 1.0, 1.0]`):
            Per-channel standard deviation divided by (Ultralytics' default: none).
        top_k (`int`, *optional*, defaults to 5):
            Default number of classes :meth:`post_process_image_classification` returns (Ultralytics' ``top5``).
    """

    model_input_names = ["pixel_values"]
    valid_kwargs = YoloClassificationImageProcessorKwargs

    def __init__(
        self,
        image_size: int | Sequence[int] = 224,
        stride: int = 32,
        image_mean: Sequence[float] = (0.0, 0.0, 0.0),
        image_std: Sequence[float] = (1.0, 1.0, 1.0),
        top_k: int = 5,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("task", None)
        super().__init__(**kwargs)
        self.image_size = int(image_size) if isinstance(image_size, (int, np.integer)) else [int(s) for s in image_size]
        self.stride = int(stride)
        self.image_mean = [float(v) for v in image_mean]
        self.image_std = [float(v) for v in image_std]
        self.top_k = int(top_k)
        self.task = "classify"

    def input_shape(self) -> tuple[int, int]:
        """``(height, width)`` of ``pixel_values``: ``image_size`` rounded up to a multiple of ``stride``."""
        return network_input_shape(self.image_size, self.stride)

    def __call__(self, images: SingleImage | Sequence[SingleImage], *args: Any, **kwargs: Any) -> BatchFeature:
        """Same as :meth:`preprocess`."""
        return self.preprocess(images, *args, **kwargs)

    def _resize_and_crop(self, array: np.ndarray) -> np.ndarray:
        """One ``(H, W, 3)`` RGB uint8 array -> ``(h, w, 3)`` uint8: the resize and centre crop of Ultralytics'
        classify transforms (torchvision on PIL, as there)."""
        import torchvision.transforms.functional as TF
        from torchvision.transforms import InterpolationMode

        height, width = self.input_shape()
        size = height if height == width else [height, width]  # square: shortest edge (keeps the aspect ratio)
        image = TF.resize(Image.fromarray(array), size, interpolation=InterpolationMode.BILINEAR)
        return np.asarray(TF.center_crop(image, [height, width]))

    def _normalize(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``(pixels - mean) / std`` per channel; skipped for Ultralytics' mean 0 and std 1, where it is exact."""
        if self.image_mean == [0.0] * 3 and self.image_std == [1.0] * 3:
            return pixel_values
        mean = torch.tensor(self.image_mean).view(3, 1, 1)
        std = torch.tensor(self.image_std).view(3, 1, 1)
        return (pixel_values - mean) / std

    def preprocess(
        self,
        images: SingleImage | Sequence[SingleImage],
        return_tensors: str | None = "pt",
        input_data_format: ChannelFormat | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Resize, centre-crop and scale a batch of images exactly like Ultralytics' classification predictor.

        Args:
            images: A PIL image, NumPy array, torch tensor or path, or a list of them; a 4-D array/tensor is a batch.
                Arrays are **RGB**, ``(H, W[, C])`` or ``(C, H, W)``, uint8 (or uint16 / float on the 0-255 scale).
            return_tensors: ``"pt"`` (default), ``"np"``, or None (a list of ``(3, H, W)`` arrays).
            input_data_format: Channel axis of arrays/tensors, inferred when None.
            **kwargs: Ignored, logged.

        Returns:
            ``BatchFeature`` with ``pixel_values`` ``(B, 3, H, W)`` float32, RGB.
        """
        if kwargs:
            logger.debug("YoloClassificationImageProcessor.preprocess ignores %s", sorted(kwargs))
        if isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4:
            images = list(images)
        elif not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            raise ValueError("No images given to YoloClassificationImageProcessor")
        crops = [self._resize_and_crop(_as_uint8(to_rgb_array(i, input_data_format))) for i in images]
        pixel_values = self._normalize(scaled_pixel_values(crops))  # a channels-last view, like the detectors'
        return BatchFeature(data={"pixel_values": as_return_type(pixel_values, return_tensors)},
                            tensor_type=return_tensors)

    def post_process_image_classification(
        self, outputs: Any, top_k: int | None = None
    ) -> list[dict[str, torch.Tensor]]:
        """The ``top_k`` most probable classes per image (Ultralytics' ``Results.probs.top5`` for ``top_k=5``).

        Args:
            outputs: :class:`YoloImageClassifierOutput` (or a mapping) with ``logits`` ``(B, num_labels)``.
            top_k: Number of classes to return; None uses ``self.top_k``.

        Returns:
            One dict per image: ``scores`` ``(k,)`` softmax probabilities, descending, and ``labels`` ``(k,)`` int64.
        """
        logits = outputs.get("logits") if isinstance(outputs, Mapping) else getattr(outputs, "logits", None)
        if logits is None or logits.ndim != 2:
            raise ValueError("Expected classification outputs with logits (B, num_labels)")
        probabilities = logits.float().softmax(-1)
        k = min(self.top_k if top_k is None else int(top_k), probabilities.shape[-1])
        scores, labels = probabilities.topk(k, dim=-1)
        return [{"scores": s, "labels": l} for s, l in zip(scores, labels)]
