"""The dataset card's picture: a grid of sample images with their annotations drawn.

Boxes (detect, pose), filled polygons (segment), rotated boxes (obb), keypoints (pose) and class names are drawn
(semantic masks as a translucent class-colored overlay, ignored pixels left clear; depth maps as a near-red to
far-blue overlay, invalid pixels left clear)
with Pillow on copies scaled to a fixed cell size, so the PNG stays small whatever the image sizes. Only the sampled
images are decoded. Samples are chosen deterministically (evenly spread over the split, annotated images first; one
class after another for classification), so re-pushing the same data gives the same picture.

Example::

    from . import load_yolo_dataset
    from .samples import save_samples_grid

    save_samples_grid(load_yolo_dataset("coco8/data.yaml"), "samples.png")
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from ..tasks import TASK_SPECS
from .dense import IGNORE_INDEX, decode_depth, decode_mask
from .metadata import YoloMetadata, read_metadata

__all__ = ["SAMPLES_FILENAME", "save_samples_grid", "sample_indices"]

logger = logging.getLogger(__name__)

#: File name of the picture, relative to the repository root (the card embeds it).
SAMPLES_FILENAME = "samples.png"

# Ultralytics' default annotation palette, so the grid looks like `yolo val` plots.
_PALETTE = (
    "042AFF", "0BDBEB", "F3F3F3", "00DFB7", "111F68", "FF6FDD", "FF444F", "CCED00", "00F344", "BD00FF",
    "00B4FF", "DD00BA", "00FFFF", "26C000", "01FFB3", "7D24FF", "7B0068", "FF1B6C", "FC6D2F", "A2FF0B",
)
_BACKGROUND = (32, 32, 32)
_GAP = 4
_MASK_ALPHA = 96


def _color(class_id: int) -> tuple[int, int, int]:
    code = _PALETTE[int(class_id) % len(_PALETTE)]
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


def _text_color(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black on light colors, white on dark ones."""
    return (0, 0, 0) if 0.299 * fill[0] + 0.587 * fill[1] + 0.114 * fill[2] > 150 else (255, 255, 255)


def _split_for_samples(dataset: datasets.DatasetDict) -> datasets.Dataset | None:
    """``train`` when present, else the first non-empty split."""
    for name in ("train", *dataset):
        if name in dataset and len(dataset[name]):
            return dataset[name]
    return None


def _spread(candidates: np.ndarray, count: int) -> list[int]:
    """``count`` entries of ``candidates`` evenly spread over it (all when there are fewer)."""
    if len(candidates) <= count:
        return [int(i) for i in candidates]
    positions = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    return [int(candidates[p]) for p in positions]


def sample_indices(split: datasets.Dataset, meta: YoloMetadata, count: int) -> list[int]:
    """Rows to show: evenly spread, annotated images first (detection-like), one class after another (classify).

    Args:
        split: The split to sample from.
        meta: Its YOLO metadata (task, names).
        count: How many rows at most.

    Returns:
        Row indices, in the order they are drawn.
    """
    table = split.with_format("arrow")
    if meta.task == "classify":
        labels = np.asarray(table.select_columns(["label"])[:]["label"].to_numpy(zero_copy_only=False))
        per_class = [_spread(np.flatnonzero(labels == c), count) for c in range(len(meta.names))]
        picked: list[int] = []
        for round_ in range(max((len(rows) for rows in per_class), default=0)):
            picked += [rows[round_] for rows in per_class if round_ < len(rows)]
        return picked[:count]
    if TASK_SPECS[meta.task].dense_column:
        return _spread(np.arange(len(split)), count)
    objects = table.select_columns(["objects"])[:]["objects"].combine_chunks()
    lengths = np.asarray(objects.field("category").value_lengths().fill_null(0).to_numpy())
    annotated = np.flatnonzero(lengths > 0)
    chosen = _spread(annotated, count)
    if len(chosen) < count:
        chosen += _spread(np.flatnonzero(lengths == 0), count - len(chosen))
    return chosen


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled font: nothing is downloaded
    except TypeError:  # Pillow < 10.1 has only the fixed-size bitmap font
        return ImageFont.load_default()


def _label(draw: Any, xy: tuple[float, float], text: str, fill: tuple[int, int, int], font: Any, limit: int) -> None:
    """A class name on a colored tag whose top-left corner is at ``xy`` (kept inside the tile)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width, height = right - left + 4, bottom - top + 2
    x = min(max(xy[0], 0), max(limit - width, 0))
    y = max(xy[1] - height, 0)
    draw.rectangle([x, y, x + width, y + height], fill=fill)
    draw.text((x + 2 - left, y + 1 - top), text, fill=_text_color(fill), font=font)


def _objects(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-object dicts from the ``objects`` dict of lists."""
    objects = row.get("objects") or {}
    keys = [k for k, v in objects.items() if isinstance(v, list)]
    count = len(objects.get("bbox") or [])
    return [{k: objects[k][i] for k in keys if i < len(objects[k])} for i in range(count)]


def _points(flat: list[float], scale: float) -> list[tuple[float, float]]:
    """``[x1, y1, x2, y2, ...]`` in pixels → scaled ``(x, y)`` pairs."""
    return [(float(flat[i]) * scale, float(flat[i + 1]) * scale) for i in range(0, len(flat) - 1, 2)]


