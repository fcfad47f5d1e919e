"""YOLO datasets as Hugging Face ``datasets``: folder → ``DatasetDict`` → folder, and COCO → ``DatasetDict``.

Public API::

    from yolo_transformers.data import load_yolo_dataset, to_yolo_folder, from_coco

    ds = load_yolo_dataset("coco8/data.yaml")          # DatasetDict, Hub detection schema, bytes as on disk
    ds.push_to_hub("me/coco8")                           # Parquet shards; metadata travels in the features
    yaml_path = to_yolo_folder(ds, "out/coco8")          # images/, labels/, data.yaml for `yolo train`


Schema: :mod:`.features`; where the YOLO metadata lives: :mod:`.metadata`; validation rules:
:mod:`.labels` and :mod:`.yolo_format`; scaling (streaming, ``num_proc``, shards, cache): :mod:`.from_yolo`;
the way back: :mod:`.to_yolo`. Pushing and pulling datasets is :mod:`yolo_transformers.hub.datasets`; their cards are
:mod:`yolo_transformers.cards.dataset_card`.
"""

from __future__ import annotations

from .coco import from_coco
from .from_yolo import load_yolo_dataset
from .to_yolo import to_yolo_folder
from .features import features_for_task
from .image_header import IMG_FORMATS, ImageHeader, read_image_header
from .metadata import TASKS, YoloMetadata, read_metadata
from .report import ConversionReport

__all__ = [
    "load_yolo_dataset",
    "to_yolo_folder",
    "from_coco",
    "features_for_task",
    "read_metadata",
    "YoloMetadata",
    "ConversionReport",
    "ImageHeader",
    "read_image_header",
    "IMG_FORMATS",
    "TASKS",
]
