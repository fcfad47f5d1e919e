"""YOLO facts that have no column: task, class names, ``kpt_shape``, ``flip_idx``, source format.

Where they are stored (the convention), so that they survive ``save_to_disk``/``load_from_disk``,
``to_parquet``, ``push_to_hub``/``load_dataset``:

1. **Canonical**: a JSON document in the ``id`` attribute of the ``image_id`` feature,
   ``Value("int64", id='{"yolo_transformers": 1, "task": "pose", ...}')``. Features are the only part of
   ``DatasetInfo`` that ``push_to_hub`` writes to the card's ``dataset_info`` YAML and to every Parquet
   shard's schema, and ``Value.id`` is kept by both (``description`` is not). Class names are, in addition,
   the ``ClassLabel`` names of ``objects.category`` (or ``label``), which are authoritative.
2. **Mirror**: the same JSON in ``DatasetInfo.description`` (visible in ``dataset_info.json`` after
   ``save_to_disk``), used when a transform dropped the feature's ``id``.
3. **Inferred**: without either, :func:`read_metadata` infers the task from the columns and ``kpt_shape``
   from the first annotated row; ``flip_idx`` is then unknown.

Keep ``image_id`` in the dataset (``map``/``filter``/``select`` keep features; ``cast`` and
``remove_columns("image_id")`` drop the metadata).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import datasets

from ..errors import DatasetFormatError
from ..tasks import DATASET_TASKS

__all__ = ["TASKS", "METADATA_KEY", "YoloMetadata", "attach_metadata", "read_metadata", "infer_task_from_features"]

#: Tasks whose datasets this package converts.
TASKS: tuple[str, ...] = DATASET_TASKS
#: Marker key (and schema version) of the metadata JSON.
METADATA_KEY = "yolo_transformers"
_SCHEMA_VERSION = 1


@dataclass
class YoloMetadata:
    """Dataset-level YOLO facts.

    Attributes:
        task: One of :data:`TASKS`.
        names: Class names, index = class id.
        source_format: ``"yolo"`` or ``"coco"``.
        kpt_shape: ``[K, D]`` for pose (``D`` is 2 or 3), else None.
        flip_idx: Keypoint index mapping for horizontal flips (pose), or None.
        extra: Other ``data.yaml`` keys worth keeping (``kpt_names``, ``channels``, ...), JSON-serializable.
    """

    task: str
    names: list[str]
    source_format: str = "yolo"
    kpt_shape: list[int] | None = None
    flip_idx: list[int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialize with the marker key, compact and with sorted keys (stable fingerprints)."""
        return json.dumps({METADATA_KEY: _SCHEMA_VERSION, **asdict(self)}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> YoloMetadata | None:
        """Parse :meth:`to_json` output; None when ``text`` is not ours."""
        if not text or METADATA_KEY not in text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or METADATA_KEY not in data:
            return None
        known = {k: data[k] for k in ("task", "names", "source_format", "kpt_shape", "flip_idx", "extra") if k in data}
        return cls(**known)


def attach_metadata(features: datasets.Features, metadata: YoloMetadata) -> datasets.Features:
    """Return a copy of ``features`` whose ``image_id`` feature carries ``metadata`` (see module docstring)."""
    out = datasets.Features(features)
    if "image_id" not in out:
        raise ValueError("features need an 'image_id' column to carry the YOLO metadata")
    out["image_id"] = datasets.Value(out["image_id"].dtype, id=metadata.to_json())
    return out


def infer_task_from_features(features: datasets.Features) -> str:
    """Task implied by the columns: ``label`` → classify, ``objects.keypoints`` → pose, and so on.

    Raises:
        DatasetFormatError: The features match none of the supported layouts.
    """
    if "label" in features and isinstance(features["label"], datasets.ClassLabel):
        return "classify"
    if isinstance(features.get("annotation"), datasets.Image):
        return "semantic"
    if "depth_map" in features:
        return "depth"
    objects = _objects_struct(features)
    if objects is None or "bbox" not in objects or "category" not in objects:
        raise DatasetFormatError(
            f"dataset columns {sorted(features)} match no YOLO task. Fix: provide 'objects' with 'bbox' and "
            "'category' (detection, Hub cppe-5 convention) or a ClassLabel 'label' column (classification)."
        )
    for key, task in (("keypoints", "pose"), ("obb", "obb"), ("segmentation", "segment")):
        if key in objects:
            return task
    return "detect"


def _objects_struct(features: datasets.Features) -> Mapping | None:
    """The per-object fields, whether ``objects`` is a dict of lists (cppe-5) or a list of dicts."""
    objects = features.get("objects")
    objects = getattr(objects, "feature", objects)  # List({...}) → {...}
    return objects if isinstance(objects, Mapping) else None


def _class_names(features: datasets.Features) -> list[str] | None:
    """ClassLabel names of ``objects.category`` or ``label``."""
    if isinstance(features.get("label"), datasets.ClassLabel):
        return list(features["label"].names)
    category = (_objects_struct(features) or {}).get("category")
    feature = getattr(category, "feature", category)
    return list(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def read_metadata(dataset: datasets.Dataset | datasets.DatasetDict) -> YoloMetadata:
    """Recover the YOLO metadata of a dataset built by this package (or any Hub detection dataset).

    Args:
        dataset: A ``Dataset`` or a ``DatasetDict`` (its first split is read).

    Returns:
        The metadata; ``names`` always come from the ``ClassLabel`` feature when there is one.

    Raises:
        DatasetFormatError: No class names can be found.
    """
    if isinstance(dataset, datasets.DatasetDict):
        if not dataset:
            raise DatasetFormatError("empty DatasetDict: nothing to read metadata from")
        dataset = next(iter(dataset.values()))
    features = dataset.features
    image_id = features.get("image_id")
    meta = YoloMetadata.from_json(getattr(image_id, "id", None)) or YoloMetadata.from_json(dataset.info.description)
    names = _class_names(features)
    if meta is None:
        if names is None and "depth_map" in features:
            names = ["depth"]  # Ultralytics' depth datasets name their one output "depth"
        if names is None:
            raise DatasetFormatError(
                "dataset has no class names. Fix: make objects.category (or label) a datasets.ClassLabel; a semantic "
                "dataset (image + annotation) needs them in its YOLO metadata: load it with load_yolo_dataset."
            )
        meta = YoloMetadata(task=infer_task_from_features(features), names=names, source_format="unknown")
        if meta.task == "pose":
            meta.kpt_shape = _infer_kpt_shape(dataset)
    elif names is not None:
        meta.names = names
    return meta


def _infer_kpt_shape(dataset: datasets.Dataset) -> list[int] | None:
    """``[K, D]`` from the first object that has keypoints (reads only the ``objects`` column)."""
    for batch in dataset.select_columns(["objects"]).iter(batch_size=256):
        for objects in batch["objects"]:
            points = [o.get("keypoints") for o in objects] if isinstance(objects, list) else objects.get("keypoints")
            for kpts in points or []:
                if kpts:
                    return [len(kpts), len(kpts[0])]
    return None
