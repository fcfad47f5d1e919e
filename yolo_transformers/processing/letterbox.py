"""Ultralytics-exact letterbox: input normalisation, resize-and-pad geometry, and its inverse for boxes.

Everything here reproduces what ``YOLO.predict`` does to an image before the network sees it, pixel for
pixel, and how it maps boxes back to the original image afterwards:

* :func:`to_rgb_array` turns a PIL image / NumPy array / torch tensor into an ``(H, W, 3)`` RGB array the
  way Ultralytics' in-memory loader normalises channels and bit depth (16-bit is shifted to 8-bit, alpha is
  dropped, grey is replicated);
* :func:`compute_letterbox` computes the resize and the padding with Ultralytics' rounding rules;
* :func:`letterbox_image` applies them with the same OpenCV calls;
* :func:`scale_boxes_to_original` undoes the letterbox for ``xyxy`` boxes (Ultralytics' ``scale_boxes``).

Ultralytics works in BGR internally and flips to RGB at the end; bilinear resizing and constant padding act
on each channel independently, so working in RGB throughout gives the same numbers.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Literal, Union

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps

__all__ = [
    "LetterboxGeometry",
    "to_rgb_array",
    "compute_letterbox",
    "letterbox_image",
    "network_input_shape",
    "scale_boxes_to_original",
]

ChannelFormat = Literal["channels_first", "channels_last"]
SingleImage = Union[Image.Image, np.ndarray, torch.Tensor, str, os.PathLike]

logger = logging.getLogger(__name__)

_FLOAT_DTYPES = (np.float32, np.float64)
_CHANNEL_COUNTS = (1, 2, 3, 4)


@dataclass(frozen=True)
class LetterboxGeometry:
    """Where one original image lands inside the network input.

    Attributes:
        original_size: ``(height, width)`` of the image before letterboxing, in pixels.
        resized_size: ``(height, width)`` after the aspect-preserving resize, before padding, in pixels.
        input_size: ``(height, width)`` of the padded network input, in pixels.
        padding: ``(top, bottom, left, right)`` padding in pixels.
        scale: resize ratio ``new / old`` (the same for both axes before rounding).
    """

    original_size: tuple[int, int]
    resized_size: tuple[int, int]
    input_size: tuple[int, int]
    padding: tuple[int, int, int, int]
    scale: float


def network_input_shape(image_size: int | list[int] | tuple[int, ...], stride: int) -> tuple[int, int]:
    """Return the ``(height, width)`` letterbox target, rounded up to a stride multiple like ``check_imgsz``.

    Args:
        image_size: Square side or ``[height, width]`` in pixels.
        stride: Largest model stride in pixels.

    Returns:
        ``(height, width)``, each a multiple of ``stride`` and at least ``stride``.
    """
    sizes = [int(image_size)] * 2 if isinstance(image_size, (int, np.integer)) else [int(s) for s in image_size]
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2:
        raise ValueError(f"image_size must be an int or [height, width], got {image_size!r}")
    height, width = (max(math.ceil(s / stride) * stride, stride) for s in sizes)
    return height, width


def compute_letterbox(
    original_size: tuple[int, int],
    new_shape: tuple[int, int],
    stride: int,
    minimal_padding: bool,
    scaleup: bool = True,
) -> LetterboxGeometry:
    """Compute Ultralytics' ``LetterBox`` resize and padding for one image (centered, no stretching).

    Args:
        original_size: ``(height, width)`` of the image in pixels.
        new_shape: ``(height, width)`` target in pixels.
        stride: Model stride; with ``minimal_padding`` each side is only padded to a multiple of it.
        minimal_padding: Ultralytics ``auto=True`` (pad to a stride multiple) instead of to ``new_shape``.
        scaleup: Allow enlarging images smaller than ``new_shape`` (Ultralytics' predictor does).

    Returns:
        The geometry; ``input_size`` is the padded shape the network sees.
    """
    height, width = int(original_size[0]), int(original_size[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"Image size must be positive, got (height, width) = {original_size}")
    ratio = min(new_shape[0] / height, new_shape[1] / width)
    if not scaleup:
        ratio = min(ratio, 1.0)
    resized_w, resized_h = max(round(width * ratio), 1), max(round(height * ratio), 1)
    pad_w, pad_h = new_shape[1] - resized_w, new_shape[0] - resized_h
    if minimal_padding:
        pad_w, pad_h = pad_w % stride, pad_h % stride
    half_w, half_h = pad_w / 2, pad_h / 2
    top, bottom = round(half_h - 0.1), round(half_h + 0.1)
    left, right = round(half_w - 0.1), round(half_w + 0.1)
    return LetterboxGeometry(
        original_size=(height, width),
        resized_size=(resized_h, resized_w),
        input_size=(resized_h + top + bottom, resized_w + left + right),
        padding=(top, bottom, left, right),
        scale=ratio,
    )


def letterbox_image(image: np.ndarray, geometry: LetterboxGeometry, pad_value: int = 114) -> np.ndarray:
    """Resize (bilinear, OpenCV) and pad one image as described by ``geometry``.

    Args:
        image: ``(H, W, 3)`` array, uint8 or float, with ``(H, W) == geometry.original_size``.
        geometry: Output of :func:`compute_letterbox` for this image.
        pad_value: Constant written into the padding, on the image's own 0-255 scale.

    Returns:
        ``(input_h, input_w, 3)`` array of the same dtype.
    """
    resized_h, resized_w = geometry.resized_size
    if image.shape[:2] != (resized_h, resized_w):
        image = cv2.resize(image, (resized_w, resized_h), interpolation=cv2.INTER_LINEAR)
    top, bottom, left, right = geometry.padding
    return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(pad_value,) * 3)


def _pil_to_rgb(image: Image.Image) -> np.ndarray:
    """PIL image -> ``(H, W, 3)`` uint8 RGB; EXIF orientation applied, 16-bit shifted to 8-bit (as Ultralytics)."""
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):  # convert() would clip at 255; keep the high byte instead
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def _to_channels_last(array: np.ndarray, data_format: ChannelFormat | None, prefer_first: bool) -> np.ndarray:
    """Move a 3-D array's channel axis last; ``data_format=None`` infers it (1-4 channels)."""
    if array.ndim != 3:
        return array
    if data_format is None:
        first, last = array.shape[0] in _CHANNEL_COUNTS, array.shape[-1] in _CHANNEL_COUNTS
        data_format = "channels_first" if first and (prefer_first or not last) else "channels_last"
    if data_format == "channels_first":
        return np.moveaxis(array, 0, -1)
    if data_format != "channels_last":
        raise ValueError(f"input_data_format must be 'channels_first' or 'channels_last', got {data_format!r}")
    return array


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """``(H, W)`` / ``(H, W, C)`` array -> ``(H, W, 3)``, normalised like Ultralytics' ``LoadPilAndNumpy``."""
    if array.dtype == np.uint16:  # 16-bit frames keep their high byte, like cv2.imread and PIL I;16
        array = (array >> 8).astype(np.uint8)
    elif array.dtype == np.float16:  # OpenCV cannot resize float16
        array = array.astype(np.float32)
    if array.dtype != np.uint8 and array.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"Unsupported image dtype {array.dtype}: use uint8, uint16 or float (0-255 scale)")
    if array.dtype != np.uint8 and array.size and float(array.max()) <= 1.0:
        logger.warning("Float image with values in [0, 1]: YOLO expects the 0-255 scale (as Ultralytics does)")
    array = np.atleast_3d(array)
    if array.ndim != 3 or not all(array.shape):
        raise ValueError(f"Expected a single (H, W, C) image, but got array of shape {array.shape}")
    channels = array.shape[2]
    if channels == 2:  # grey + alpha
        array, channels = array[..., :1], 1
    if channels == 1:
        return np.repeat(array, 3, axis=2)
    return array if channels == 3 else np.ascontiguousarray(array[..., :3])  # drop alpha / extra bands


