"""``evaluate``: Ultralytics-equal metrics of a YOLO model of any task on a ``datasets`` dataset.

Detection is scored here, with pycocotools (below); every other task goes to
:func:`yolo_transformers.training.task_evaluation.evaluate_task`, which feeds the model's predictions to Ultralytics'
own validator of the task (box/mask/pose/rotated mAP, top-1/top-5, mIoU and pixel accuracy, depth metrics).

The detector runs as Ultralytics' ``val`` runs it: every image letterboxed to the square ``image_size`` (Ultralytics
``rect=False``), confidence threshold 0.001, **multi-label** class-aware NMS at IoU 0.7 (every class scoring above
the threshold is a candidate, as in ``DetectionValidator``), at most 300 detections per image, boxes mapped back
to the original image. Metrics come from pycocotools (see :mod:`yolo_transformers.training.coco_metrics`).

How close to ``yolo val``: since Ultralytics 8.4 its matching is score-greedy like COCO's and its AP stops at the
highest recall reached, so the two differ only in how the 101-point precision envelope is integrated (a
trapezoid over linearly interpolated points vs. COCO's step sampling) — a few thousandths of mAP50-95 on real
models. Inputs differ when ``yolo val`` resizes: its dataloader shrinks large images with ``cv2.INTER_AREA`` and
batches them by aspect ratio (``rect=True`` plus half a stride of padding), while this function uses the
predictor's letterbox (bilinear, full square). On images already ``image_size`` square the inputs are identical.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torchvision

from .coco_metrics import CocoAccumulator, coco_metrics
from .task_evaluation import evaluate_task
from ..processing.letterbox import scale_boxes_to_original, to_rgb_array
from ..processing.pixel_values import scaled_pixel_values
from ..processing.rect_batches import boxes_to_original, place_in_batch, rect_batches
from ..errors import DatasetFormatError

__all__ = ["evaluate", "ultralytics_metrics", "record_metrics", "evaluation_split", "METRIC_KEYS"]

logger = logging.getLogger(__name__)

#: ``evaluate`` keys -> Ultralytics' result column names (what ``config.metrics`` and model cards use).
METRIC_KEYS = {
    "precision": "metrics/precision(B)",
    "recall": "metrics/recall(B)",
    "mAP50": "metrics/mAP50(B)",
    "mAP50-95": "metrics/mAP50-95(B)",
}

_SPLIT_PREFERENCE = ("validation", "val", "valid", "test")
_MAX_NMS = 30000  # Ultralytics' cap on boxes entering NMS
_MAX_WH = 7680  # Ultralytics' per-class coordinate offset


def evaluation_split(dataset: Any, split: str | None = None) -> Any:
    """Pick the split to evaluate on.

    Args:
        dataset: A ``datasets.Dataset``, a ``DatasetDict``, or a YOLO ``data.yaml`` / dataset folder.
        split: Split name; default the first of ``validation``, ``val``, ``valid``, ``test`` present.

    Returns:
        A ``datasets.Dataset`` with the Hub detection schema.

    Raises:
        DatasetFormatError: The split does not exist.
    """
    if isinstance(dataset, (str, os.PathLike)):
        from ..data.from_yolo import load_yolo_dataset

        dataset = load_yolo_dataset(dataset, splits=[split] if split else None)
    if isinstance(dataset, Mapping):
        from ..data.splits import hub_split_name

        names = list(dataset)
        if split and split not in dataset and hub_split_name(split) in dataset:
            split = hub_split_name(split)  # "val" (Ultralytics' name) is the DatasetDict's "validation"
        chosen = split or next((s for s in _SPLIT_PREFERENCE if s in dataset), None)
        if chosen not in dataset:
            raise DatasetFormatError(f"no split {chosen or 'validation/val/test'!r} to evaluate on; splits: {names}.")
        logger.info("evaluating on split %r", chosen)
        dataset = dataset[chosen]
    return dataset


def _multi_label_nms(
    scores: torch.Tensor, boxes: torch.Tensor, conf_threshold: float, iou_threshold: float, max_det: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ultralytics' validation NMS for one image: every (anchor, class) above the threshold is a candidate.

    Args:
        scores: `(A, C)` class probabilities.
        boxes: `(A, 4)` ``(x1, y1, x2, y2)`` network-input pixels.
        conf_threshold: Keep candidates scoring strictly above this.
        iou_threshold: Class-aware NMS IoU threshold.
        max_det: Detections kept.

    Returns:
        ``(boxes (N, 4), scores (N,), classes (N,))``, best first.
    """
    anchors, classes = torch.where(scores > conf_threshold)
    confidence = scores[anchors, classes]
    if confidence.numel() > _MAX_NMS:
        top = confidence.argsort(descending=True)[:_MAX_NMS]
        anchors, classes, confidence = anchors[top], classes[top], confidence[top]
    candidates = boxes[anchors]
    keep = torchvision.ops.nms(candidates + classes[:, None].to(candidates.dtype) * _MAX_WH, confidence, iou_threshold)
    keep = keep[:max_det]
    return candidates[keep], confidence[keep], classes[keep]


