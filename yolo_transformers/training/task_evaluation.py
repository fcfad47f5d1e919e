"""Evaluate a model of any task with Ultralytics' own validator: its NMS, matching and metric classes.

Our model predicts (``model.ultralytics_outputs``: the head's inference tensors, rebuilt from the model's own
forward); the batches come from ``datasets`` rows of this package's schema, letterboxed by the model's processor and
laid out as Ultralytics' ``val`` dataloader lays them out (``img``, ``cls``, ``bboxes`` normalised to the input,
``batch_idx``, overlap ``masks`` at 1/4 resolution, ``keypoints``, ``semantic_mask``, ``depth`` ...); Ultralytics'
validator of the task (:func:`yolo_transformers.compat.standalone_validator`) then post-processes and scores them.
So every definition is Ultralytics' own:

- segment: box and mask P, R, mAP50, mAP50-95 (``SegmentMetrics``; masks compared at 1/4 input resolution);
- pose: box and pose P, R, mAP50, mAP50-95 (``PoseMetrics``; OKS with sigmas from ``kpt_shape``: COCO's 17 sigmas
  for ``[17, 3]``, else ``1 / K`` each, as ``PoseValidator`` chooses);
- obb: rotated-box P, R, mAP50, mAP50-95 (``OBBMetrics``, probabilistic IoU);
- classify: top-1 and top-5 accuracy (``ClassifyMetrics``);
- semantic: mIoU and pixel accuracy (``SemanticMetrics``, 255 ignored);
- depth: ``DepthMetrics`` (Depth Anything's protocol): each image's prediction is first scaled so its median matches
  the ground truth's (per-image median alignment, so the metrics judge relative depth), then δ1-δ3 (share of pixels
  with max(pred/gt, gt/pred) < 1.25, 1.25², 1.25³), abs_rel (mean of |pred - gt| / gt), rmse (metres) and silog
  (scale-invariant log error × 100), averaged over images, on pixels with 0.001 m < gt < ``max_depth`` (data.yaml's
  ``max_depth``, default 100 m).

Differences from ``yolo val``: inputs are letterboxed to the full square ``image_size`` (``val(rect=False)``) with the
predictor's bilinear resize, enlarging small images (``val`` never enlarges and shrinks with ``INTER_AREA``); on
images whose long side equals ``image_size`` the inputs are identical.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..compat import standalone_validator
from ..data.dense import DEFAULT_DEPTH_SCALE
from ..data.metadata import YoloMetadata, read_metadata
from ..errors import DatasetFormatError
from ..processing.letterbox import LetterboxGeometry, to_rgb_array
from ..tasks import TASK_SPECS
from .task_targets import depth_label, input_polygons, label_lut, object_labels, semantic_label

__all__ = ["evaluate_task"]

logger = logging.getLogger(__name__)

_REQUIRED = {"classify": "label", "semantic": "annotation", "depth": "depth_map"}


def _metadata(dataset: Any) -> YoloMetadata | None:
    try:
        return read_metadata(dataset)
    except DatasetFormatError:
        return None


def _ratio_pad(g: LetterboxGeometry) -> tuple[tuple[float, float], tuple[float, float]]:
    """Ultralytics' ``ratio_pad``: ``((gain_h, gain_w), (pad_w, pad_h))``."""
    return ((g.resized_size[0] / g.original_size[0], g.resized_size[1] / g.original_size[1]),
            (float(g.padding[2]), float(g.padding[0])))


def _object_batch(task: str, rows: Mapping[str, list], geometry: list[LetterboxGeometry], pixel_values: torch.Tensor,
                  kpt_shape: Any) -> dict[str, Any]:
    """Ultralytics' val batch of a detection-like task (letterboxed labels, normalised to the input)."""
    from ultralytics.data.utils import polygons2masks_overlap
    from ultralytics.utils.ops import resample_segments

    height, width = pixel_values.shape[-2:]
    indices, classes, boxes, keypoints, masks = [], [], [], [], []
    for i, (objects, g) in enumerate(zip(rows["objects"], geometry)):
        label = object_labels(task, objects, g, kpt_shape=kpt_shape, index=i)
        order = np.arange(len(label["class_labels"]))
        if task == "segment":
            segments = resample_segments(input_polygons(objects, g), n=1000) if len(order) else []
            overlap, order = polygons2masks_overlap((height, width), segments, downsample_ratio=4)
            masks.append(torch.from_numpy(overlap.astype(np.float32)))
        indices.append(torch.full((len(order),), float(i)))
        classes.append(label["class_labels"][order].view(-1, 1))
        boxes.append(label["boxes"][order])
        if task == "pose":
            keypoints.append(label["keypoints"][order])
    batch: dict[str, Any] = {
        "img": pixel_values * 255.0,
        "batch_idx": torch.cat(indices),
        "cls": torch.cat(classes),
        "bboxes": torch.cat(boxes),
        "ori_shape": [g.original_size for g in geometry],
        "ratio_pad": [_ratio_pad(g) for g in geometry],
        "im_file": [str(n) for n in rows.get("file_name") or range(len(geometry))],
    }
    if task == "segment":
        batch["masks"] = torch.stack(masks)
    if task == "pose":
        batch["keypoints"] = torch.cat(keypoints)
    return batch


