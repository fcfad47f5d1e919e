"""``from_coco``: a COCO instances JSON + image folder → ``DatasetDict`` with the same schema as YOLO data.

Mapping: ``image_id`` and ``objects.id`` are COCO's image and annotation ids; categories are renumbered
0..n-1 in ascending COCO id order (``objects.category`` is a ``ClassLabel`` of their names; the original ids
are kept in the metadata ``extra["coco_category_ids"]``); ``bbox``, ``area``, polygon ``segmentation`` and
``keypoints`` (``[x, y, v]`` per point) are copied in pixels. Crowd annotations (``iscrowd: 1``, RLE
masks) are skipped, as Ultralytics' own COCO converter does. The task is pose when categories define
``keypoints``, segment when any annotation has polygons, detect otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from ..errors import DatasetFormatError
from .features import features_for_task
from .image_header import read_image_header
from .metadata import YoloMetadata, attach_metadata
from .report import ConversionReport
from .shards import ArrowShardWriter

__all__ = ["from_coco"]

logger = logging.getLogger(__name__)


def from_coco(
    annotations_json: str | os.PathLike,
    images_dir: str | os.PathLike,
    *,
    split: str = "train",
    strict: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.DatasetDict:
    """Convert a COCO instances dataset.

    Args:
        annotations_json: ``instances_*.json`` (``images``, ``annotations``, ``categories``).
        images_dir: Folder that ``images[].file_name`` is relative to.
        split: Name of the single split returned.
        strict: Raise on the first problem; when False, skip bad annotations/images and report them.
        cache_dir: Folder for the Arrow file (default ``<HF_DATASETS_CACHE>/yolo_transformers``); each call
            writes a new ``coco-<uuid>.arrow`` there.

    Returns:
        ``DatasetDict({split: Dataset})``, memory-mapped, with ``conversion_report`` attached.

    Raises:
        DatasetFormatError: Malformed JSON, unknown category or image ids, missing or corrupt images (strict).
    """
    ann_file, images_root = Path(annotations_json), Path(images_dir)
    try:
        coco = json.loads(ann_file.read_text(encoding="utf-8"))
        images, annotations, categories = coco["images"], coco.get("annotations", []), coco["categories"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetFormatError(
            f"{ann_file}: not a COCO instances file ({exc!r}). Fix: it needs 'images', 'annotations', 'categories'."
        ) from exc
    report = ConversionReport()
    cats = sorted(categories, key=lambda c: c["id"])
    cat_index = {c["id"]: i for i, c in enumerate(cats)}
    task = _task(cats, annotations)
    kpt_names = next((c.get("keypoints") for c in cats if c.get("keypoints")), None)
    meta = YoloMetadata(
        task=task,
        names=[str(c["name"]) for c in cats],
        source_format="coco",
        kpt_shape=[len(kpt_names), 3] if task == "pose" else None,
        extra={
            "coco_category_ids": [c["id"] for c in cats],
            **({"kpt_names": {i: c.get("keypoints") or kpt_names for i, c in enumerate(cats)}} if kpt_names else {}),
        },
    )
    features = attach_metadata(features_for_task(task, meta.names), meta)
    by_image = _group(annotations, {im["id"] for im in images}, ann_file, strict, report)
    base = Path(cache_dir) if cache_dir else Path(datasets.config.HF_DATASETS_CACHE) / "yolo_transformers"
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"coco-{uuid.uuid4().hex}.arrow"  # a fresh file per call: images may change under a same JSON
    tmp = base / f".{path.name}.{uuid.uuid4().hex}.incomplete"
    ctx = _Context(ann_file, images_root, task, cat_index, meta.kpt_shape, strict, report)
    try:
        with ArrowShardWriter(str(tmp), features) as writer:
            for image in images:
                row = _row(image, by_image.get(image["id"], []), ctx)
                if row is not None:
                    writer.add(row)
                    report.images[split] += 1
                    report.backgrounds[split] += not row["objects"]["id"]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    info = datasets.DatasetInfo(description=meta.to_json(), features=features)
    out = datasets.DatasetDict({split: datasets.Dataset.from_file(str(path), info=info, split=split)})
    out.conversion_report = report
    report.log()
    return out


def _task(cats: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> str:
    """pose / segment / detect from what the file contains."""
    if any(c.get("keypoints") for c in cats) and any(a.get("keypoints") for a in annotations):
        return "pose"
    if any(isinstance(a.get("segmentation"), list) and a["segmentation"] for a in annotations if not a.get("iscrowd")):
        return "segment"
    return "detect"


def _group(annotations, image_ids, ann_file, strict, report) -> dict[int, list[dict[str, Any]]]:
    """Annotations per image id, crowd ones and (non-strict) orphans dropped."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ann in annotations:
        if ann.get("iscrowd"):
            report.add("crowd_annotation", f"{ann_file}: annotation {ann.get('id')} is a crowd region; skipped")
            continue
        if ann.get("image_id") not in image_ids:
            _problem(f"{ann_file}: annotation {ann.get('id')} refers to unknown image_id {ann.get('image_id')}",
                     "remove the annotation or add the image", "unknown_image", strict, report)
            continue
        out[ann["image_id"]].append(ann)
    return out


