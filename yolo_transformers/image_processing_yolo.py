"""``YoloImageProcessor``: Ultralytics' letterbox preprocessing and detection post-processing for transformers.

Preprocessing reproduces ``YOLO.predict`` pixel for pixel: aspect-preserving bilinear resize (OpenCV), centered
padding with 114 to a stride multiple (one image, or a batch of same-size images) or to the full
``image_size`` (a batch of mixed sizes), RGB, ``/ 255``, no mean/std.

Post-processing turns the model's ``logits`` (raw class logits) and ``pred_boxes`` (normalised ``cx, cy, w, h``
relative to the network input) into per-image ``scores``, ``labels`` and absolute ``xyxy`` boxes in the
original image, with Ultralytics' NMS (classic heads) or top-k selection (end-to-end heads). Only the
original image sizes are needed: the letterbox geometry is recomputed from them, so
``pipeline("object-detection")`` works unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.processing_utils import ImagesKwargs

from .processing.letterbox import (
    ChannelFormat,
    LetterboxGeometry,
    SingleImage,
    letterbox_image,
    scale_boxes_to_original,
    to_rgb_array,
)
from .processing.batching import letterboxed
from .processing.geometry import cxcywh_to_xyxy
from .processing.nms import KeptDetections
from .processing.pixel_values import as_return_type, scaled_pixel_values
from .processing.postprocess_obb import is_oriented_output, oriented_as_axis_aligned
from .processing.task_postprocessing import TaskPostProcessingMixin

__all__ = ["YoloImageProcessor", "YoloImageProcessorKwargs", "LetterboxGeometry", "KeptDetections"]

logger = logging.getLogger(__name__)

ImageBatch = SingleImage | Sequence[SingleImage]
SizeLike = Sequence[int] | torch.Tensor
_EXPECTED = "logits (B, A, C) and pred_boxes (B, A, 4)"


class YoloImageProcessorKwargs(ImagesKwargs, total=False):
    """Keyword arguments ``YoloImageProcessor`` accepts (saved in ``preprocessor_config.json``)."""

    image_size: int | list[int]
    stride: int
    minimal_padding: bool
    pad_value: int
    conf_threshold: float
    iou_threshold: float
    max_det: int
    agnostic_nms: bool
    end_to_end: bool
    task: str | None
    scale_fill: bool


def _flatten_images(images: Any) -> list[SingleImage]:
    """Flatten one image, a list of images, or a 4-D array/tensor batch into a list of single images."""
    if isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4:
        return list(images)
    if isinstance(images, (list, tuple)):
        return [img for item in images for img in _flatten_images(item)]
    return [images]


class YoloImageProcessor(TaskPostProcessingMixin, BaseImageProcessor):
    r"""Image processor for Ultralytics YOLO models: letterbox in, NMS / top-k and un-letterbox out.

    Args:
        image_size (`int` or `list[int]`, *optional*, defaults to 640):
            Letterbox target, a square side or ``[height, width]`` in pixels. Rounded up to a multiple of
            ``stride`` when used, as Ultralytics' ``check_imgsz`` does.
        stride (`int`, *optional*, defaults to 32):
            Largest model stride in pixels.
        minimal_padding (`bool`, *optional*, defaults to `True`):
            Pad only to a stride multiple (Ultralytics ``LetterBox(auto=True)``, what ``YOLO.predict`` does for
            one image or a batch of same-size images). A list of mixed sizes given to the processor at once is padded
            to the full ``image_size`` so it can be stacked, exactly like Ultralytics' predictor; pipelines, which
            preprocess one image at a time, keep each image's own letterbox in a batch (see
            :mod:`yolo_transformers.processing.batching`). `False` always pads fully.
        pad_value (`int`, *optional*, defaults to 114):
            Padding intensity on the 0-255 scale.
        conf_threshold (`float`, *optional*, defaults to 0.25):
            Default score threshold of :meth:`post_process_object_detection`.
        iou_threshold (`float`, *optional*, defaults to 0.7):
            NMS IoU threshold.
        max_det (`int`, *optional*, defaults to 300):
            Maximum detections per image.
        agnostic_nms (`bool`, *optional*, defaults to `False`):
            Class-agnostic NMS (for end-to-end heads: one label per anchor).
        end_to_end (`bool`, *optional*, defaults to `False`):
            The head is NMS-free (YOLOv10, YOLO26 one-to-one branch): select by top-k instead of NMS.
        task (`str`, *optional*):
            Ultralytics task of the model this processor serves (``detect``, ``segment``, ``pose``, ``obb``,
            ``semantic``, ``depth``). Task-specific ``post_process_*`` methods of other tasks are then absent (so
            pipelines pick the right one); None keeps all of them.
        scale_fill (`bool`, *optional*, defaults to `False`):
            Stretch images to ``image_size`` instead of letterboxing them (Ultralytics ``LetterBox(scale_fill=True)``,
            what its depth predictor does).
    """

    model_input_names = ["pixel_values"]
    valid_kwargs = YoloImageProcessorKwargs

    def __init__(
        self,
        image_size: int | Sequence[int] = 640,
        stride: int = 32,
        minimal_padding: bool = True,
        pad_value: int = 114,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.7,
        max_det: int = 300,
        agnostic_nms: bool = False,
        end_to_end: bool = False,
        task: str | None = None,
        scale_fill: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_size = int(image_size) if isinstance(image_size, (int, np.integer)) else [int(s) for s in image_size]
        self.stride = int(stride)
        self.minimal_padding = bool(minimal_padding)
        self.pad_value = int(pad_value)
        self.conf_threshold = float(conf_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_det = int(max_det)
        self.agnostic_nms = bool(agnostic_nms)
        self.end_to_end = bool(end_to_end)
        self.task = None if task is None else str(task)
        self.scale_fill = bool(scale_fill)

    # ------------------------------------------------------------------ geometry

    # ------------------------------------------------------------------ preprocessing

    def __call__(self, images: ImageBatch, *args: Any, **kwargs: Any) -> BatchFeature:
        """Same as :meth:`preprocess`."""
        return self.preprocess(images, *args, **kwargs)

    def preprocess(
        self,
        images: ImageBatch,
        return_tensors: str | None = "pt",
        image_size: int | Sequence[int] | None = None,
        minimal_padding: bool | None = None,
        pad_value: int | None = None,
        input_data_format: ChannelFormat | None = None,
        return_letterbox: bool = False,
        annotations: Any = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Letterbox a batch of images exactly like Ultralytics' predictor.

        Args:
            images: A PIL image, NumPy array, torch tensor or path, or a list of them; a 4-D array/tensor is a
                batch. Arrays are **RGB** (transformers' convention; Ultralytics' own NumPy inputs are BGR),
                ``(H, W[, C])`` or ``(C, H, W)``, uint8, uint16 (high byte kept, as Ultralytics) or float on
                the 0-255 scale. PIL images of any mode are converted as Ultralytics does (EXIF orientation
                applied, ``I;16`` shifted to 8 bits, others ``convert("RGB")``, so alpha is dropped).
            return_tensors: ``"pt"`` (default), ``"np"``, or None (a list of ``(3, H, W)`` arrays).
            image_size: Override of ``self.image_size``.
            minimal_padding: Override of ``self.minimal_padding``.
            pad_value: Override of ``self.pad_value``.
            input_data_format: Channel axis of arrays/tensors, inferred when None.
            return_letterbox: Also return ``original_sizes`` and ``resized_sizes`` ``(B, 2)`` (height, width) and
                ``paddings`` ``(B, 4)`` (top, bottom, left, right), int64, in pixels. Off by default because
                models receive every key of the returned features.
            annotations: COCO-style targets for training, one ``{"image_id", "annotations": [{"bbox": [x, y, w,
                h] (pixels), "category_id", ...}]}`` per image; adds ``labels`` (see
                :func:`yolo_transformers.processing.annotations.annotations_to_labels`). Images are then padded to the full
                ``image_size`` unless ``minimal_padding`` is given, so every training sample has one shape.
            **kwargs: Ignored, logged (accepted for compatibility with generic callers).

        Returns:
            ``BatchFeature`` with ``pixel_values`` ``(B, 3, H, W)`` float32 in ``[0, 1]``, RGB.
        """
        if kwargs:
            logger.debug("YoloImageProcessor.preprocess ignores %s", sorted(kwargs))
        arrays = [to_rgb_array(img, input_data_format) for img in _flatten_images(images)]
        if not arrays:
            raise ValueError("No images given to YoloImageProcessor")
        if annotations is not None and minimal_padding is None:
            minimal_padding = False  # training samples are batched later: one fixed square input size
        geometry = self.letterbox_geometry([a.shape[:2] for a in arrays], image_size, minimal_padding)
        fill = self.pad_value if pad_value is None else int(pad_value)
        padded = [letterbox_image(a, g, fill) for a, g in zip(arrays, geometry)]
        pixel_values = scaled_pixel_values(padded)
        data: dict[str, Any] = {"pixel_values": pixel_values}
        if return_letterbox:
            data.update(self._geometry_tensors(geometry))
        data = {k: as_return_type(v, return_tensors) for k, v in data.items()}
        if len(arrays) == 1 and return_tensors == "pt" and not self.scale_fill:
            # one image (how pipelines call): a later torch.cat with other shapes makes a batch that the models run
            # grouped by shape, each image at its own letterbox (processing.batching)
            data["pixel_values"] = letterboxed(data["pixel_values"], fill / 255)
        features = BatchFeature(data=data, tensor_type=return_tensors)
        if annotations is not None:
            from .processing.annotations import annotations_to_labels

            features["labels"] = annotations_to_labels(annotations, geometry, return_tensors)
        return features

    @staticmethod
    def _geometry_tensors(geometry: list[LetterboxGeometry]) -> dict[str, torch.Tensor]:
        """Per-image letterbox geometry as int64 tensors."""
        return {
            "original_sizes": torch.tensor([g.original_size for g in geometry], dtype=torch.int64),
            "resized_sizes": torch.tensor([g.resized_size for g in geometry], dtype=torch.int64),
            "paddings": torch.tensor([g.padding for g in geometry], dtype=torch.int64),
        }

    # ------------------------------------------------------------------ post-processing

    def post_process_object_detection(
        self,
        outputs: Any,
        threshold: float | None = None,
        target_sizes: SizeLike | Sequence[SizeLike] | None = None,
        *,
        iou_threshold: float | None = None,
        max_det: int | None = None,
        agnostic_nms: bool | None = None,
        end_to_end: bool | None = None,
        input_size: Sequence[int] | None = None,
        top_k: int | None = None,
    ) -> list[dict[str, torch.Tensor]]:
        """Turn raw head outputs into detections in original-image pixels (or relative to the input, see below).

        Args:
            outputs: Model output (or mapping) with ``logits`` ``(B, A, C)`` raw class logits (before sigmoid)
                and ``pred_boxes`` ``(B, A, 4)`` normalised ``(cx, cy, w, h)`` relative to the network input
                width/height. Computed in float32.
            threshold: Keep detections scoring strictly above this; None uses ``conf_threshold``.
            target_sizes: ``(B, 2)`` ``(height, width)`` of the original images (list or tensor). The network
                input size and letterbox are recomputed from them with the preprocessing rule. None follows
                transformers' detectors (DETR, RT-DETR: "predictions will not be resized"): boxes are ``(x1, y1,
                x2, y2)`` relative to the processed input (``pixel_values``, padding included), in ``[0, 1]``.
            iou_threshold: Override of ``self.iou_threshold``.
            max_det: Override of ``self.max_det``.
            agnostic_nms: Override of ``self.agnostic_nms``.
            end_to_end: Override of ``self.end_to_end`` (top-k selection instead of NMS).
            input_size: ``(height, width)`` of the network input actually used (``pixel_values.shape[-2:]``),
                when it differs from what the preprocessing rule gives for ``target_sizes``.
            top_k: Keep at most the ``top_k`` highest-scoring detections per image (as Deformable DETR's and
                RF-DETR's ``top_k``); overrides ``max_det``, which is the same limit under Ultralytics' name. For an
                end-to-end head it is the number of candidates taken before the threshold, as Ultralytics does.

        Returns:
            One dict per image: ``scores`` ``(N,)`` float32, ``labels`` ``(N,)`` int64 and ``boxes`` ``(N, 4)``
            float32 absolute ``(x1, y1, x2, y2)`` pixels of the original image (relative to the input without
            ``target_sizes``), ordered by descending score. For an oriented-box model
            (outputs with ``pred_angles``) the boxes are the axis-aligned envelopes of the rotated boxes (Ultralytics'
            ``obb.xyxy``), selected by rotated NMS; see :meth:`post_process_oriented_object_detection`.
        """
        max_det = max_det if top_k is None else int(top_k)
        if is_oriented_output(outputs):
            results = oriented_as_axis_aligned(self, outputs, threshold, target_sizes, iou_threshold=iou_threshold,
                                               max_det=max_det, agnostic_nms=agnostic_nms, end_to_end=end_to_end,
                                               input_size=input_size)
            if target_sizes is None:
                for result, (height, width) in zip(results, self._input_sizes(len(results), None, input_size, outputs)):
                    result["boxes"] = result["boxes"] / result["boxes"].new_tensor([width, height, width, height])
            return results
        selected = self._decode_and_select(outputs, _EXPECTED, threshold, target_sizes, input_size, iou_threshold,
                                           max_det, agnostic_nms, end_to_end)
        results = []
        for i, det in enumerate(selected.kept):
            if selected.originals is None:  # relative to the input; NMS ran in pixels (IoU is scale-invariant)
                det_boxes = cxcywh_to_xyxy(selected.pred_boxes[i : i + 1, det.indices], [(1, 1)])[0]
            else:
                det_boxes = scale_boxes_to_original(selected.boxes[i][det.indices], selected.input_sizes[i],
                                                    selected.originals[i])
            results.append({"scores": det.scores, "labels": det.labels, "boxes": det_boxes})
        return results
