"""``to_yolo_folder``: a ``DatasetDict`` (ours, or any Hub dataset in the cppe-5 convention) → YOLO folder.

Layout written (what ``yolo train data=<out>/data.yaml`` reads)::

    out/data.yaml                 train/val/test, names, kpt_shape/flip_idx (pose), task, kept extras
    out/images/<split>/<file_name>  the image bytes exactly as stored
    out/labels/<split>/<stem>.txt   one line per object, normalized, 8 decimals
    out/masks/<split>/<mask file>   semantic: the ``annotation`` bytes as stored (``masks_dir: masks``)
    out/depth/<split>/<stem>.png|npy  depth: the ``depth_map`` bytes as stored (``depth_scale`` kept)

Classification writes ``out/<split>/<class_name>/<file_name>`` (the folder Ultralytics' ``data=`` takes) and a
``data.yaml`` that only this package reads (it keeps the class order). Split ``validation``/``valid`` is
written as ``val``. Nothing is written into a non-empty ``out_dir`` unless ``overwrite=True``; the export
is built in a temporary sibling folder and swapped in only once complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import datasets
import yaml

from ..errors import DatasetFormatError
from ..tasks import TASK_SPECS
from .features import OBJECT_EXTRA_FIELD
from .objects import object_to_row
from .image_header import read_image_header
from .export_checks import checked_yaml_fields, class_folder, file_name, inside, split_folder
from .metadata import YoloMetadata, read_metadata

__all__ = ["to_yolo_folder"]

logger = logging.getLogger(__name__)

_SPLIT_FOLDERS = {"validation": "val", "valid": "val"}
_MASKS_DIR = "masks"
_TARGET_FOLDERS = {"semantic": _MASKS_DIR, "depth": "depth"}
_BATCH = 128


def to_yolo_folder(
    dataset: datasets.DatasetDict | datasets.Dataset, out_dir: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Write a dataset as a YOLO folder that Ultralytics trains on.

    Args:
        dataset: A ``DatasetDict`` (one folder per split) or a single ``Dataset`` (written as ``train``).
        out_dir: Folder to create.
        overwrite: Replace a non-empty ``out_dir`` (atomically, once the new export is complete).

    Returns:
        The ``data.yaml`` path for detect/segment/pose/obb, ``out_dir`` for classify (what ``data=`` takes).

    Raises:
        FileExistsError: ``out_dir`` is a file, or a non-empty folder and ``overwrite`` is False.
        DatasetFormatError: The dataset does not follow the expected schema, or file names are unsafe.
    """
    splits = dataset if isinstance(dataset, datasets.DatasetDict) else datasets.DatasetDict({"train": dataset})
    meta = read_metadata(splits)
    fields = checked_yaml_fields(meta)  # everything below is checked before anything is created
    folders: dict[str, str] = {}
    for name in splits:
        folder = split_folder(_SPLIT_FOLDERS.get(name, name))
        if folder in folders.values():
            raise DatasetFormatError(f"splits {list(splits)} map twice to folder '{folder}'. Fix: rename one.")
        folders[name] = folder
    out = Path(out_dir).expanduser().resolve()
    _check_target(out, overwrite)
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir(parents=True)
    try:
        for name, split in splits.items():
            _write_split(split, tmp, folders[name], meta)
        data_yaml = _data_yaml(meta.task, folders, fields)
        (tmp / "data.yaml").write_text(yaml.safe_dump(data_yaml, sort_keys=False), encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts = ", ".join(f"{k}: {len(v)}" for k, v in splits.items())
    logger.info("wrote YOLO %s dataset to %s (%s)", meta.task, out, counts)
    return out if meta.task == "classify" else out / "data.yaml"


def _check_target(out: Path, overwrite: bool) -> None:
    """Refuse to touch a file, a non-empty folder (unless overwrite), or a folder that holds the cwd/home."""
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out} is a file. Fix: choose a folder path for the YOLO dataset.")
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(
            f"{out} is not empty; refusing to write into it. Fix: choose an empty/new folder or pass overwrite=True "
            "(which replaces the folder's whole content)."
        )
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    if out == Path(out.anchor) or out == home or cwd == out or out in cwd.parents:
        raise FileExistsError(f"refusing to overwrite {out}: it is the root, home or working folder (or holds it).")


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp``; the old content is removed only after the new one is in place."""
    if out.exists():
        old = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.old"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def _data_yaml(task: str, folders: dict[str, str], fields: dict[str, Any]) -> dict[str, Any]:
    """The YAML content: relative split folders (no ``path:``, so Ultralytics uses the YAML's folder) and the
    checked :func:`~.export_checks.checked_yaml_fields`; nothing else (no ``download:``)."""
    prefix = "" if task == "classify" else "images/"
    data: dict[str, Any] = {folder: f"{prefix}{folder}" for folder in folders.values()}
    if "val" not in data and "train" in data:
        logger.warning("no validation split: data.yaml 'val' points at the train images")
        data["val"] = data["train"]
    ordered = {k: data.pop(k) for k in ("train", "val", "test") if k in data}
    dense = {"masks_dir": _MASKS_DIR} if task == "semantic" else {}
    return {**ordered, **data, **fields, **dense}


def _write_split(split: datasets.Dataset, root: Path, folder: str, meta: YoloMetadata) -> None:
    """Write one split's images and labels, reading Arrow batches (no image decoding)."""
    seen: set[str] = set()
    clipped = 0
    column = TASK_SPECS[meta.task].dense_column
    for batch in split.with_format("arrow").iter(batch_size=_BATCH):
        rows = batch.drop_columns([c for c in batch.column_names if c in {"image", column}]).to_pylist()
        targets = batch.column(column).to_pylist() if column else [None] * len(rows)
        images = batch.column("image").combine_chunks()
        blobs, paths = images.field("bytes").to_pylist(), images.field("path").to_pylist()
        for row, data, path, dense in zip(rows, blobs, paths, targets):
            if data is None:
                raise DatasetFormatError(
                    f"image {row.get('file_name') or path!r} in split {folder!r} has no bytes, only a path; images are "
                    "exported from their bytes only (a path would copy a local file). Fix: embed the image bytes."
                )
            name = _file_name(row, path, data)
            if name in seen:
                raise DatasetFormatError(f"two images named {name!r} in one split. Fix: make file_name unique.")
            seen.add(name)
            if meta.task == "classify":
                target = inside(root, root / folder / class_folder(meta.names[row["label"]]) / name)
            elif column:
                _write_target(root, root / _TARGET_FOLDERS[meta.task] / folder, name, dense)
                target = inside(root, root / "images" / folder / name)
            else:
                target = inside(root, root / "images" / folder / name)
                label = inside(root, root / "labels" / folder / (name.rsplit(".", 1)[0] + ".txt"))
                lines, n_clipped = _label_lines(row, meta, data)
                clipped += n_clipped
                label.parent.mkdir(parents=True, exist_ok=True)
                label.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    if clipped:
        logger.warning("%s: %d label value(s) outside [0, 1] were clipped", folder, clipped)


def _write_target(root: Path, folder: Path, image_name: str, value: Any) -> None:
    """Write a mask or depth map (bytes as stored) where Ultralytics looks for it: the image's stem in ``folder``.

    ``Image`` values keep their file's suffix (``path``); raw bytes are ``.npy`` depth maps. A target stored by path
    only is refused, like an image: the path comes from the dataset.
    """
    data = value.get("bytes") if isinstance(value, dict) else value
    if data is None:
        raise DatasetFormatError(f"{image_name}: no mask/depth map bytes in its row. Fix: embed the target's bytes.")
    suffix = "npy"
    if isinstance(value, dict):
        suffix = str(value.get("path") or "x.png").rsplit(".", 1)[-1].lower()
        suffix = suffix if suffix.isalnum() and suffix.isascii() else "png"
    target = inside(root, folder / f"{image_name.rsplit('.', 1)[0]}.{suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _file_name(row: dict[str, Any], path: str | None, data: bytes) -> str:
    """Safe relative file name: ``file_name`` column, else the stored path's base name, else ``<image_id>.<ext>``."""
    name = row.get("file_name") or (os.path.basename(str(path).replace("\\", "/")) if path else None)
    if not name:
        fmt = read_image_header(data, f"image_id {row.get('image_id')}", verify=False).format
        name = f"{int(row.get('image_id') or 0):012d}.{ {'jpeg': 'jpg', 'mpo': 'jpg'}.get(fmt, fmt) }"
    return file_name(name.replace("\\", "/") if isinstance(name, str) else name)


def _label_lines(row: dict[str, Any], meta: YoloMetadata, data: bytes) -> tuple[list[str], int]:
    """Label lines of one image and how many values had to be clipped into [0, 1]."""
    objects = row.get("objects") or {}
    if isinstance(objects, list):  # a list of per-object dicts: turn it into the dict of lists
        objects = {key: [o.get(key) for o in objects] for key in (objects[0] if objects else {})}
    width, height = row.get("width"), row.get("height")
    if not width or not height:
        header = read_image_header(data, str(row.get("file_name")), verify=False)
        width, height = header.width, header.height
    extra_key = OBJECT_EXTRA_FIELD.get(meta.task)
    extras = objects.get(extra_key) if extra_key else None
    lines, clipped = [], 0
    for k, (bbox, cls) in enumerate(zip(objects.get("bbox") or [], objects.get("category") or [])):
        extra = _task_extra(meta.task, extras[k] if extras else None, bbox)
        if meta.task in {"detect", "pose"}:
            bbox, n = _clip_box(bbox, width, height)
            clipped += n
        values = object_to_row(meta.task, bbox, extra, width, height)
        kpt_dim = len(extra[0]) if meta.task == "pose" and extra else 0
        values, n = _clip(values, kpt_dim)
        clipped += n
        lines.append(" ".join([str(int(cls))] + [_fmt(v) for v in values]))
    return lines, clipped


def _task_extra(task: str, extra: Any, bbox: list[float]) -> Any:
    """One polygon for segment (merging several like Ultralytics' COCO converter), else the field as is."""
    if task != "segment":
        return extra
    polygons = [p for p in (extra or []) if len(p) >= 6]
    if not polygons:  # no polygon: use the box outline
        x, y, w, h = bbox
        return [x, y, x + w, y, x + w, y + h, x, y + h]
    if len(polygons) == 1:
        return polygons[0]
    import numpy as np
    from ultralytics.data.converter import merge_multi_segment

    merged = np.concatenate(merge_multi_segment([list(p) for p in polygons]), axis=0)
    return merged.reshape(-1).tolist()


def _clip_box(bbox: list[float], width: int, height: int) -> tuple[list[float], int]:
    """Clip a COCO box to the image (its corners, not its center and size); returns (box, 1 if clipped)."""
    x, y, w, h = (float(v) for v in bbox)
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    if (x0, y0, x1, y1) == (x, y, x + w, y + h):
        return [x, y, w, h], 0
    return [x0, y0, x1 - x0, y1 - y0], 1


def _clip(values: list[float], kpt_dim: int) -> tuple[list[float], int]:
    """Clip coordinates into [0, 1]; visibility flags (3rd value of 3-D keypoints after the box) are left alone."""
    out, n = [], 0
    for i, v in enumerate(values):
        is_flag = kpt_dim == 3 and i >= 4 and (i - 4) % 3 == 2
        if not is_flag and not 0.0 <= v <= 1.0:
            v, n = min(max(v, 0.0), 1.0), n + 1
        out.append(v)
    return out, n


def _fmt(value: float) -> str:
    """Up to 8 decimals, trailing zeros removed (``0.5``, ``0.12345678``, ``2``)."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text
