"""Ultralytics' training augmentation for segment, pose, obb, semantic and depth rows (the detect pipeline's subclass).

:class:`AugmentedTaskDataset` reads rows of this package's schema (:mod:`yolo_transformers.data.features`) into the
label dicts Ultralytics' task datasets build, and runs them through the pipeline of
:class:`~.augmentation.AugmentedDetectionDataset` (Ultralytics' ``v8_transforms``: mosaic, random perspective, HSV,
flips; ``close_mosaic``), closed by the ``format_class`` of Ultralytics' dataset class for the task
(``TaskSpec.training_dataset``):

* segment (``YOLODataset(task="segment")``): each object's first polygon, normalised and resampled to 1000 points
  as ``update_labels_info`` does, its box from the polygon (``segments2boxes``); ``Format`` rasterises the masks
  after the geometry (``mask_ratio``, ``overlap_mask``);
* pose: keypoints ``(N, K, 3)`` (``(N, K, 2)`` gains visibility 1, 0 for negative coordinates, as Ultralytics'
  label reader does); ``data = {kpt_shape, flip_idx}``, so ``RandomFlip`` re-orders keypoints through ``flip_idx``
  (without one Ultralytics turns the flips off, with a warning);
* obb: the 4 corners as the segment (resampled to 100 points), ``RandomPerspective(preserve_obb=True)``, and
  ``Format(return_obb=True)`` turns corners into ``xywhr`` with Ultralytics' ``xyxyxyxy2xywhr``;
* semantic (``SemanticDataset``): the ``annotation`` mask (``label_mapping`` applied) as ``semantic_mask``,
  resized nearest to the loaded image, which has its short side at ``imgsz``; ``SemanticFormat``;
* depth (``DepthDataset``): the ``depth_map`` in metres as ``depth``; mosaic, mixup, cutmix and copy-paste off
  (``TaskSpec.augmentation_off``); ``DepthFormat``.

Items: ``{"pixel_values": (3, S, S) float32 RGB in [0, 1], "labels": ...}`` with the labels
:func:`~.task_transform.collate_task_batch` batches and the model's loss takes (:mod:`..loss.targets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import torch

from ..data.dense import DEFAULT_DEPTH_SCALE, decode_depth, decode_mask
from ..data.metadata import YoloMetadata
from ..errors import DatasetFormatError, UnsupportedTaskError
from ..tasks import TASK_SPECS
from .augmentation import AugmentedDetectionDataset
from .task_targets import label_lut

__all__ = ["AugmentedTaskDataset"]

#: Points per resampled segment: Ultralytics' ``update_labels_info`` (oriented boxes keep fewer).
_SEGMENT_POINTS = {"segment": 1000, "obb": 100}


class AugmentedTaskDataset(AugmentedDetectionDataset):
    """Rows of a segment, pose, obb, semantic or depth dataset, augmented by Ultralytics' training transforms.

    Args:
        rows: A ``datasets.Dataset`` of the task's schema.
        image_size: Square training size in pixels (Ultralytics ``imgsz``).
        task: ``segment``, ``pose``, ``obb``, ``semantic`` or ``depth``.
        metadata: The dataset's YOLO metadata (``kpt_shape`` and ``flip_idx`` for pose; ``depth_scale``,
            ``label_mapping``), default read from ``rows``.
        hyperparameters: Ultralytics augmentation settings overriding ``default.yaml``.
        seed: Seed of the augmentation draws.

    Labels per item: segment ``{class_labels (N,), boxes (N, 4) normalized cxcywh, masks (N, S/r, S/r) uint8}``
    (with ``overlap_mask`` the masks are Ultralytics' overlap map split per object, so they do not overlap), pose
    ``{class_labels, boxes, keypoints (N, K, 3) normalized}``, obb ``{class_labels, boxes (N, 5) normalized xywh +
    radians}``, semantic ``(S, S)`` int64 class ids (255 ignore), depth ``(S, S)`` float32 metres (0 invalid).

    Raises:
        UnsupportedTaskError: ``task`` is detect or classify (see :class:`AugmentedDetectionDataset`,
            :class:`~.classify_augmentation.AugmentedClassificationDataset`) or not a task.
        DatasetFormatError: A pose dataset without ``kpt_shape``.
    """

    def __init__(self, rows: Any, image_size: int, *, task: str, metadata: YoloMetadata | None = None,
                 hyperparameters: Mapping[str, Any] | None = None, seed: int = 0) -> None:  # fmt: skip
        spec = TASK_SPECS.get(task)
        if spec is None or task == "detect" or spec.training_dataset not in {"YOLODataset", "SemanticDataset",
                                                                             "DepthDataset"}:
            raise UnsupportedTaskError(
                f"AugmentedTaskDataset serves segment, pose, obb, semantic and depth, not {task!r}. Fix: "
                "training_dataset(config, rows, augment=True) picks the dataset class of every task."
            )
        from ultralytics.data import dataset as ultralytics_datasets

        if metadata is None:
            from ..data.metadata import read_metadata

            metadata = read_metadata(rows)
        self.task = task
        self.use_segments, self.use_keypoints, self.use_obb = task == "segment", task == "pose", task == "obb"
        self.format_class_name = getattr(ultralytics_datasets, spec.training_dataset).format_class.__name__
        self.resize_short = spec.resize_short_side
        self.column = spec.dense_column
        extra = metadata.extra or {}
        self.depth_scale = float(extra.get("depth_scale", DEFAULT_DEPTH_SCALE))
        self.lut = label_lut(extra.get("label_mapping"))
        if task == "pose":
            if not metadata.kpt_shape:
                raise DatasetFormatError(
                    "a pose dataset needs 'kpt_shape' ([keypoints, 2 or 3]) in its metadata to be augmented. Fix: add "
                    "kpt_shape to data.yaml and reload it with load_yolo_dataset, or pass metadata=."
                )
            self.data = {"kpt_shape": list(metadata.kpt_shape), "flip_idx": list(metadata.flip_idx or [])}
        forced = dict.fromkeys(spec.augmentation_off, 0.0)  # what Ultralytics' dataset class turns off
        super().__init__(rows, image_size, hyperparameters={**(hyperparameters or {}), **forced}, seed=seed)

    def get_image_and_label(self, index: int) -> dict[str, Any]:
        """One row as the label dict of Ultralytics' task dataset (``img`` BGR, ``cls``, ``instances`` normalized;
        ``semantic_mask`` / ``depth`` at the loaded image's size)."""
        from ultralytics.utils.instance import Instances

        index = int(index)
        objects = self._objects.get(index) if self.column is None else None
        # One row read (it decodes the image) serves the image and the labels; none when both are cached.
        row = self.rows[index] if self.column is not None or objects is None else None
        image, (h0, w0) = self._load_image(index, row)
        height, width = image.shape[:2]
        label: dict[str, Any] = {
            "im_file": f"row-{index}", "img": image.copy(), "ori_shape": (h0, w0), "resized_shape": (height, width),
            "ratio_pad": (height / h0, width / w0),
        }  # fmt: skip
        if self.column is not None:  # per-pixel targets: no instances
            label["cls"] = np.zeros(0, dtype=np.float32)
            label["instances"] = Instances(np.zeros((0, 4), np.float32), np.zeros((0, 1000, 2), np.float32), None,
                                           bbox_format="xywh", normalized=True)  # fmt: skip
            target = self._dense_target(row[self.column], index)
            if target.shape[:2] != (height, width):
                target = cv2.resize(target, (width, height), interpolation=cv2.INTER_NEAREST)
            label["semantic_mask" if self.task == "semantic" else "depth"] = target
            return label
        if objects is None:
            objects = self._objects[index] = row["objects"]
        label["cls"] = np.asarray(objects.get("category") or [], dtype=np.float32).reshape(-1, 1)
        label["instances"] = self._instances(objects, (h0, w0), index, len(label["cls"]))
        return label

    def _dense_target(self, value: Any, index: int) -> np.ndarray:
        """The row's ``annotation`` as a uint8 class-id mask (``label_mapping`` applied), or ``depth_map`` as
        float32 metres, at the map's own size."""
        if self.task == "depth":
            return decode_depth(value, self.depth_scale)
        data = value.get("bytes") if isinstance(value, Mapping) else None
        ids = decode_mask(data, f"row {index} annotation") if data is not None else np.asarray(value)
        ids = np.clip(ids.astype(np.int64), 0, 255)
        return (self.lut[ids] if self.lut is not None else ids).astype(np.uint8)

    def _instances(self, objects: Mapping[str, Any], shape: tuple[int, int], index: int, count: int) -> Any:
        """Ultralytics' ``Instances`` of one row's objects, normalized ``xywh`` boxes."""
        from ultralytics.utils.instance import Instances
        from ultralytics.utils.ops import resample_segments, segments2boxes

        h0, w0 = shape
        scale = np.array([w0, h0], dtype=np.float32)
        field = {"segment": "segmentation", "pose": "keypoints", "obb": "obb"}[self.task]
        values = list(objects.get(field) or [])
        if len(values) != count:
            raise DatasetFormatError(f"row {index}: {len(values)} '{field}' for {count} categories; pass one each.")
        keypoints = None
        points = _SEGMENT_POINTS.get(self.task, 1000)
        segments = np.zeros((0, points, 2), dtype=np.float32)
        if self.task == "pose":
            boxes = np.asarray(objects.get("bbox") or [], dtype=np.float32).reshape(-1, 4)
            if len(boxes) != count:
                raise DatasetFormatError(f"row {index}: {len(boxes)} 'bbox' for {count} categories; pass one each.")
            xywh = np.concatenate((boxes[:, :2] + boxes[:, 2:] / 2, boxes[:, 2:]), axis=1) / np.tile(scale, 2)
            keypoints = self._keypoints(values, scale, index)
        else:
            polygons = [np.asarray(v[0] if self.task == "segment" and v else v, np.float32).reshape(-1, 2) / scale
                        for v in values]  # fmt: skip
            if any(len(p) < 3 for p in polygons):
                raise DatasetFormatError(f"row {index}: a '{field}' value has fewer than 3 points; fix the labels.")
            xywh = segments2boxes(polygons) if polygons else np.zeros((0, 4), np.float32)
            if polygons:  # Ultralytics' update_labels_info
                longest = max(len(p) for p in polygons)
                segments = np.stack(resample_segments(polygons, n=longest + 1 if longest > points else points), 0)
        return Instances(np.asarray(xywh, np.float32).reshape(-1, 4), segments, keypoints, bbox_format="xywh",
                         normalized=True)  # fmt: skip

    def _keypoints(self, values: list[Any], scale: np.ndarray, index: int) -> np.ndarray:
        """``(N, K, 3)`` normalized keypoints; 2-D keypoints get visibility 1 (0 where a coordinate is negative)."""
        k, dims = (int(v) for v in self.data["kpt_shape"])
        try:
            points = np.asarray(values, dtype=np.float32).reshape(len(values), k, dims)
        except ValueError:
            raise DatasetFormatError(
                f"row {index}: keypoints do not fit kpt_shape {[k, dims]}; every object needs {k} points of {dims} "
                "values. Fix the labels or the dataset's kpt_shape."
            ) from None
        xy = points[..., :2] / scale
        if dims == 3:
            return np.concatenate((xy, points[..., 2:3]), axis=-1)
        visible = np.where((points[..., 0] < 0) | (points[..., 1] < 0), 0.0, 1.0).astype(np.float32)
        return np.concatenate((xy, visible[..., None]), axis=-1)

    def _labels(self, sample: Mapping[str, Any]) -> Any:
        """The model's labels (see the class docstring) from the output of Ultralytics' ``Format`` subclass."""
        if self.task == "semantic":
            return sample["semantic_mask"].long()
        if self.task == "depth":
            return sample["depth"].reshape(sample["depth"].shape[-2:]).float()
        classes = sample["cls"].reshape(-1).long()
        if self.task == "obb":
            return {"class_labels": classes, "boxes": sample["bboxes"].reshape(-1, 5).float()}
        label = {"class_labels": classes, "boxes": sample["bboxes"].reshape(-1, 4).float()}
        if self.task == "pose":
            label["keypoints"] = sample["keypoints"].float()
        elif self.task == "segment":
            masks = sample["masks"]
            if self.hyperparameters["overlap_mask"]:  # one index map: object i+1 -> its own mask
                ids = torch.arange(1, len(classes) + 1, dtype=masks.dtype).view(-1, 1, 1)
                masks = (masks.reshape(1, *masks.shape[-2:]) == ids)
            label["masks"] = masks.to(torch.uint8)
        return label
