"""``datasets.Features`` per task, following the Hub detection convention (cppe-5, transformers' guide).

Detection-like tasks (detect, segment, pose, obb)::

    image_id   int64                 row index within the split (carries the YOLO metadata, see metadata.py)
    image      Image()               bytes exactly as on disk, path = file name
    width      int32                 displayed size (EXIF orientation applied), pixels
    height     int32
    file_name  string                path relative to the split's image folder, e.g. "000001.jpg"
    objects    {                     one entry per object, in label-file order
      id        List(int64)          unique within the split
      area      List(float32)        pixels²: box area (detect, pose), polygon area (segment, obb)
      bbox      List(List(float32))  COCO [x_min, y_min, width, height], absolute pixels
      category  List(ClassLabel)     class names from data.yaml
      segmentation List(List(List(float32)))  segment: per object a list of polygons [x1, y1, x2, y2, ...]
      keypoints    List(List(List(float32)))  pose: per object K points [x, y] or [x, y, visibility]
      obb          List(List(float32))        obb: per object the 4 corners [x1, y1, ..., x4, y4]
    }

Classification: ``image_id``, ``image``, ``width``, ``height``, ``file_name``, ``label`` (ClassLabel).

Per-pixel tasks (see :mod:`.dense`): ``image_id``, ``image``, ``width``, ``height``, ``file_name`` and

- semantic: ``annotation`` (``Image()``, the class-index mask file as on disk, 255 = ignore; the Hub's
  scene_parse_150 convention); class names are in the metadata;
- depth: ``depth_map`` (``Image()`` holding the uint16 PNG, metres = value / ``depth_scale``; or ``binary`` holding
  the ``.npy`` file of float metres).

All coordinates are absolute pixels of the displayed image; ``float32`` keeps YOLO's 6-decimal labels
within 1e-6 through the round trip. Fixed-length lists (``List(..., length=4)``) are avoided on purpose:
in ``datasets`` 5.2 nested fixed-length lists do not survive the card YAML of ``push_to_hub``.
"""

from __future__ import annotations

import datasets
from datasets import ClassLabel, Features, Image, List, Value

from ..tasks import TASK_SPECS
from .dense import target_feature
from .metadata import TASKS

__all__ = ["features_for_task", "OBJECT_EXTRA_FIELD"]

#: The task-specific ``objects`` field of each detection-like task.
OBJECT_EXTRA_FIELD: dict[str, str | None] = {
    "detect": None,
    "segment": "segmentation",
    "pose": "keypoints",
    "obb": "obb",
}


def features_for_task(task: str, names: list[str], *, depth_format: str = "png") -> datasets.Features:
    """Build the features of a ``task`` dataset with class ``names``.

    Args:
        task: One of :data:`~yolo_transformers.data.metadata.TASKS`.
        names: Class names, index = class id.
        depth_format: ``png`` or ``npy``: how a depth dataset's maps are stored.

    Returns:
        The ``Features`` (without metadata; see :func:`~yolo_transformers.data.metadata.attach_metadata`).

    Raises:
        ValueError: Unknown task.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    common = {
        "image_id": Value("int64"),
        "image": Image(),
        "width": Value("int32"),
        "height": Value("int32"),
        "file_name": Value("string"),
    }
    if task == "classify":
        return Features({**common, "label": ClassLabel(names=list(names))})
    column = TASK_SPECS[task].dense_column
    if column:
        return Features({**common, column: target_feature(task, depth_format)})
    objects = {
        "id": List(Value("int64")),
        "area": List(Value("float32")),
        "bbox": List(List(Value("float32"))),
        "category": List(ClassLabel(names=list(names))),
    }
    if task == "segment":
        objects["segmentation"] = List(List(List(Value("float32"))))
    elif task == "pose":
        objects["keypoints"] = List(List(List(Value("float32"))))
    elif task == "obb":
        objects["obb"] = List(List(Value("float32")))
    return Features({**common, "objects": objects})
