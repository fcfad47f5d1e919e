"""Per-pixel targets of Ultralytics 8.4 datasets: semantic-segmentation masks and depth maps.

Layouts (``ultralytics.data.dataset.SemanticDataset`` / ``DepthDataset``, ``ultralytics.data.utils.load_depth``):

- **semantic**: ``masks_dir: <folder>`` in ``data.yaml`` (or a ``masks/`` folder in the dataset root, which
  Ultralytics' ``check_det_dataset`` then selects). The mask of ``.../images/.../x.jpg`` is
  ``.../<masks_dir>/.../x.png`` (another image suffix is accepted), a single-channel image of class ids
  (mode ``L``, ``P``, ``1`` or 16-bit), same size as the image; 255 means "ignore". An optional ``label_mapping``
  (raw id → class id or ``ignore_label``) is applied before the ids are checked, as Ultralytics does.
- **depth**: ``task: depth``, a ``depth_scale:`` key, or a ``depth/`` folder in the dataset root. The depth map of
  ``.../images/.../x.jpg`` is ``.../depth/.../x.png`` (uint16, metres = value / ``depth_scale``, default 1000 so
  1 = 1 mm; 0 = invalid) or, when no PNG exists, ``x.npy`` (2-D float array in metres, NaN/inf/≤0 invalid). Its
  aspect ratio must match the image's within 2 % (Ultralytics resizes it to the image).

In a ``datasets`` row the target is stored exactly as on disk: ``annotation`` (an ``Image``: the mask file, like
the Hub's scene_parse_150) or ``depth_map`` (an ``Image`` for PNG depth, raw ``.npy`` bytes as ``binary`` for NPY
depth). :func:`decode_mask` and :func:`decode_depth` turn them into arrays.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from PIL import Image

from ..errors import DatasetFormatError
from ..tasks import TASK_SPECS
from .image_header import IMG_FORMATS

__all__ = [
    "DENSE_TASKS",
    "DEFAULT_DEPTH_SCALE",
    "IGNORE_INDEX",
    "DenseSpec",
    "dense_kind",
    "dense_spec",
    "target_path",
    "target_feature",
    "read_target",
    "decode_mask",
    "decode_depth",
    "depth_format_of",
]

#: Tasks whose targets are per-pixel maps (a ``dense_column`` in the task table).
DENSE_TASKS: tuple[str, ...] = tuple(name for name, spec in TASK_SPECS.items() if spec.dense_column)
#: Mask value that marks pixels without a label (Ultralytics' ignore label).
IGNORE_INDEX = 255
#: PNG depth value of one metre when ``depth_scale`` is not given (Ultralytics' ``DEPTH_PNG_SCALE``).
DEFAULT_DEPTH_SCALE = 1000.0
_DEFAULT_MASKS_DIR = "masks"
_DEPTH_DIR = "depth"
_ASPECT_TOLERANCE = 0.02  # |log(aspect ratio of depth / of image)|, as Ultralytics' verify_image_depth


@dataclass(frozen=True)
class DenseSpec:
    """How one dataset stores its per-pixel targets.

    Attributes:
        task: ``semantic`` or ``depth``.
        masks_dir: Folder name replacing ``images`` in mask paths (semantic).
        depth_scale: PNG value of one metre (depth).
        label_lut: 256-entry raw id → class id table from ``label_mapping`` (semantic; identity without one).
        num_classes: Number of class names (semantic ids must be below it, or 255).
    """

    task: str
    masks_dir: str = _DEFAULT_MASKS_DIR
    depth_scale: float = DEFAULT_DEPTH_SCALE
    label_lut: tuple[int, ...] = tuple(range(256))
    num_classes: int = 0


def dense_kind(data: dict[str, Any], root: Path) -> str | None:
    """``semantic`` or ``depth`` when a ``data.yaml`` (and its root) describes such a dataset, else None.

    ``task:``, ``masks_dir:`` and ``depth_scale:`` decide; a ``masks/`` or ``depth/`` folder in the root decides
    only when there is no ``labels/`` folder (a detection dataset may carry other folders).
    """
    if data.get("task") in DENSE_TASKS:
        return data["task"]
    if data.get("masks_dir") is not None:
        return "semantic"
    if data.get("depth_scale") is not None:
        return "depth"
    if not (root / "labels").is_dir():
        if (root / _DEFAULT_MASKS_DIR).is_dir():
            return "semantic"
        if (root / _DEPTH_DIR).is_dir():
            return "depth"
    return None


def dense_spec(task: str, data: dict[str, Any], source: str) -> DenseSpec:
    """Read and check ``masks_dir`` / ``label_mapping`` (semantic) or ``depth_scale`` (depth) from ``data.yaml``.

    Raises:
        DatasetFormatError: A key has the wrong type or an unsafe value (naming ``source`` and the key).
    """
    if task == "depth":
        scale = data.get("depth_scale", DEFAULT_DEPTH_SCALE)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
            raise DatasetFormatError(
                f"{source}: depth_scale {scale!r} must be a positive number (PNG value of one metre, e.g. 1000). "
                "Fix: correct 'depth_scale:'."
            )
        return DenseSpec(task="depth", depth_scale=float(scale))
    folder = data.get("masks_dir", _DEFAULT_MASKS_DIR)
    if not isinstance(folder, str) or not folder or folder in {".", ".."} or "/" in folder or "\\" in folder:
        raise DatasetFormatError(
            f"{source}: masks_dir {folder!r} must be one folder name (it replaces 'images' in each image path). "
            "Fix: set 'masks_dir: masks'."
        )
    names = data.get("names") or []
    return DenseSpec(task="semantic", masks_dir=folder, label_lut=_label_lut(data.get("label_mapping"), source),
                     num_classes=len(names))


def _label_lut(mapping: Any, source: str) -> tuple[int, ...]:
    """``label_mapping`` (raw id → id or ``ignore_label``) as a 256-entry table, like Ultralytics' SemanticDataset."""
    lut = list(range(256))
    if mapping is None:
        return tuple(lut)
    if not isinstance(mapping, dict):
        raise DatasetFormatError(f"{source}: label_mapping must be a mapping raw id → class id. Fix: correct it.")
    for raw, target in mapping.items():
        try:
            raw_id = int(raw)
            value = IGNORE_INDEX if target in (None, "ignore_label") else int(target)
        except (TypeError, ValueError):
            raise DatasetFormatError(
                f"{source}: label_mapping entry {raw!r}: {target!r} is not 'id: id' or 'id: ignore_label'. Fix: correct it."
            ) from None
        if 0 <= raw_id < 256:
            lut[raw_id] = value
    return tuple(lut)


