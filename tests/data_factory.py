"""Deterministic generator of small YOLO (and COCO) datasets for tests and benchmarks.

Every image is drawn from the labels it ships with (rectangles, polygons, rotated boxes, keypoints,
class shapes), so labels are correct by construction. Same arguments → byte-identical files.

Example::

    data_yaml = make_yolo_dataset(tmp_path / "ds", "segment", splits={"train": 6, "val": 2})
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw

__all__ = ["make_yolo_dataset", "make_dense_dataset", "make_coco_dataset", "CLASS_NAMES", "SEMANTIC_NAMES",
           "KPT_SHAPE", "FLIP_IDX", "DEPTH_SCALE"]

CLASS_NAMES = ["circle", "square", "triangle"]
#: Semantic masks: 0 is the background class, shapes are 1.. (255 marks the ignored frame of each mask).
SEMANTIC_NAMES = ["background", *CLASS_NAMES]
#: PNG value of one metre in generated depth maps (Ultralytics' default).
DEPTH_SCALE = 1000
KPT_SHAPE = [4, 3]
FLIP_IDX = [1, 0, 3, 2]
_COLORS = [(230, 40, 40), (40, 200, 60), (50, 80, 230)]


def _fmt(v: float) -> str:
    return f"{v:.6f}"


def _canvas(rng: random.Random, size: tuple[int, int], texture: bool) -> Image.Image:
    if texture:  # smooth noise plus grain: compresses like a photo (tens of kB per 640x480 JPEG)
        gen = np.random.default_rng(rng.randrange(2**32))
        coarse = gen.integers(40, 220, (max(size[1] // 16, 1), max(size[0] // 16, 1), 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize(size, Image.BICUBIC), dtype=np.int16)
        grain = gen.integers(-12, 13, (size[1], size[0], 1), dtype=np.int16)
        return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))
    shade = rng.randrange(90, 170)
    return Image.new("RGB", size, (shade, shade, shade))


def _box(rng: random.Random, w: int, h: int) -> tuple[float, float, float, float]:
    bw, bh = rng.uniform(0.15, 0.45) * w, rng.uniform(0.15, 0.45) * h
    x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
    return x0, y0, bw, bh


def _polygon(rng: random.Random, w: int, h: int) -> list[tuple[float, float]]:
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    r = rng.uniform(0.1, 0.25) * min(w, h)
    k = rng.randrange(3, 7)
    angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(k))
    return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]


def _rotated_rect(rng: random.Random, w: int, h: int) -> list[tuple[float, float]]:
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
    rw, rh = rng.uniform(0.1, 0.3) * min(w, h), rng.uniform(0.05, 0.2) * min(w, h)
    a = rng.uniform(0, math.pi)
    ca, sa = math.cos(a), math.sin(a)
    return [(cx + dx * ca - dy * sa, cy + dx * sa + dy * ca) for dx, dy in
            ((-rw, -rh), (rw, -rh), (rw, rh), (-rw, rh))]


def _draw_object(task: str, rng: random.Random, draw: ImageDraw.ImageDraw, cls: int, w: int, h: int) -> str:
    """Draw one object and return its label line."""
    color = _COLORS[cls % len(_COLORS)]
    if task in {"detect", "pose"}:
        x0, y0, bw, bh = _box(rng, w, h)
        draw.rectangle([x0, y0, x0 + bw, y0 + bh], outline=color, width=2)
        values = [(x0 + bw / 2) / w, (y0 + bh / 2) / h, bw / w, bh / h]
        if task == "pose":
            for k in range(KPT_SHAPE[0]):
                if k == KPT_SHAPE[0] - 1 and rng.random() < 0.5:
                    values += [0.0, 0.0, 0.0]  # an unlabeled keypoint
                    continue
                px, py = x0 + rng.uniform(0.1, 0.9) * bw, y0 + rng.uniform(0.1, 0.9) * bh
                draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=color)
                values += [px / w, py / h, float(rng.choice([1, 2]))]
        return " ".join([str(cls)] + [_fmt(v) for v in values])
    points = _polygon(rng, w, h) if task == "segment" else _rotated_rect(rng, w, h)
    draw.polygon(points, fill=color)
    return " ".join([str(cls)] + [_fmt(c / (w if i % 2 == 0 else h)) for p in points for i, c in enumerate(p)])


def _save(img: Image.Image, path: Path, image_format: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if image_format in {"jpg", "jpeg"}:
        img.save(path, "JPEG", quality=90)
    else:
        img.save(path, image_format.upper())


def make_yolo_dataset(
    root: str | Path,
    task: str = "detect",
    *,
    splits: dict[str, int] | None = None,
    image_size: tuple[int, int] = (64, 48),
    image_format: str = "jpg",
    backgrounds: int = 1,
    max_objects: int = 3,
    layout: str = "folders",
    texture: bool = False,
    seed: int = 0,
) -> Path:
    """Write a YOLO dataset and return its ``data.yaml`` (the root folder for ``classify``).

    Args:
        root: Folder to create.
        task: ``detect``, ``segment``, ``pose``, ``obb`` or ``classify``.
        splits: Images per split (default ``{"train": 6, "val": 3}``).
        image_size: ``(width, height)``.
        image_format: ``jpg`` or ``png``.
        backgrounds: Per split, how many of the last images have no object (the first of them has no label
            file, the others an empty one).
        max_objects: Objects per image are drawn from ``1..max_objects``.
        layout: ``folders`` (``train: images/train``) or ``lists`` (``train: train.txt`` listing ``./images/...``).
        texture: Noisy backgrounds (realistic JPEG sizes, for benchmarks).
        seed: Random seed.
    """
    root = Path(root)
    splits = splits or {"train": 6, "val": 3}
    if task in {"semantic", "depth"}:
        return make_dense_dataset(root, task, splits=splits, image_size=image_size, image_format=image_format,
                                  max_objects=max_objects, seed=seed)
    rng = random.Random(seed)
    w, h = image_size
    if task == "classify":
        for split, n in splits.items():
            for i in range(n):
                cls = i % len(CLASS_NAMES)
                img = _canvas(rng, image_size, texture)
                _draw_object("segment", rng, ImageDraw.Draw(img), cls, w, h)
                _save(img, root / split / CLASS_NAMES[cls] / f"{split}_{i:05d}.{image_format}", image_format)
        return root
    data: dict = {"path": str(root.resolve())}
    for split, n in splits.items():
        listed = []
        for i in range(n):
            img = _canvas(rng, image_size, texture)
            draw = ImageDraw.Draw(img)
            background = i >= n - backgrounds
            lines = [] if background else [
                _draw_object(task, rng, draw, rng.randrange(len(CLASS_NAMES)), w, h)
                for _ in range(rng.randint(1, max_objects))
            ]
            stem = f"{split}_{i:05d}"
            _save(img, root / "images" / split / f"{stem}.{image_format}", image_format)
            listed.append(f"./images/{split}/{stem}.{image_format}")
            label = root / "labels" / split / f"{stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            if not background or i == n - backgrounds + 1:  # 1st background: no file, 2nd: empty file
                label.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        if layout == "lists":
            (root / f"{split}.txt").write_text("\n".join(listed) + "\n", encoding="utf-8")
            data[split] = f"{split}.txt"
        else:
            data[split] = f"images/{split}"
    data["names"] = dict(enumerate(CLASS_NAMES))
    if task == "pose":
        data["kpt_shape"] = KPT_SHAPE
        data["flip_idx"] = FLIP_IDX
    yaml_file = root / "data.yaml"
    yaml_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return yaml_file


def make_dense_dataset(
    root: str | Path,
    task: str,
    *,
    splits: dict[str, int] | None = None,
    image_size: tuple[int, int] = (64, 48),
    image_format: str = "jpg",
    max_objects: int = 3,
    depth_format: str = "png",
    masks_dir: str = "masks",
    seed: int = 0,
) -> Path:
    """Write an Ultralytics 8.4 semantic (``masks_dir``) or depth dataset and return its ``data.yaml``.

    Semantic: each image shows filled shapes; its mask (``<masks_dir>/<split>/<stem>.png``, mode ``L``) holds
    class ``1 + shape`` inside them, 0 elsewhere and 255 (ignore) on a 1-pixel frame. Depth: a floor receding from
    1 m (bottom row) to 4 m (top row) with shapes standing at 0.6-0.9 m; the image's brightness encodes depth so a
    model can learn it; maps are uint16 PNG (metres x ``DEPTH_SCALE``, the top-left 4x4 pixels 0 = invalid) or
    ``.npy`` float32 metres (NaN there).
    """
    root = Path(root)
    splits = splits or {"train": 6, "val": 3}
    rng = random.Random(seed)
    w, h = image_size
    data: dict = {"path": str(root.resolve())}
    for split, n in splits.items():
        for i in range(n):
            stem = f"{split}_{i:05d}"
            shapes = [(rng.randrange(len(CLASS_NAMES)), _polygon(rng, w, h)) for _ in range(rng.randint(1, max_objects))]
            if task == "semantic":
                img, mask = _canvas(rng, image_size, False), Image.new("L", image_size, 0)
                draw, paint = ImageDraw.Draw(img), ImageDraw.Draw(mask)
                for cls, points in shapes:
                    draw.polygon(points, fill=_COLORS[cls])
                    paint.polygon(points, fill=cls + 1)
                paint.rectangle([0, 0, w - 1, h - 1], outline=255)
                _save(img, root / "images" / split / f"{stem}.{image_format}", image_format)
                _save(mask, root / masks_dir / split / f"{stem}.png", "png")
                continue
            depth = np.repeat(np.linspace(4.0, 1.0, h, dtype=np.float32)[:, None], w, axis=1)
            near = Image.new("L", image_size, 0)
            for _, points in shapes:
                ImageDraw.Draw(near).polygon(points, fill=1 + rng.randrange(4))
            near_level = np.asarray(near)
            depth = np.where(near_level > 0, 0.5 + 0.1 * near_level, depth).astype(np.float32)
            gray = np.clip(255 - depth * 55, 0, 255).astype(np.uint8)
            _save(Image.fromarray(np.stack([gray] * 3, axis=-1)), root / "images" / split / f"{stem}.{image_format}",
                  image_format)
            target = root / "depth" / split / f"{stem}.{depth_format}"
            target.parent.mkdir(parents=True, exist_ok=True)
            if depth_format == "npy":
                depth[:4, :4] = np.nan
                np.save(target, depth)
            else:
                encoded = np.rint(depth * DEPTH_SCALE).astype(np.uint16)
                encoded[:4, :4] = 0
                Image.fromarray(encoded).save(target, "PNG")
        data[split] = f"images/{split}"
    if task == "semantic":
        data["masks_dir"] = masks_dir
        data["names"] = dict(enumerate(SEMANTIC_NAMES))
    else:
        data["names"] = {0: "depth"}
        data["depth_scale"] = DEPTH_SCALE
    yaml_file = root / "data.yaml"
    yaml_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return yaml_file


def make_coco_dataset(
    root: str | Path, task: str = "detect", *, n_images: int = 4, image_size: tuple[int, int] = (64, 48), seed: int = 0
) -> tuple[Path, Path]:
    """Write a COCO instances dataset; returns ``(annotations_json, images_dir)``.

    Category ids are 1, 3 and 7 (not contiguous); image ids start at 100; one image has no annotation and
    one annotation is a crowd (``iscrowd: 1``) which converters skip.
    """
    root = Path(root)
    rng = random.Random(seed)
    w, h = image_size
    cat_ids = [1, 3, 7]
    categories = [{"id": cid, "name": name, "supercategory": "shape"} for cid, name in zip(cat_ids, CLASS_NAMES)]
    if task == "pose":
        for cat in categories:
            cat["keypoints"] = [f"p{k}" for k in range(KPT_SHAPE[0])]
            cat["skeleton"] = [[1, 2], [3, 4]]
    images, annotations = [], []
    ann_id = 1000
    for i in range(n_images):
        img = _canvas(rng, image_size, False)
        draw = ImageDraw.Draw(img)
        image_id = 100 + i
        file_name = f"{i:06d}.jpg"
        images.append({"id": image_id, "file_name": file_name, "width": w, "height": h})
        for _ in range(0 if i == n_images - 1 else rng.randint(1, 2)):
            k = rng.randrange(len(CLASS_NAMES))
            line = [float(v) for v in _draw_object(task, rng, draw, k, w, h).split()]
            ann = {"id": ann_id, "image_id": image_id, "category_id": cat_ids[k], "iscrowd": 0}
            ann_id += 1
            if task == "segment":
                poly = [v * (w if j % 2 == 0 else h) for j, v in enumerate(line[1:])]
                xs, ys = poly[0::2], poly[1::2]
                ann["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
                ann["segmentation"] = [poly]
            else:
                cx, cy, bw, bh = line[1] * w, line[2] * h, line[3] * w, line[4] * h
                ann["bbox"] = [cx - bw / 2, cy - bh / 2, bw, bh]
                if task == "pose":
                    kp = line[5:]
                    scale = (w, h, 1)
                    ann["keypoints"] = [v * scale[j % 3] for j, v in enumerate(kp)]
                    ann["num_keypoints"] = sum(1 for j in range(2, len(kp), 3) if kp[j] > 0)
            ann["area"] = ann["bbox"][2] * ann["bbox"][3]
            annotations.append(ann)
        _save(img, root / "images" / file_name, "jpg")
    annotations.append(
        {"id": ann_id, "image_id": 100, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 5, 5], "area": 25,
         "segmentation": {"counts": [0, 25], "size": [h, w]}}
    )
    ann_file = root / "annotations.json"
    ann_file.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return ann_file, root / "images"