class _Batches:
    """Builds the model input and Ultralytics' val batch for one slice of rows."""

    def __init__(self, model: Any, processor: Any, meta: YoloMetadata | None, image_size: Any) -> None:
        self.task = model.config.task
        self.processor, self.image_size = processor, image_size
        self.kpt_shape = (model.config.architecture or {}).get("kpt_shape")
        extra = (meta.extra if meta else None) or {}
        self.depth_scale = float(extra.get("depth_scale", DEFAULT_DEPTH_SCALE))
        self.lut = label_lut(extra.get("label_mapping"))

    def __call__(self, rows: Mapping[str, list]) -> tuple[torch.Tensor, dict[str, Any]]:
        arrays = [to_rgb_array(image) for image in rows["image"]]
        if self.task == "classify":
            pixel_values = self.processor(arrays, return_tensors="pt")["pixel_values"]
            return pixel_values, {"img": pixel_values, "cls": torch.as_tensor(rows["label"], dtype=torch.long)}
        geometry = self.processor.letterbox_geometry([a.shape[:2] for a in arrays], self.image_size, False)
        pixel_values = self.processor(arrays, image_size=self.image_size, minimal_padding=False,
                                      return_tensors="pt")["pixel_values"]
        if self.task == "semantic":
            maps = [semantic_label(v, g, self.lut) for v, g in zip(rows["annotation"], geometry)]
            return pixel_values, {"img": pixel_values * 255.0, "semantic_mask": torch.stack(maps),
                                  "ori_shape": [g.original_size for g in geometry],
                                  "ratio_pad": [_ratio_pad(g) for g in geometry]}
        if self.task == "depth":
            maps = [depth_label(v, g, self.depth_scale) for v, g in zip(rows["depth_map"], geometry)]
            return pixel_values, {"img": pixel_values * 255.0, "depth": torch.stack(maps)}
        return pixel_values, _object_batch(self.task, rows, geometry, pixel_values, self.kpt_shape)


@torch.no_grad()
def evaluate_task(
    model: Any,
    dataset: Any,
    processor: Any = None,
    *,
    batch_size: int = 8,
    conf_threshold: float | None = None,
    iou_threshold: float = 0.7,
    max_det: int = 300,
    image_size: int | Sequence[int] | None = None,
) -> dict[str, float]:
    """Ultralytics' validation metrics of ``model`` (any task) on one split of this package's schema.

    Args:
        model: A ``YoloFor...`` model; evaluated in eval mode (its mode is restored after).
        dataset: A ``datasets.Dataset`` of the model's task (classification also accepts any Hub ``image`` +
            ``label`` dataset).
        processor: The model's image processor (default built from ``model.config``).
        batch_size: Images per forward pass.
        conf_threshold: Ultralytics ``val`` ``conf`` (detection-like tasks); None keeps Ultralytics' default (0.01
            for obb, 0.001 otherwise).
        iou_threshold: Ultralytics ``val`` ``iou`` (NMS).
        max_det: Ultralytics ``val`` ``max_det``.
        image_size: Input size, default the processor's.

    Returns:
        Ultralytics' ``results_dict`` without the ``metrics/`` prefix and without ``fitness``: e.g.
        ``{"precision(B)", "recall(B)", "mAP50(B)", "mAP50-95(B)", "precision(M)", ...}`` (segment),
        ``{"accuracy_top1", "accuracy_top5"}`` (classify), ``{"mIoU", "pixel_accuracy"}`` (semantic) or the depth
        metrics; floats.

    Raises:
        DatasetFormatError: The dataset lacks the task's columns.
    """
    from ..image_processing_auto import processor_for_config

    task = model.config.task
    needed = _REQUIRED.get(task, "objects")
    if needed not in dataset.column_names or "image" not in dataset.column_names:
        raise DatasetFormatError(
            f"evaluating a {task} model needs 'image' and '{needed}' columns ({TASK_SPECS[task].dataset_task} "
            f"schema), got {dataset.column_names}."
        )
    meta = _metadata(dataset)
    processor = processor or processor_for_config(model.config)
    names = {int(k): str(v) for k, v in (model.config.id2label or {}).items()}
    data = {"kpt_shape": list(model.config.architecture.get("kpt_shape") or [])} if task == "pose" else {}
    if task == "depth" and meta and (meta.extra or {}).get("max_depth"):
        data["max_depth"] = float(meta.extra["max_depth"])
    args = {"iou": iou_threshold, "max_det": max_det, "batch": batch_size}
    if conf_threshold is not None:
        args["conf"] = conf_threshold
    end2end = bool(model.config.end_to_end) and TASK_SPECS[task].parity == "detections"  # the head runs config's
    batches = _Batches(model, processor, meta, image_size)
    was_training = model.training
    model.eval()
    with tempfile.TemporaryDirectory(prefix="yolo-eval-") as save_dir:
        validator = standalone_validator(task, names=names, data=data, args=args, end2end=end2end, save_dir=save_dir)
        try:
            for start in range(0, len(dataset), batch_size):
                pixel_values, batch = batches(dataset[start : start + batch_size])
                raw = model.ultralytics_outputs(pixel_values.to(model.device, model.dtype))
                raw = tuple(t.float().cpu() for t in raw) if isinstance(raw, tuple) else raw.float().cpu()
                batch = validator.preprocess(batch)
                validator.update_metrics(validator.postprocess(raw), batch)
        finally:
            model.train(was_training)
        results = validator.get_stats()
    metrics = {k.removeprefix("metrics/"): float(v) for k, v in results.items() if k != "fitness"}
    logger.info("evaluated %d %s images: %s", len(dataset), task, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return metrics