def target_path(spec: DenseSpec, image: str) -> str:
    """Mask or depth file of an image (the last ``images`` folder replaced; other suffixes tried like Ultralytics)."""
    if spec.task == "semantic":
        marker, folder = f"{os.sep}images{os.sep}", f"{os.sep}{spec.masks_dir}{os.sep}"
        stem = folder.join(image.rsplit(marker, 1)).rsplit(".", 1)[0]
        candidates = [f"{stem}.png"] + [f"{stem}.{ext}" for ext in sorted(IMG_FORMATS) if ext != "png"]
    else:
        parts = list(Path(image).parts)
        for i in range(len(parts) - 1, -1, -1):
            if parts[i] == "images":
                parts[i] = _DEPTH_DIR
                break
        stem = str(Path(*parts).with_suffix(""))
        candidates = [f"{stem}.png", f"{stem}.npy"]
    return next((c for c in candidates if os.path.isfile(c)), candidates[0])


def depth_format_of(paths: list[str]) -> str:
    """``png`` or ``npy``: the one format of a dataset's depth files.

    Raises:
        DatasetFormatError: Both formats are used (the dataset column has one type).
    """
    formats = {p.rsplit(".", 1)[-1].lower() for p in paths if os.path.isfile(p)}
    if len(formats) > 1:
        npy = next(p for p in paths if p.lower().endswith(".npy") and os.path.isfile(p))
        raise DatasetFormatError(
            f"{npy}: depth maps mix .png and .npy files. Fix: save them all in one format "
            "(ultralytics.data.utils.save_depth_png writes the PNG form)."
        )
    return formats.pop() if formats else "png"


def target_feature(task: str, depth_format: str = "png") -> datasets.features.features.FeatureType:
    """The ``datasets`` feature of the target column (``Image`` for masks and PNG depth, ``binary`` for NPY)."""
    if task == "depth" and depth_format == "npy":
        return datasets.Value("binary")
    return datasets.Image()


def read_target(spec: DenseSpec, path: str, size: tuple[int, int]) -> dict[str, Any] | bytes:
    """Read and check the mask or depth map of an image of ``size`` = (width, height).

    Returns:
        The value of the target column: ``{"bytes", "path"}`` (file name) for images, raw bytes for NPY depth.

    Raises:
        DatasetFormatError: Missing or unreadable file, wrong size or type, class ids outside the class list
            (naming the file and the values).
    """
    if not os.path.isfile(path):
        kind = "mask" if spec.task == "semantic" else "depth map"
        raise DatasetFormatError(f"{path}: {kind} missing for its image. Fix: add it or remove the image")
    with open(path, "rb") as handle:
        data = handle.read()
    if spec.task == "semantic":
        mask = decode_mask(data, path)
        _check_size(path, (mask.shape[1], mask.shape[0]), size, exact=True)
        ids = np.unique(mask)
        if ids.size and ids.max() > 255:
            raise DatasetFormatError(f"{path}: mask ids {ids[ids > 255][:5].tolist()} exceed 255. Fix: use 0..nc-1, 255.")
        mapped = np.unique(np.asarray(spec.label_lut, dtype=np.int64)[ids.astype(np.int64)])
        bad = mapped[(mapped > max(spec.num_classes - 1, 1)) & (mapped != IGNORE_INDEX)]
        if bad.size:
            raise DatasetFormatError(
                f"{path}: mask ids {bad.tolist()} are not class ids 0..{spec.num_classes - 1} or {IGNORE_INDEX} "
                "(ignore). Fix: correct the mask, add the classes to 'names', or map them with 'label_mapping'"
            )
        return {"bytes": data, "path": os.path.basename(path)}
    depth_size = _depth_size(data, path)
    _check_size(path, depth_size, size, exact=False)
    if path.lower().endswith(".npy"):
        return data
    return {"bytes": data, "path": os.path.basename(path)}