def _draw_objects(image: Any, row: dict[str, Any], meta: YoloMetadata, scale: float, font: Any) -> Any:
    """Draw every object of ``row`` on ``image`` (already scaled by ``scale``); returns the new image."""
    from PIL import Image, ImageDraw

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    masks = ImageDraw.Draw(overlay)
    base = image.convert("RGBA")
    lines = ImageDraw.Draw(base)
    tags = []
    for obj in _objects(row):
        cls = int(obj["category"])
        color = _color(cls)
        x, y, w, h = (float(v) * scale for v in obj["bbox"])
        if meta.task == "segment":
            for polygon in obj.get("segmentation") or []:
                points = _points(polygon, scale)
                if len(points) >= 3:
                    masks.polygon(points, fill=(*color, _MASK_ALPHA), outline=(*color, 255))
        if meta.task == "obb" and obj.get("obb"):
            points = _points(obj["obb"], scale)
            lines.polygon(points, outline=color, width=2)
            top = min(points, key=lambda p: p[1])
            tags.append(((top[0], top[1]), cls))
            continue
        lines.rectangle([x, y, x + w, y + h], outline=color, width=2 if meta.task != "segment" else 1)
        for point in obj.get("keypoints") or []:
            if len(point) > 2 and float(point[2]) <= 0:
                continue  # not labeled / not visible
            px, py = float(point[0]) * scale, float(point[1]) * scale
            lines.ellipse([px - 3, py - 3, px + 3, py + 3], fill=color, outline=(255, 255, 255))
        tags.append(((x, y), cls))
    out = Image.alpha_composite(base, overlay)
    draw = ImageDraw.Draw(out)
    for xy, cls in tags:
        _label(draw, xy, meta.names[cls] if 0 <= cls < len(meta.names) else str(cls), _color(cls), font, out.width)
    return out.convert("RGB")


def _dense_overlay(image: Any, value: Any, meta: YoloMetadata) -> Any:
    """Blend a semantic mask (class colors) or a depth map (red near → blue far) over ``image`` (same aspect)."""
    from PIL import Image

    if meta.task == "semantic":
        ids = decode_mask(value["bytes"], "annotation")
        palette = np.array([_color(c) for c in range(256)], dtype=np.uint8)
        rgb = palette[np.clip(ids, 0, 255)]
        alpha = np.where(ids == IGNORE_INDEX, 0, 150).astype(np.uint8)
    else:
        depth = decode_depth(value, float((meta.extra or {}).get("depth_scale", 1000)))
        valid = depth > 0
        lo, hi = (float(depth[valid].min()), float(depth[valid].max())) if valid.any() else (0.0, 1.0)
        t = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
        rgb = np.stack([255 * (1 - t), 64 + 0 * t, 255 * t], axis=-1).astype(np.uint8)
        alpha = np.where(valid, 170, 0).astype(np.uint8)
    overlay = Image.fromarray(np.dstack([rgb, alpha]), "RGBA").resize(image.size, Image.NEAREST)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _tile(row: dict[str, Any], data: bytes, meta: YoloMetadata, cell: int, font: Any) -> Any:
    """One image, scaled to fit ``cell`` × ``cell`` and annotated."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")  # coordinates are in displayed pixels
    scale = min(cell / image.width, cell / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    image = image.resize(size, Image.BILINEAR)
    if meta.task == "classify":
        from PIL import ImageDraw

        label = int(row["label"])
        _label(ImageDraw.Draw(image), (0, 0), meta.names[label], _color(label), font, image.width)
        return image
    column = TASK_SPECS[meta.task].dense_column
    if column:
        return _dense_overlay(image, row[column], meta) if row.get(column) is not None else image
    return _draw_objects(image, row, meta, scale, font)


def save_samples_grid(
    dataset: datasets.DatasetDict | datasets.Dataset,
    path: str | os.PathLike,
    *,
    max_images: int = 12,
    columns: int = 4,
    cell: int = 256,
) -> Path | None:
    """Draw up to ``max_images`` sample images with their annotations into a PNG grid.

    Args:
        dataset: A dataset in this package's schema (``train`` is sampled, else the first split).
        path: The PNG to write.
        max_images: Images in the grid.
        columns: Images per row.
        cell: Size of each cell in pixels (images are scaled to fit, keeping their aspect ratio).

    Returns:
        ``path``, or None when the dataset has no image (nothing is written).
    """
    from PIL import Image

    splits = dataset if isinstance(dataset, datasets.DatasetDict) else datasets.DatasetDict({"train": dataset})
    meta = read_metadata(splits)
    split = _split_for_samples(splits)
    if split is None:
        logger.info("no images: no samples picture")
        return None
    indices = sample_indices(split, meta, max_images)
    font = _font(max(10, cell // 20))
    rows = split.select(indices).with_format("arrow")
    table = rows[:]
    images = table.column("image").combine_chunks().field("bytes").to_pylist()
    records = table.drop_columns(["image"]).to_pylist()
    tiles = [_tile(record, data, meta, cell, font) for record, data in zip(records, images) if data]
    if not tiles:
        return None
    columns = max(1, min(columns, len(tiles)))
    grid_rows = -(-len(tiles) // columns)
    cell_w, cell_h = max(t.width for t in tiles), max(t.height for t in tiles)  # no empty bands for 4:3 images
    canvas = Image.new("RGB", (columns * (cell_w + _GAP) + _GAP, grid_rows * (cell_h + _GAP) + _GAP), _BACKGROUND)
    for k, tile in enumerate(tiles):
        left = _GAP + (k % columns) * (cell_w + _GAP) + (cell_w - tile.width) // 2
        top = _GAP + (k // columns) * (cell_h + _GAP) + (cell_h - tile.height) // 2
        canvas.paste(tile, (left, top))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, "PNG")
    logger.debug("drew %d sample images into %s", len(tiles), out)
    return out
