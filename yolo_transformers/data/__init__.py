"""YOLO datasets as Hugging Face ``datasets``: folder → ``DatasetDict`` → folder, and COCO → ``DatasetDict``.

Public API::

    from yolo_transformers.data import load_yolo_dataset, to_yolo_folder, from_coco

    ds = load_yolo_dataset("coco8/data.yaml")          # DatasetDict, Hub detection schema, bytes as on disk
    ds.push_to_hub("me/coco8")                           # Parquet shards; metadata travels in the features
    yaml_path = to_yolo_folder(ds, "out/coco8")          # images/, labels/, data.yaml for `yolo train`

    url = push_dataset("coco8/data.yaml", "me/coco8", tag="v1.0")   # validated first; Parquet + card + samples.png
    yaml_path = pull_dataset("me/coco8", "coco8-yolo", revision="v1.0")

Schema: :mod:`.features`; where the YOLO metadata lives: :mod:`.metadata`; validation rules:
:mod:`.labels` and :mod:`.yolo_format`; scaling (streaming, ``num_proc``, shards, cache): :mod:`.convert`;
the Hub (push order, card, safe pull): :mod:`.hub`, :mod:`.card`, :mod:`.samples`.
"""

from __future__ import annotations

from .card import generate_dataset_card
from .coco import from_coco
from .convert import load_yolo_dataset
from .export import to_yolo_folder
from .features import features_for_task
from .hub import DatasetPushResult, pull_dataset, push_dataset
from .image_header import IMG_FORMATS, ImageHeader, read_image_header
from .metadata import TASKS, YoloMetadata, read_metadata
from .report import ConversionReport

__all__ = [
    "load_yolo_dataset",
    "to_yolo_folder",
    "from_coco",
    "push_dataset",
    "pull_dataset",
    "DatasetPushResult",
    "generate_dataset_card",
    "features_for_task",
    "read_metadata",
    "YoloMetadata",
    "ConversionReport",
    "ImageHeader",
    "read_image_header",
    "IMG_FORMATS",
    "TASKS",
]
