"""Read a YOLO dataset's layout: ``data.yaml``, its splits, their images and the matching label files.

Resolution follows Ultralytics (``check_det_dataset``, ``BaseDataset.get_img_files``, ``img2label_paths``):

- ``path`` is the dataset root (default: the YAML's folder). A relative ``path`` is tried against the
  YAML's folder, then the working directory, then Ultralytics' ``datasets_dir`` setting.
- ``train``/``val``/``test`` are folders (searched recursively), ``.txt`` files listing one image per
  line (``./x`` is relative to the list file, other relative paths to the working directory as in
  Ultralytics, then to the list file's folder), or lists of those. ``validation:`` is read as ``val``.
- The label of ``.../images/.../x.jpg`` is ``.../labels/.../x.txt`` (the last ``/images/`` is replaced);
  without an ``images`` folder in the path the label sits next to the image.
- "Label file without an image" is checked in the label folders of folder splits (``.txt`` list splits may
  share label folders with other lists, so they are not checked); ``classes.txt`` is not a label file.
- A folder without YAML is read as ``images/<split>/`` + ``labels/<split>/`` (or ``images/`` alone →
  one ``train`` split); class names are then ``class_0..`` up to the largest id found.

Classification layouts (``<root>/<split>/<class>/<image>``) are in :mod:`.classify_layout`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import DatasetFormatError
from .image_header import IMG_FORMATS
from .report import ConversionReport

__all__ = [
    "SplitFiles",
    "YoloSource",
    "dataset_root",
    "extra_yaml_keys",
    "find_data_yaml",
    "img2label_path",
    "list_split_images",
    "read_data_yaml",
    "resolve_split_paths",
    "split_specs",
    "unsupported_suffix",
]

logger = logging.getLogger(__name__)

# Image-like suffixes Ultralytics silently ignores; strict mode reports them instead of dropping them.
_UNSUPPORTED_IMAGE_SUFFIXES = frozenset(
    {"gif", "svg", "ico", "jfif", "jpe", "pjpeg", "pjp", "pbm", "pgm", "ppm", "pnm", "tga", "psd", "exr", "hdr",
     "jxl", "apng", "pcx", "raw", "cr2", "nef", "arw"}
)
_SPLIT_KEYS = ("train", "val", "test")
_RESERVED_KEYS = {
    "path", "train", "val", "test", "validation", "minival", "names", "nc", "download", "yaml_file", "task"
}


@dataclass
class SplitFiles:
    """The images of one split.

    Attributes:
        name: Split name (``train``, ``val``, ``test``, ...).
        images: Absolute image paths, sorted like Ultralytics sorts them.
        file_names: Per image, its path relative to the split's image folder (kept for the round trip).
        label_roots: Label folders that belong to this split (for the "label without image" check).
        classes: Per image, the class index (classification layouts only).
    """

    name: str
    images: list[str]
    file_names: list[str]
    label_roots: list[str] = field(default_factory=list)
    classes: list[int] | None = None


@dataclass
class YoloSource:
    """A resolved YOLO dataset.

    Attributes:
        root: Dataset root.
        yaml_file: The ``data.yaml`` read, or None for a bare folder.
        names: Class names (may be empty until labels are scanned, for bare folders).
        splits: Split name → files.
        task: Task declared by the YAML (``task:`` key, ``kpt_shape`` → pose) or the layout, else None.
        kpt_shape: ``[K, D]`` for pose.
        flip_idx: Keypoint flip mapping for pose.
        extra: Other YAML keys, kept in the metadata.
    """

    root: Path
    yaml_file: Path | None
    names: list[str]
    splits: dict[str, SplitFiles]
    task: str | None = None
    kpt_shape: list[int] | None = None
    flip_idx: list[int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def unsupported_suffix(name: str) -> bool:
    """True for image-like suffixes that Ultralytics does not train on (``.gif``, ``.svg``, ...)."""
    return name.rpartition(".")[-1].lower() in _UNSUPPORTED_IMAGE_SUFFIXES


def img2label_path(image: str) -> str:
    """Label path of an image path, replacing the last ``/images/`` by ``/labels/`` like Ultralytics."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(image.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def find_data_yaml(folder: Path) -> Path | None:
    """The dataset YAML of a folder: ``data.yaml``/``data.yml``, else the only ``*.yaml``/``*.yml`` at its top."""
    for name in ("data.yaml", "data.yml"):
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for e in ("*.yaml", "*.yml") for p in folder.glob(e) if p.is_file())
    if len(candidates) > 1:
        candidates = [p for p in candidates if p.stem == folder.name] or candidates
    if len(candidates) > 1:
        raise DatasetFormatError(
            f"{folder}: several YAML files {[p.name for p in candidates]}. Fix: pass the data.yaml path itself."
        )
    return candidates[0] if candidates else None