def _check_size(path: str, got: tuple[int, int], image: tuple[int, int], *, exact: bool) -> None:
    """Masks match their image exactly; depth maps in aspect ratio."""
    if exact and got != image:
        raise DatasetFormatError(f"{path}: mask is {got[0]}x{got[1]}, its image {image[0]}x{image[1]}. Fix: resize it")
    if not exact and abs(math.log((got[0] / got[1]) / (image[0] / image[1]))) > _ASPECT_TOLERANCE:
        raise DatasetFormatError(
            f"{path}: depth map {got[0]}x{got[1]} does not match the aspect ratio of its image {image[0]}x{image[1]}. "
            "Fix: save it at the image's size"
        )


def decode_mask(data: bytes, source: str) -> np.ndarray:
    """Class ids of an encoded mask, like Ultralytics' ``read_mask``: ``(H, W)`` integer array.

    Palette (``P``) masks give their indices, unless the palette is grey (then the grey levels); 1-bit masks 0/1.

    Raises:
        DatasetFormatError: Not a readable single-channel image.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            mode = image.mode
            if mode == "P":
                palette = np.array(image.getpalette() or [0, 0, 0]).reshape(-1, 3)
                array = np.array(image.convert("L") if (palette == palette[:, :1]).all() else image)
            elif mode in {"L", "1", "I", "I;16", "I;16B", "I;16L"}:
                array = np.array(image)
            else:
                raise DatasetFormatError(
                    f"{source}: mask mode {mode} is not a single-channel class-id image. Fix: save it as an 8-bit "
                    "grey (L) or palette (P) PNG of class ids"
                )
    except DatasetFormatError:
        raise
    except Exception as exc:  # Pillow raises many types on corrupt input
        raise DatasetFormatError(f"{source}: unreadable mask ({exc}). Fix: re-save it as a PNG") from exc
    return array.astype(np.int64 if array.dtype != np.bool_ else np.uint8)


def _depth_size(data: bytes, source: str) -> tuple[int, int]:
    """(width, height) of a depth PNG (uint16/int grey) or NPY (2-D float) without keeping the pixels."""
    if source.lower().endswith(".npy") or data[:6] == b"\x93NUMPY":
        array = _load_npy(data, source)
        return array.shape[1], array.shape[0]
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG" or image.mode not in {"I", "I;16", "I;16B", "I;16L"}:
                raise DatasetFormatError(
                    f"{source}: depth map is {image.format} mode {image.mode}, not a 16-bit grey PNG. Fix: save it "
                    "with ultralytics.data.utils.save_depth_png (uint16, value / depth_scale = metres)"
                )
            size = image.size
            image.verify()
    except DatasetFormatError:
        raise
    except Exception as exc:
        raise DatasetFormatError(f"{source}: unreadable depth map ({exc}). Fix: re-save it") from exc
    return size


def _load_npy(data: bytes, source: str) -> np.ndarray:
    """A 2-D float array from ``.npy`` bytes (never unpickles)."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise DatasetFormatError(f"{source}: unreadable .npy depth map ({exc}). Fix: save it with numpy.save") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 2 or array.dtype.kind != "f":
        raise DatasetFormatError(
            f"{source}: depth .npy must be a 2-D float array in metres, got {getattr(array, 'shape', '?')} "
            f"{getattr(array, 'dtype', '?')}. Fix: save a (H, W) float32 array"
        )
    return array


def decode_depth(value: Any, depth_scale: float = DEFAULT_DEPTH_SCALE) -> np.ndarray:
    """Metric depth of a ``depth_map`` value: ``(H, W)`` float32 metres, 0 where invalid.

    Args:
        value: PNG bytes, ``{"bytes": ...}`` (an undecoded ``Image`` value), a decoded ``PIL.Image`` or NPY bytes.
        depth_scale: PNG value of one metre (the dataset's ``depth_scale``).
    """
    if isinstance(value, dict):
        value = value.get("bytes")
    if isinstance(value, (bytes, bytearray)) and bytes(value[:6]) == b"\x93NUMPY":
        depth = _load_npy(bytes(value), "depth_map").astype(np.float32)
        depth = np.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
        return np.where(depth > 0, depth, 0.0).astype(np.float32)
    if isinstance(value, (bytes, bytearray)):
        with Image.open(io.BytesIO(bytes(value))) as image:
            encoded = np.array(image)
    else:
        encoded = np.array(value)
    return encoded.astype(np.float32) / float(depth_scale)