@dataclass
class _Context:
    """What every image's conversion needs."""

    ann_file: Path
    images_root: Path
    task: str
    cat_index: dict[int, int]
    kpt_shape: list[int] | None
    strict: bool
    report: ConversionReport

    def problem(self, message: str, fix: str, reason: str) -> None:
        """Raise in strict mode, else count and skip."""
        _problem(f"{self.ann_file}: {message}", fix, reason, self.strict, self.report)


def _row(image: dict[str, Any], anns: list[dict[str, Any]], ctx: _Context) -> dict[str, Any] | None:
    """One dataset row for a COCO image, or None when skipped."""
    file_name = str(image["file_name"])
    path = ctx.images_root / file_name
    try:
        data = path.read_bytes()
        header = read_image_header(data, str(path))
    except (OSError, DatasetFormatError) as exc:
        return _problem(f"{path}: {exc}", "add the image or remove it from the JSON", "corrupt_image", ctx.strict,
                        ctx.report)
    width, height = int(image.get("width") or header.width), int(image.get("height") or header.height)
    if (width, height) != (header.width, header.height):  # non-strict: keep the JSON's size (the boxes use it)
        ctx.problem(f"image {image['id']} ({path}): JSON says {width}x{height}, the file is "
                    f"{header.width}x{header.height}", "correct width/height in the JSON", "size_mismatch")
    objects: dict[str, list] = {name: [] for name in _object_fields(ctx.task)}
    for ann in anns:
        if ann.get("category_id") not in ctx.cat_index:
            ctx.problem(f"annotation {ann.get('id')}: category_id {ann.get('category_id')} is not in 'categories'",
                        "add the category or fix the id", "unknown_category")
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        if w < 0 or h < 0:
            ctx.problem(f"annotation {ann.get('id')}: negative bbox size {ann['bbox']}", "write [x, y, width, height]",
                        "bad_bbox")
            continue
        objects["id"].append(int(ann["id"]))
        objects["area"].append(float(ann.get("area") or w * h))
        objects["bbox"].append([x, y, w, h])
        objects["category"].append(ctx.cat_index[ann["category_id"]])
        if ctx.task == "segment":
            seg = ann.get("segmentation")
            objects["segmentation"].append([list(map(float, p)) for p in seg] if isinstance(seg, list) else [])
        elif ctx.task == "pose":
            kp = [float(v) for v in ann.get("keypoints") or []] or [0.0] * (3 * ctx.kpt_shape[0])
            objects["keypoints"].append([kp[i : i + 3] for i in range(0, len(kp), 3)])
    return {
        "image_id": int(image["id"]),
        "image": {"bytes": data, "path": file_name},
        "width": width,
        "height": height,
        "file_name": file_name,
        "objects": objects,
    }


def _object_fields(task: str) -> list[str]:
    """The ``objects`` fields of a detection-like task."""
    extra = {"segment": ["segmentation"], "pose": ["keypoints"]}.get(task, [])
    return ["id", "area", "bbox", "category", *extra]


def _problem(message: str, fix: str, reason: str, strict: bool, report: ConversionReport) -> None:
    """Raise in strict mode, else count and skip."""
    if strict:
        raise DatasetFormatError(f"{message}. Fix: {fix} (or pass strict=False to skip it).")
    report.add(reason, f"{message}; skipped")
    return None