def read_data_yaml(yaml_file: Path, *, strict: bool = True) -> dict[str, Any]:
    """Load and check a ``data.yaml``; returns the dict with ``names`` as a list and ``validation`` → ``val``.

    Raises:
        DatasetFormatError: Unreadable YAML, missing ``names`` (``nc`` alone is accepted when not strict),
            wrong key types, missing ``train``/``val`` keys (strict), bad ``kpt_shape``/``flip_idx``.
    """
    try:
        data = yaml.safe_load(yaml_file.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetFormatError(f"{yaml_file}: cannot read YAML ({exc}). Fix: make it valid YAML.") from exc
    if not isinstance(data, dict):
        raise DatasetFormatError(f"{yaml_file}: expected a mapping of keys (path, train, val, names, ...).")
    for key, types in {"path": (str,), "train": (str, list), "val": (str, list), "test": (str, list),
                       "names": (list, dict)}.items():
        if data.get(key) is not None and not isinstance(data[key], types):
            raise DatasetFormatError(
                f"{yaml_file}: '{key}' must be {' or '.join(t.__name__ for t in types)}, "
                f"not {type(data[key]).__name__}. Fix: correct the '{key}:' entry."
            )
    if "val" not in data and "validation" in data:
        data["val"] = data.pop("validation")
    if not data.get("train") and strict:
        raise DatasetFormatError(
            f"{yaml_file}: split key 'train' missing; Ultralytics requires 'train' and 'val'. "
            "Fix: add them (folders or .txt lists relative to 'path'), or pass strict=False."
        )
    if not data.get("val"):  # a dataset without validation split (to_yolo_folder writes one so): convert what exists
        logger.warning("%s: no 'val' split; converting the splits it has (Ultralytics' training needs 'val').",
                       yaml_file)
    data["names"] = _read_names(data, yaml_file, strict)
    _check_keypoints(data, yaml_file)
    return data


def _read_names(data: dict[str, Any], yaml_file: Path, strict: bool) -> list[str]:
    """``names`` as a list indexed by class id."""
    names, nc = data.get("names"), data.get("nc")
    if names is None:
        if strict or not isinstance(nc, int):
            raise DatasetFormatError(
                f"{yaml_file}: no 'names'. Fix: add 'names:' as a list or a dict {{0: name, ...}} "
                "(a bare 'nc:' is accepted with strict=False and gives class_0, class_1, ...)."
            )
        return [f"class_{i}" for i in range(nc)]
    if isinstance(names, dict):
        try:
            by_id = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise DatasetFormatError(f"{yaml_file}: 'names' keys must be class ids 0, 1, 2, ...") from None
        if sorted(by_id) != list(range(len(by_id))):
            raise DatasetFormatError(
                f"{yaml_file}: 'names' ids {sorted(by_id)} are not 0..{len(by_id) - 1}. "
                "Fix: number the classes contiguously from 0 (and renumber the label files)."
            )
        names = [by_id[i] for i in range(len(by_id))]
    names = [str(n) for n in names]
    if nc is not None and nc != len(names):
        raise DatasetFormatError(f"{yaml_file}: 'nc: {nc}' but {len(names)} names. Fix: make them agree.")
    return names


def _check_keypoints(data: dict[str, Any], yaml_file: Path) -> None:
    """Validate ``kpt_shape`` and ``flip_idx``."""
    shape, flip = data.get("kpt_shape"), data.get("flip_idx")
    if shape is None:
        return
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) for v in shape)
            and shape[0] > 0 and shape[1] in (2, 3)):
        raise DatasetFormatError(f"{yaml_file}: kpt_shape {shape!r} must be [K, 2] or [K, 3]. Fix: correct it.")
    if flip is not None and (not isinstance(flip, list) or sorted(flip) != list(range(shape[0]))):
        raise DatasetFormatError(
            f"{yaml_file}: flip_idx must be a permutation of 0..{shape[0] - 1}. Fix: correct or remove it."
        )


def dataset_root(data: dict[str, Any], yaml_file: Path) -> Path:
    """The dataset root a YAML designates (see module docstring for the search order)."""
    declared = data.get("path")
    if not declared:
        return yaml_file.parent.resolve()
    path = Path(declared).expanduser()
    if path.is_absolute():
        return path
    for base in (yaml_file.parent, Path.cwd()):
        if (base / path).exists():
            return (base / path).resolve()
    try:
        from ultralytics.utils import DATASETS_DIR

        if (Path(DATASETS_DIR) / path).exists():
            return (Path(DATASETS_DIR) / path).resolve()
    except Exception:  # settings unreadable: fall back to the YAML's folder
        pass
    return (yaml_file.parent / path).resolve()


