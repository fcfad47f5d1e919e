"""Classification folders: ``<root>/<split>/<class_name>/<image>`` (Ultralytics ``check_cls_dataset``).

Splits are ``train``, ``val`` (also found as ``validation`` or ``valid``) and ``test``. Class names come
from a ``data.yaml`` in the root when there is one (``to_yolo_folder`` writes it so that the class order
survives), else from the sorted folder names of ``train`` as in Ultralytics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DatasetFormatError
from .image_header import IMG_FORMATS
from .report import ConversionReport
from .yolo_format import SplitFiles, YoloSource, extra_yaml_keys, unsupported_suffix

__all__ = ["is_classify_layout", "read_classify_source"]

_SPLIT_DIRS = {"train": ("train",), "val": ("val", "validation", "valid"), "test": ("test",)}


def is_classify_layout(root: Path) -> bool:
    """True when ``root`` has a ``train`` folder of class folders and no ``images`` folder."""
    train = root / "train"
    if not train.is_dir() or (root / "images").is_dir():
        return False
    return any(p.is_dir() and not p.name.startswith(".") for p in train.iterdir())


def read_classify_source(
    root: Path, data: dict[str, Any] | None, yaml_file: Path | None, *, strict: bool, report: ConversionReport
) -> YoloSource:
    """Resolve a classification dataset.

    Args:
        root: Dataset root.
        data: The parsed ``data.yaml`` when there is one (its ``names`` and split entries are used).
        yaml_file: That YAML's path.
        strict: Raise on problems instead of skipping.
        report: Where non-strict mode counts what it skipped.

    Raises:
        DatasetFormatError: No ``train`` split, a class folder not in ``names``, an image outside a class
            folder or in an unsupported format (strict).
    """
    split_dirs = _split_dirs(root, data)
    if "train" not in split_dirs:
        raise DatasetFormatError(f"{root}: no 'train' folder of class folders. Fix: create {root}/train/<class>/.")
    names = list((data or {}).get("names") or [])
    if not names:
        names = sorted(p.name for p in split_dirs["train"].iterdir() if p.is_dir() and not p.name.startswith("."))
    index = {n: i for i, n in enumerate(names)}
    splits = {}
    for split, folder in split_dirs.items():
        splits[split] = _list_split(split, folder, index, strict=strict, report=report)
    return YoloSource(
        root=root,
        yaml_file=yaml_file,
        names=names,
        splits=splits,
        task="classify",
        extra=extra_yaml_keys(data or {}),
    )


def _split_dirs(root: Path, data: dict[str, Any] | None) -> dict[str, Path]:
    """Split name → folder, from the YAML entries when given, else by the conventional folder names."""
    out = {}
    for split, candidates in _SPLIT_DIRS.items():
        declared = (data or {}).get(split)
        if isinstance(declared, str):
            path = (root / declared).resolve()
            if not path.is_dir():
                raise DatasetFormatError(
                    f"{root}: split '{split}' folder {path} does not exist. Fix: correct '{split}:' in data.yaml."
                )
            out[split] = path
            continue
        for candidate in candidates:
            if (root / candidate).is_dir():
                out[split] = root / candidate
                break
    return out


def _list_split(
    split: str, folder: Path, index: dict[str, int], *, strict: bool, report: ConversionReport
) -> SplitFiles:
    """Images and class ids of one split folder, sorted by path."""
    items: list[tuple[str, str, int]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            if entry.suffix[1:].lower() in IMG_FORMATS:
                _problem(f"{entry}: image outside a class folder", "move it into <split>/<class_name>/",
                         "outside_class_folder", strict, report)
            continue
        if entry.name not in index:
            _problem(f"{entry}: class folder '{entry.name}' is not in data.yaml 'names' {list(index)}",
                     "add the class to 'names' or remove the folder", "unknown_class", strict, report)
            continue
        for dirpath, dirnames, filenames in os.walk(entry, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                if filename.startswith("."):
                    continue
                if filename.rpartition(".")[-1].lower() in IMG_FORMATS:
                    items.append((full, os.path.relpath(full, entry), index[entry.name]))
                elif unsupported_suffix(filename):
                    _problem(f"{full}: unsupported image format",
                             f"convert it to one of {sorted(IMG_FORMATS)}", "unsupported_format", strict, report)
    items.sort()
    return SplitFiles(
        name=split,
        images=[i[0] for i in items],
        file_names=[i[1] for i in items],
        classes=[i[2] for i in items],
    )


def _problem(message: str, fix: str, reason: str, strict: bool, report: ConversionReport) -> None:
    """Raise in strict mode, else count and skip."""
    if strict:
        raise DatasetFormatError(f"{message}. Fix: {fix} (or pass strict=False to skip it).")
    report.add(reason, f"{message}; skipped")
