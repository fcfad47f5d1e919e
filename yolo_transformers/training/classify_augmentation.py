"""Ultralytics' classification training augmentation over ``image`` + ``label`` rows.

:class:`AugmentedClassificationDataset` applies what Ultralytics' ``ClassificationDataset(augment=True)`` applies
to each training image: ``classify_augmentations`` (torchvision's ``RandomResizedCrop`` with area range
``(1 - scale, 1)``, horizontal/vertical flips ``fliplr``/``flipud``, ``auto_augment`` (RandAugment by default) or a
colour jitter from ``hsv_*``, then ``ToTensor``, Ultralytics' mean/std and ``RandomErasing(erasing)``) with the same
settings taken from Ultralytics' ``default.yaml``. Rows follow the Hub's image-classification convention (``image``,
``label``), so any such dataset works. Each sample runs under its own seed (``seed``, epoch, index) over Python's,
numpy's and torch's generators, which are restored afterwards, as the detection pipeline does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from PIL import Image

from ..errors import DatasetFormatError
from ..processing.letterbox import to_rgb_array
from .augmentation import seeded_draws, ultralytics_hyperparameters

__all__ = ["AugmentedClassificationDataset"]


class AugmentedClassificationDataset(torch.utils.data.Dataset):
    """Rows with ``image`` and ``label`` (class index), augmented as Ultralytics trains classifiers.

    Args:
        rows: A ``datasets.Dataset`` with ``image`` and ``label``.
        image_size: Square training size in pixels (Ultralytics ``imgsz``).
        hyperparameters: Ultralytics settings overriding ``default.yaml`` (``scale``, ``fliplr``, ``flipud``,
            ``erasing``, ``auto_augment``, ``hsv_h``, ``hsv_s``, ``hsv_v``).
        seed: Seed of the augmentation draws.

    Items are ``{"pixel_values": (3, S, S) float32 RGB, "labels": () int64}``; batch them with
    :func:`~.task_transform.collate_task_batch`.

    Raises:
        DatasetFormatError: The rows have no ``image`` or ``label`` column.
    """

    def __init__(self, rows: Any, image_size: int, *, hyperparameters: Mapping[str, Any] | None = None,
                 seed: int = 0) -> None:  # fmt: skip
        from ultralytics.data.augment import classify_augmentations

        missing = {"image", "label"} - set(getattr(rows, "column_names", None) or ())
        if missing:
            raise DatasetFormatError(
                f"classification rows need 'image' and 'label' columns; missing {sorted(missing)}. Fix: rename the "
                "dataset's columns (dataset.rename_column(...)) to the Hub's image-classification convention."
            )
        self.rows = rows.with_format(None)
        self.imgsz = int(image_size)
        self.hyperparameters = ultralytics_hyperparameters(hyperparameters)
        self.seed = int(seed)
        self.epoch = 0
        self.epochs: int | None = None
        hyp = self.hyperparameters
        self.transforms = classify_augmentations(  # as ClassificationDataset(augment=True) builds it
            size=self.imgsz, scale=(1.0 - hyp["scale"], 1.0), hflip=hyp["fliplr"], vflip=hyp["flipud"],
            erasing=hyp["erasing"], auto_augment=hyp["auto_augment"], hsv_h=hyp["hsv_h"], hsv_s=hyp["hsv_s"],
            hsv_v=hyp["hsv_v"],
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[int(index)]
        image = Image.fromarray(to_rgb_array(row["image"]))
        with seeded_draws(self.seed, self.epoch, int(index)):
            pixel_values = self.transforms(image)
        return {"pixel_values": pixel_values, "labels": torch.tensor(int(row["label"]), dtype=torch.long)}

    def set_epoch(self, epoch: int, epochs: int | None = None) -> None:
        """Start epoch ``epoch`` (0-based): new draws (there is no mosaic to close)."""
        self.epoch = int(epoch)
        if epochs is not None:
            self.epochs = int(epochs)
