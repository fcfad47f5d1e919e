"""Ultralytics' detection training augmentation over ``datasets`` rows, built from Ultralytics' own classes.

:class:`AugmentedDetectionDataset` gives Ultralytics' ``v8_transforms`` (``Mosaic``, ``RandomPerspective`` with
scale/translate, ``RandomHSV``, ``RandomFlip``, then ``Format``) the dataset interface they expect
(``get_image_and_label``, ``len``, ``buffer``), reading rows of the Hub detection schema (``image``,
``objects: {bbox (COCO x, y, w, h pixels), category}``). Images are loaded as Ultralytics' ``load_image`` loads
them for training: long side resized to ``image_size`` with ``cv2.INTER_LINEAR``.

Differences from Ultralytics' dataloader, on purpose:

* Mosaic partners are drawn uniformly from the whole dataset (Ultralytics' ``cache="ram"`` behaviour) instead of
  from a buffer of recently loaded images, whose content depends on the loading order;
* every sample runs under its own seed (``seed``, epoch, index): a run is reproducible whatever the number of
  dataloader workers, and the process' ``random``/``numpy``/``torch`` generators are restored after each sample.

``close_mosaic``: :class:`AugmentationSchedule` turns mosaic (and mixup/cutmix/copy-paste) off for the last
``close_mosaic`` epochs, as Ultralytics' trainer does.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback

from ..processing.letterbox import to_rgb_array

__all__ = ["AugmentedDetectionDataset", "AugmentationSchedule", "ultralytics_hyperparameters", "seeded_draws"]

logger = logging.getLogger(__name__)

#: Ultralytics' augmentation settings this module uses (their ``default.yaml`` values are the defaults).
_AUGMENTATION_KEYS = ("hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective", "flipud",
                      "fliplr", "bgr", "mosaic", "mixup", "cutmix", "copy_paste", "copy_paste_mode", "mask_ratio",
                      "overlap_mask", "close_mosaic", "erasing", "auto_augment")  # fmt: skip


def ultralytics_hyperparameters(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Ultralytics' default augmentation settings (``ultralytics/cfg/default.yaml``), with ``overrides`` applied.

    Raises:
        ValueError: An override names a setting that is not an augmentation setting.
    """
    from ultralytics.cfg import DEFAULT_CFG_DICT

    unknown = set(overrides or {}) - set(_AUGMENTATION_KEYS)
    if unknown:
        raise ValueError(f"unknown augmentation settings {sorted(unknown)}; known: {', '.join(_AUGMENTATION_KEYS)}.")
    return {**{key: DEFAULT_CFG_DICT[key] for key in _AUGMENTATION_KEYS}, **dict(overrides or {})}