def _selected_detections(
    outputs: Any, input_size: tuple[int, int], processor: Any, conf: float, iou: float, max_det: int
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The detections ``yolo val`` keeps from a batch's outputs: multi-label NMS, or the end-to-end head's top-k.

    Args:
        outputs: The model's outputs (``logits`` `(B, A, C)`, ``pred_boxes`` `(B, A, 4)` normalised cxcywh).
        input_size: ``(height, width)`` of the network input, pixels.
        processor: The model's processor (its ``end_to_end`` and end-to-end selection).
        conf, iou, max_det: Ultralytics ``val``'s thresholds and detection cap.

    Returns:
        Per image ``(boxes (N, 4) xyxy network-input pixels, scores (N,), classes (N,))``, best first.
    """
    height, width = input_size
    scale = outputs.pred_boxes.new_tensor([width, height, width, height])
    centre, size = (outputs.pred_boxes.float() * scale).split(2, dim=-1)
    boxes = torch.cat((centre - size / 2, centre + size / 2), dim=-1)
    scores = outputs.logits.float().sigmoid()
    if processor.end_to_end:
        kept = processor.select_detections(scores, boxes, conf, iou, max_det, end_to_end=True)
        return [(boxes[i][k.indices], k.scores, k.labels) for i, k in enumerate(kept)]
    return [_multi_label_nms(s, b, conf, iou, max_det) for s, b in zip(scores, boxes)]


def _detect(
    model: Any, processor: Any, images: list[np.ndarray], image_size: Any, conf: float, iou: float, max_det: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Detections per image: ``(boxes (N, 4) xyxy original pixels, scores (N,), classes (N,))``."""
    pixel_values = processor(images=images, image_size=image_size, minimal_padding=False)["pixel_values"]
    input_size = tuple(pixel_values.shape[-2:])
    selected = _selected_detections(model(pixel_values=pixel_values), input_size, processor, conf, iou, max_det)
    results = []
    for image, (det_boxes, det_scores, det_classes) in zip(images, selected):
        det_boxes = scale_boxes_to_original(det_boxes, input_size, image.shape[:2])
        results.append((det_boxes.cpu().numpy(), det_scores.cpu().numpy(), det_classes.cpu().numpy()))
    return results


def _detect_rect(
    model: Any, processor: Any, images: list[np.ndarray], image_size: int, batch_size: int, conf: float, iou: float,
    max_det: int,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """Detections per image, in dataset order, batched as ``yolo val``'s default ``rect=True`` batches them."""
    stride = int(model.config.max_stride)
    results: list[Any] = [None] * len(images)
    for indices, shape in rect_batches([image.shape[:2] for image in images], image_size, stride, batch_size):
        placed = [place_in_batch(images[i], image_size, shape, stride) for i in indices]
        outputs = model(pixel_values=scaled_pixel_values([array for array, _ in placed]))
        selected = _selected_detections(outputs, shape, processor, conf, iou, max_det)
        for i, (_, placement), (det_boxes, det_scores, det_classes) in zip(indices, placed, selected):
            det_boxes = boxes_to_original(det_boxes, placement)
            results[i] = (det_boxes.cpu().numpy(), det_scores.cpu().numpy(), det_classes.cpu().numpy())
    return results


def _class_names(model: Any, dataset: Any) -> list[str]:
    """Class names by index: the dataset's ``ClassLabel`` names, else the model's ``id2label``."""
    try:
        return list(dataset.features["objects"]["category"].feature.names)
    except (AttributeError, KeyError, TypeError):
        return [model.config.id2label[i] for i in range(model.config.num_labels)]


@torch.no_grad()
def evaluate(
    model: Any,
    dataset: Any,
    processor: Any = None,
    *,
    batch_size: int = 8,
    conf_threshold: float | None = None,
    iou_threshold: float = 0.7,
    max_det: int = 300,
    image_size: int | list[int] | None = None,
    split: str | None = None,
    rect: bool = False,
) -> dict[str, float]:
    """COCO mAP50-95, mAP50, mAP75, precision and recall of a detector on a detection dataset; Ultralytics' metrics
    of any other task (see :func:`~yolo_transformers.training.task_evaluation.evaluate_task` for their names).

    Args:
        model: A ``YoloFor...`` model (evaluated in eval mode; its train/eval mode is restored after).
        dataset: A ``datasets.Dataset`` (or ``DatasetDict``, or YOLO ``data.yaml``/folder) with the Hub detection
            schema: ``image``, ``objects: {bbox (COCO x, y, w, h pixels), category}``.
        processor: The model's ``YoloImageProcessor``; default one built from ``model.config``.
        batch_size: Images per forward pass.
        conf_threshold: Detections scoring at or below this are dropped (default: Ultralytics ``val``'s, 0.001; 0.01
            for obb).
        iou_threshold: NMS IoU threshold (Ultralytics ``val`` default 0.7).
        max_det: Detections kept per image (Ultralytics' 300; also COCO's ``maxDets``).
        image_size: Letterbox size, default the processor's ``image_size``.
        split: Split of a ``DatasetDict`` / YOLO dataset (default ``validation``, ``val``, ``valid`` or ``test``).
        rect: Batch as ``yolo val`` does by default (``rect=True``): images sorted by aspect ratio, each batch of
            ``batch_size`` letterboxed (never enlarged) into its own stride-multiple shape with half a stride of
            padding, after resizing every image to ``image_size`` on its long side. ``rect=True, batch_size=16``
            reproduces the default ``yolo val``; False (default) letterboxes every image to the full square, as
            ``yolo val rect=False``.

    Returns:
        ``{"mAP50-95", "mAP50", "mAP75", "precision", "recall"}``, floats in ``[0, 1]``; precision and recall
        at the confidence of best mean F1, as Ultralytics reports them.

    Raises:
        DatasetFormatError: No usable split, or rows without the detection schema.
    """
    from ..auto import processor_for_config

    dataset = evaluation_split(dataset, split).with_format(None)
    if model.config.task != "detect":
        return evaluate_task(model, dataset, processor, batch_size=batch_size, conf_threshold=conf_threshold,
                             iou_threshold=iou_threshold, max_det=max_det, image_size=image_size)
    conf_threshold = 0.001 if conf_threshold is None else conf_threshold
    if "objects" not in dataset.column_names or "image" not in dataset.column_names:
        raise DatasetFormatError(
            "evaluate needs the detection schema (image, objects{bbox, category}), got columns "
            f"{dataset.column_names}."
        )
    processor = processor or processor_for_config(model.config)
    accumulator = CocoAccumulator(_class_names(model, dataset))
    was_training = model.training
    model.eval()
    try:
        if rect:
            size = int(image_size if isinstance(image_size, int) else max(model.config.image_hw))
            images = [to_rgb_array(image) for image in dataset["image"]]
            detections = _detect_rect(model, processor, images, size, batch_size, conf_threshold, iou_threshold,
                                      max_det)  # fmt: skip
            for image, objects, (boxes, scores, classes) in zip(images, dataset["objects"], detections):
                accumulator.add_image(*image.shape[:2], np.asarray(objects["bbox"], dtype=float).reshape(-1, 4),
                                      np.asarray(objects["category"]), boxes, scores, classes)  # fmt: skip
        for start in range(0, len(dataset) if not rect else 0, batch_size):
            rows = dataset[start : start + batch_size]
            images = [to_rgb_array(image) for image in rows["image"]]
            detections = _detect(model, processor, images, image_size, conf_threshold, iou_threshold, max_det)
            for image, objects, (boxes, scores, classes) in zip(images, rows["objects"], detections):
                accumulator.add_image(*image.shape[:2], np.asarray(objects["bbox"], dtype=float).reshape(-1, 4),
                                      np.asarray(objects["category"]), boxes, scores, classes)  # fmt: skip
    finally:
        model.train(was_training)
    metrics = coco_metrics(accumulator, max_det)
    logger.info("evaluated %d images, %d boxes: %s", len(accumulator.images), len(accumulator.annotations),
                ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))  # fmt: skip
    return metrics


def ultralytics_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Rename :func:`evaluate`'s keys to Ultralytics' columns (``metrics/mAP50-95(B)``, ``metrics/mIoU``, ...).

    Detection's short keys map through :data:`METRIC_KEYS` (``mAP75`` has no Ultralytics column and is dropped);
    other tasks' keys are Ultralytics' own and get the ``metrics/`` prefix back.
    """
    if any(key in METRIC_KEYS for key in metrics):
        return {column: float(metrics[key]) for key, column in METRIC_KEYS.items() if key in metrics}
    return {f"metrics/{key}": float(value) for key, value in metrics.items()}


def record_metrics(model: Any, metrics: Mapping[str, float], *, dataset: str | None = None,
                   split: str | None = None) -> dict[str, float]:  # fmt: skip
    """Store evaluated metrics in ``model.config.metrics`` (Ultralytics' keys), where model cards read them.

    Args:
        model: The evaluated model.
        metrics: :func:`evaluate`'s result.
        dataset: The evaluation dataset for the card's model-index: a Hub dataset id (``alice/shapes``) or a local
            ``data.yaml``/folder (stored resolved, so the card can name its folder); stored as
            ``config.train_args["data"]``.
        split: The evaluated split, stored as ``config.train_args["split"]``.

    Returns:
        The stored ``config.metrics``.
    """
    model.config.metrics = ultralytics_metrics(metrics)
    if dataset is not None or split is not None:
        train_args = dict(model.config.train_args or {})
        if dataset is not None:
            local = Path(dataset).expanduser()
            train_args["data"] = str(local.resolve()) if local.exists() else str(dataset)
        if split is not None:
            train_args["split"] = split
        model.config.train_args = train_args
    return model.config.metrics