def resolve_split_paths(spec: str | list[str], root: Path) -> list[Path]:
    """Absolute folder/list paths of one split declaration (``../x`` falls back to ``x`` like Ultralytics)."""
    paths = []
    for item in spec if isinstance(spec, list) else [spec]:
        path = (root / str(item)).resolve()
        if not path.exists() and str(item).startswith("../"):
            path = (root / str(item)[3:]).resolve()
        paths.append(path)
    return paths


def list_split_images(
    name: str, sources: list[Path], *, source: str, strict: bool, report: ConversionReport
) -> SplitFiles:
    """List a split's images from folders and ``.txt`` lists.

    Raises:
        DatasetFormatError: A declared path does not exist, a listed image is missing, or (strict) an
            image has a format Ultralytics does not support.
    """
    found: dict[str, str] = {}  # image path -> file_name
    label_roots: list[str] = []
    for path in sources:
        if path.is_dir():
            label_root = os.path.dirname(img2label_path(os.path.join(str(path), "x.jpg")))
            if label_root != str(path):
                label_roots.append(label_root)
            for image in _walk_images(path, strict=strict, report=report):
                found.setdefault(image, os.path.relpath(image, path))
        elif path.is_file():
            for image in _read_list_file(path, strict=strict, report=report):
                found.setdefault(image, _relative_name(image))
        else:
            raise DatasetFormatError(
                f"{source}: split '{name}' path {path} does not exist. Fix: correct the '{name}:' entry "
                "(relative to 'path') or create the folder."
            )
    images = sorted(found)
    return SplitFiles(name=name, images=images, file_names=[found[i] for i in images], label_roots=label_roots)


def _walk_images(folder: Path, *, strict: bool, report: ConversionReport) -> list[str]:
    """Image files under ``folder`` (recursive, hidden entries skipped like Ultralytics' glob)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            full = os.path.join(dirpath, filename)
            if filename.rpartition(".")[-1].lower() in IMG_FORMATS:
                out.append(full)
            elif unsupported_suffix(filename):
                _unsupported(full, strict, report)
    return out


def _read_list_file(list_file: Path, *, strict: bool, report: ConversionReport) -> list[str]:
    """Image paths named by a ``.txt`` list file."""
    parent = list_file.parent
    out = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        if entry.startswith("./"):
            candidates = [parent / entry[2:]]
        else:
            candidates = [Path(entry), parent / entry] if not os.path.isabs(entry) else [Path(entry)]
        path = next((p for p in candidates if p.is_file()), None)
        suffix = entry.rpartition(".")[-1].lower()
        if suffix not in IMG_FORMATS:
            if unsupported_suffix(entry):
                _unsupported(f"{list_file}:{number}: {entry}", strict, report)
            continue  # Ultralytics drops non-image entries silently
        if path is None:
            message = f"{list_file}:{number}: listed image {entry} does not exist"
            if strict:
                raise DatasetFormatError(f"{message}. Fix: correct or remove the line (or pass strict=False).")
            report.add("missing_image", f"{message}; skipped")
            continue
        out.append(os.path.abspath(path))
    return out


def _relative_name(image: str) -> str:
    """File name kept for an image from a list: the part after the last ``/images/``, else the base name."""
    marker = f"{os.sep}images{os.sep}"
    return image.rsplit(marker, 1)[1] if marker in image else os.path.basename(image)


def _unsupported(where: str, strict: bool, report: ConversionReport) -> None:
    """Raise or count an image in a format Ultralytics ignores."""
    message = f"{where}: unsupported image format"
    if strict:
        raise DatasetFormatError(
            f"{message}. Fix: convert it to one of {sorted(IMG_FORMATS)} or move it out of the dataset "
            "(or pass strict=False to skip it)."
        )
    report.add("unsupported_format", f"{message}; skipped")


def extra_yaml_keys(data: dict[str, Any]) -> dict[str, Any]:
    """YAML keys worth keeping in the metadata (``download`` is dropped: it names code to run)."""
    return {k: v for k, v in data.items() if k not in _RESERVED_KEYS | {"kpt_shape", "flip_idx"}}


def split_specs(data: dict[str, Any]) -> dict[str, Any]:
    """Split name → declaration, in YAML order (train, val, test, then other list-valued keys like minival)."""
    specs = {k: data[k] for k in _SPLIT_KEYS if data.get(k)}
    if data.get("minival"):
        specs["minival"] = data["minival"]
    return specs