def to_rgb_array(image: SingleImage, input_data_format: ChannelFormat | None = None) -> np.ndarray:
    """Convert one image to the ``(H, W, 3)`` RGB array Ultralytics would letterbox.

    Args:
        image: PIL image (any mode; EXIF orientation applied), NumPy array ``(H, W)``, ``(H, W, C)`` or
            ``(C, H, W)`` in **RGB** order (transformers' convention, not OpenCV's BGR), torch tensor (same
            shapes, channels-first preferred when ambiguous), or a local file path (opened with PIL).
            Arrays are uint8, uint16 (high byte kept) or float on the **0-255** scale, as Ultralytics assumes.
        input_data_format: Force the channel axis of arrays/tensors instead of inferring it.

    Returns:
        ``(H, W, 3)`` uint8 (or float32/float64 for float inputs) RGB array.
    """
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as opened:
            opened.load()
            return _pil_to_rgb(opened)
    if isinstance(image, Image.Image):
        return _pil_to_rgb(image)
    if isinstance(image, torch.Tensor):
        return _array_to_rgb(_to_channels_last(image.detach().cpu().numpy(), input_data_format, prefer_first=True))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(_to_channels_last(image, input_data_format, prefer_first=False))
    raise TypeError(f"Expected a PIL image, numpy array, torch tensor or path, got {type(image).__name__}")


def scale_boxes_to_original(
    boxes: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int]
) -> torch.Tensor:
    """Map ``xyxy`` boxes from network-input pixels back to the original image (Ultralytics ``scale_boxes``).

    The gain and padding are re-derived from the two sizes alone, with the same rounding Ultralytics uses, and
    the result is clipped to the image.

    Args:
        boxes: ``(N, 4)`` ``(x1, y1, x2, y2)`` in network-input pixels.
        input_size: ``(height, width)`` of the network input in pixels.
        original_size: ``(height, width)`` of the original image in pixels.

    Returns:
        New ``(N, 4)`` tensor of ``(x1, y1, x2, y2)`` in original-image pixels.
    """
    in_h, in_w = int(input_size[0]), int(input_size[1])
    orig_h, orig_w = int(original_size[0]), int(original_size[1])
    gain = min(in_h / orig_h, in_w / orig_w)
    new_h, new_w = max(round(orig_h * gain), 1), max(round(orig_w * gain), 1)
    gain_y, gain_x = new_h / orig_h, new_w / orig_w
    pad_x, pad_y = round((in_w - new_w) / 2 - 0.1), round((in_h - new_h) / 2 - 0.1)
    boxes = boxes.clone()
    boxes[..., 0] -= pad_x
    boxes[..., 1] -= pad_y
    boxes[..., 2] -= pad_x
    boxes[..., 3] -= pad_y
    boxes[..., 0] /= gain_x
    boxes[..., 1] /= gain_y
    boxes[..., 2] /= gain_x
    boxes[..., 3] /= gain_y
    boxes[..., 0].clamp_(0, orig_w)
    boxes[..., 1].clamp_(0, orig_h)
    boxes[..., 2].clamp_(0, orig_w)
    boxes[..., 3].clamp_(0, orig_h)
    return boxes