@contextlib.contextmanager
def seeded_draws(*parts: int) -> Iterator[None]:
    """Seed Python's, numpy's and torch's (CPU) global generators from ``parts`` (what Ultralytics' transforms and
    torchvision's classification transforms draw from), then restore them."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    seed = int.from_bytes(digest[:4], "little")
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class AugmentedDetectionDataset(torch.utils.data.Dataset):
    """Rows of the Hub detection schema, augmented by Ultralytics' training transforms.

    Args:
        rows: A ``datasets.Dataset`` with ``image`` and ``objects: {bbox, category}``.
        image_size: Square training size in pixels (Ultralytics ``imgsz``).
        hyperparameters: Ultralytics augmentation settings overriding ``default.yaml`` (``mosaic``, ``scale``,
            ``hsv_h``, ``fliplr``, ...; see :func:`ultralytics_hyperparameters`).
        seed: Seed of the augmentation draws.

    Items are ``{"pixel_values": (3, S, S) float32 RGB in [0, 1], "labels": {"class_labels": (N,) int64, "boxes":
    (N, 4) float32 normalized (cx, cy, w, h)}}``, the batch format of :func:`~.transforms.collate_fn`.

    Subclasses (:mod:`.task_augmentation`) serve the other tasks through the same pipeline by setting the flags
    Ultralytics' ``YOLODataset`` sets (``use_segments``, ``use_keypoints``, ``use_obb``), its ``data`` dict
    (``flip_idx``, ``kpt_shape``), the ``Format`` class of its dataset class and ``resize_short`` (semantic), and by
    overriding :meth:`get_image_and_label` and :meth:`_labels`.
    """

    #: What Ultralytics' transforms read from their dataset (``YOLODataset`` attributes).
    use_keypoints = use_obb = use_segments = False
    data: Mapping[str, Any] = MappingProxyType({})
    #: Ultralytics' ``Format`` subclass closing the pipeline (``Format``, ``SemanticFormat``, ``DepthFormat``).
    format_class_name = "Format"
    #: Resize the short side (not the long side) to ``imgsz`` when loading (Ultralytics' semantic datasets).
    resize_short = False

    def __init__(self, rows: Any, image_size: int, *, hyperparameters: Mapping[str, Any] | None = None,
                 seed: int = 0) -> None:  # fmt: skip
        self.rows = rows.with_format(None)
        self.imgsz = int(image_size)
        self.hyperparameters = ultralytics_hyperparameters(hyperparameters)
        self.seed = int(seed)
        self.epoch = 0
        self.epochs: int | None = None  # length of the run, for close_mosaic
        self.mosaic_closed = False
        # what Ultralytics' mix transforms read from their dataset
        self.cache, self.buffer = "ram", []
        self.max_cached_images = min(len(self.rows), 1000)  # Ultralytics' mosaic buffer holds up to 1000
        self._images: dict[int, tuple[np.ndarray, tuple[int, int]]] = {}
        self._objects: dict[int, Any] = {}
        self.transforms = self._build()

    def _build(self) -> Any:
        """Ultralytics' ``v8_transforms`` + its ``Format`` (:attr:`format_class_name`) with the current settings."""
        from ultralytics.data import augment
        from ultralytics.utils import IterableSimpleNamespace

        settings = dict(self.hyperparameters)
        if self.mosaic_closed:  # Ultralytics' YOLODataset.close_mosaic
            settings.update(mosaic=0.0, copy_paste=0.0, mixup=0.0, cutmix=0.0)
        hyp = IterableSimpleNamespace(**settings)
        transforms = augment.v8_transforms(self, self.imgsz, hyp)
        format_class = getattr(augment, self.format_class_name)
        transforms.append(format_class(bbox_format="xywh", normalize=True, return_mask=self.use_segments,
                                       return_keypoint=self.use_keypoints, return_obb=self.use_obb, batch_idx=True,
                                       mask_ratio=hyp.mask_ratio, mask_overlap=hyp.overlap_mask, bgr=hyp.bgr))  # fmt: skip
        return transforms

    def __len__(self) -> int:
        return len(self.rows)

    def _load_image(self, index: int, row: Mapping[str, Any] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
        """Row ``index``'s image as Ultralytics' ``load_image`` gives it for training (BGR, long side ``imgsz``, or
        the short side with :attr:`resize_short`), kept in a bounded RAM cache as Ultralytics keeps recently loaded
        images for mosaic. ``row``: the row when the caller has already read it (a row read decodes its image)."""
        import cv2

        cached = self._images.get(index)
        if cached is not None:
            return cached
        row = self.rows[index] if row is None else row
        image = np.ascontiguousarray(to_rgb_array(row["image"])[..., ::-1])  # BGR, as cv2.imread
        h0, w0 = image.shape[:2]
        ratio = self.imgsz / (min(h0, w0) if self.resize_short else max(h0, w0))
        if ratio != 1 and self.resize_short:  # Ultralytics' load_image(resize_short=True)
            size = (int(np.ceil(w0 * ratio)), self.imgsz) if h0 < w0 else (self.imgsz, int(np.ceil(h0 * ratio)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        elif ratio != 1:
            size = (min(int(np.ceil(w0 * ratio)), self.imgsz), min(int(np.ceil(h0 * ratio)), self.imgsz))
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        if len(self._images) >= self.max_cached_images:
            self._images.pop(next(iter(self._images)))
        self._images[index] = (image, (h0, w0))
        return image, (h0, w0)

    def get_image_and_label(self, index: int) -> dict[str, Any]:
        """One row as Ultralytics' label dict: BGR image resized long side to ``imgsz``, normalized xywh boxes."""
        from ultralytics.utils.instance import Instances

        index = int(index)
        objects, row = self._objects.get(index), None
        if objects is None:  # one row read for both: reading a row decodes its image
            row = self.rows[index]
            objects = self._objects[index] = row["objects"]
        image, (h0, w0) = self._load_image(index, row)
        boxes = np.asarray(objects["bbox"], dtype=np.float32).reshape(-1, 4)
        xywh = np.concatenate((boxes[:, :2] + boxes[:, 2:] / 2, boxes[:, 2:]), axis=1) / np.float32([w0, h0, w0, h0])
        classes = np.asarray(objects["category"], dtype=np.float32).reshape(-1, 1)
        return {
            "im_file": f"row-{index}", "img": image.copy(), "ori_shape": (h0, w0), "resized_shape": image.shape[:2],
            "ratio_pad": (image.shape[0] / h0, image.shape[1] / w0), "cls": classes,
            "instances": Instances(xywh, np.zeros((0, 1000, 2), dtype=np.float32), None, bbox_format="xywh",
                                   normalized=True),
        }  # fmt: skip

    def __getitem__(self, index: int) -> dict[str, Any]:
        with seeded_draws(self.seed, self.epoch, int(index)):
            sample = self.transforms(self.get_image_and_label(index))
        return {"pixel_values": sample["img"].float() / 255.0, "labels": self._labels(sample)}

    def _labels(self, sample: Mapping[str, Any]) -> Any:
        """The model's labels from the output of Ultralytics' ``Format``: ``{"class_labels": (N,) int64, "boxes":
        (N, 4) float32 normalized (cx, cy, w, h)}``."""
        return {"class_labels": sample["cls"].reshape(-1).long(), "boxes": sample["bboxes"].reshape(-1, 4).float()}

    def set_epoch(self, epoch: int, epochs: int | None = None) -> None:
        """Start epoch ``epoch`` (0-based) of ``epochs``: new draws, and mosaic off for the last ``close_mosaic``.

        accelerate's dataloader calls ``set_epoch(epoch)`` itself; the run's length then comes from
        :class:`AugmentationSchedule` (``self.epochs``).
        """
        self.epoch = int(epoch)
        if epochs is not None:
            self.epochs = int(epochs)
        close = int(self.hyperparameters["close_mosaic"] or 0)
        if close and self.epochs and not self.mosaic_closed and self.epochs - self.epoch <= close:
            logger.info("closing mosaic for the last %d epochs", self.epochs - self.epoch)
            self.mosaic_closed = True
            self.transforms = self._build()


class AugmentationSchedule(TrainerCallback):
    """Tell an augmented dataset (``set_epoch``, ``epochs``: :class:`AugmentedDetectionDataset` and its task
    subclasses, :class:`~.classify_augmentation.AugmentedClassificationDataset`) the epoch ``Trainer`` starts (new
    draws, ``close_mosaic``)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.dataset.epochs = max(int(np.ceil(args.num_train_epochs)), 1)

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        epochs = max(int(np.ceil(args.num_train_epochs)), 1)
        self.dataset.set_epoch(int(round(state.epoch or 0)), epochs)
