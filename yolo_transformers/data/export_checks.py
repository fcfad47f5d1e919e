"""Checks on everything a dataset (attacker-controlled when it comes from the Hub) puts into an exported YOLO folder.

Split names, file names and class names become paths; metadata becomes ``data.yaml``, which Ultralytics acts on
(``download:`` is Python it executes, ``path:`` moves the dataset root anywhere). So: every name that becomes a path
is a plain relative name inside the output folder, and ``data.yaml`` is written only from known keys with checked
values (:data:`EXTRA_YAML_KEYS`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ..errors import DatasetFormatError
from .metadata import TASKS, YoloMetadata

__all__ = ["split_folder", "file_name", "class_folder", "checked_yaml_fields", "inside", "EXTRA_YAML_KEYS"]

logger = logging.getLogger(__name__)

_SPLIT = re.compile(r"^[A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*$")
_BAD_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\:*?\"<>|]")
_MAX_NAME = 200
_MAX_CLASSES = 100_000
_MAX_KEYPOINTS = 1024


def split_folder(name: Any) -> str:
    """A split name as a folder name: letters, digits, ``_``, inner ``.``/``-`` (``train``, ``val``, ``test-2``).

    Raises:
        DatasetFormatError: Anything else (``../x``, ``/abs``, empty, control characters).
    """
    if not isinstance(name, str) or len(name) > 64 or not _SPLIT.fullmatch(name):
        raise DatasetFormatError(f"split name {name!r} cannot be a folder name (letters, digits, '_', inner '.' or '-'"
                                 "). Fix: rename the split.")
    return name


def file_name(name: Any) -> str:
    """An image file name as a relative path below its split folder (sub-folders allowed, never ``..``).

    Raises:
        DatasetFormatError: Absolute, ``..``, empty parts, hidden parts, control or reserved characters.
    """
    if not isinstance(name, str) or not name or len(name) > 1024 or _BAD_CHARACTERS.search(name):
        raise DatasetFormatError(f"unsafe file_name {name!r}. Fix: use a relative path of plain names.")
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") or len(p) > _MAX_NAME for p in parts):
        raise DatasetFormatError(f"unsafe file_name {name!r}. Fix: use a relative path without '..' or hidden parts.")
    return name


def class_folder(name: Any) -> str:
    """A class name usable as one folder name (classification layout).

    Raises:
        DatasetFormatError: Empty, ``.``/``..``, hidden, a separator, or control characters.
    """
    if (not isinstance(name, str) or not name.strip() or name.startswith(".") or "/" in name
            or len(name) > _MAX_NAME or _BAD_CHARACTERS.search(name)):
        raise DatasetFormatError(f"class name {name!r} cannot be a folder name. Fix: rename the class.")
    return name


def inside(root: Path, target: Path) -> Path:
    """``target`` if it resolves inside ``root`` (no symlink or ``..`` escape).

    Raises:
        DatasetFormatError: It does not.
    """
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise DatasetFormatError(f"{target} would be written outside {root}. Fix: rename the file or split.")
    return target


def _names(meta: YoloMetadata) -> list[str]:
    names = meta.names
    if not isinstance(names, list) or not 0 < len(names) <= _MAX_CLASSES or not all(
            isinstance(n, str) and len(n) <= _MAX_NAME for n in names):
        raise DatasetFormatError(f"class names must be 1 to {_MAX_CLASSES} strings of at most {_MAX_NAME} characters.")
    return names


def _kpt_shape(value: Any) -> list[int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 2 or not all(type(v) is int for v in value)
            or not 0 < value[0] <= _MAX_KEYPOINTS or value[1] not in (2, 3)):
        raise DatasetFormatError(f"kpt_shape={value!r} must be [keypoints (1-{_MAX_KEYPOINTS}), 2 or 3].")
    return list(value)


def _flip_idx(value: Any, keypoints: int) -> list[int]:
    if not isinstance(value, (list, tuple)) or len(value) != keypoints or not all(
            type(v) is int and 0 <= v < keypoints for v in value):
        raise DatasetFormatError(f"flip_idx must list {keypoints} keypoint indices, got {value!r:.80}.")
    return list(value)


def _kpt_names(value: Any) -> dict[int, list[str]] | None:
    if not isinstance(value, dict):
        return None
    out = {}
    for key, names in value.items():
        if not str(key).isdigit() or not isinstance(names, list) or not all(
                isinstance(n, str) and len(n) <= _MAX_NAME for n in names):
            return None
        out[int(key)] = list(names)
    return out


def _channels(value: Any) -> int | None:
    return value if type(value) is int and 1 <= value <= 16 else None


def _positive_number(value: Any) -> float | int | None:
    """``depth_scale`` (PNG value of one metre) and ``max_depth`` (metres): a positive finite number."""
    ok = type(value) in (int, float) and 0 < value < float("inf")
    return value if ok else None


def _label_mapping(value: Any) -> dict[int, int | str] | None:
    """Semantic ``label_mapping``: raw mask id → class id (0-255) or ``ignore_label``."""
    if not isinstance(value, dict) or len(value) > 256:
        return None
    out: dict[int, int | str] = {}
    for key, target in value.items():
        if not str(key).lstrip("-").isdigit() or not (target == "ignore_label" or (type(target) is int
                                                                               and 0 <= target <= 255)):
            return None
        out[int(key)] = target
    return out


#: ``data.yaml`` keys kept from a dataset's metadata besides splits, names, task, kpt_shape and flip_idx; each with
#: its checker (a value that does not pass is dropped). ``download``, ``path`` and anything else are never written.
#: ``masks_dir`` is not kept: the export writes masks to ``masks/`` and says so itself.
EXTRA_YAML_KEYS = {"kpt_names": _kpt_names, "channels": _channels, "depth_scale": _positive_number,
                   "max_depth": _positive_number, "label_mapping": _label_mapping}


def checked_yaml_fields(meta: YoloMetadata) -> dict[str, Any]:
    """``names``, ``task`` and the pose and extra keys of ``data.yaml``, each checked.

    Raises:
        DatasetFormatError: The task, names, ``kpt_shape`` or ``flip_idx`` are malformed.
    """
    if meta.task not in TASKS:
        raise DatasetFormatError(f"task {meta.task!r} is not one of {', '.join(TASKS)}.")
    fields: dict[str, Any] = {"names": dict(enumerate(_names(meta))), "task": meta.task}
    if meta.task == "pose":
        fields["kpt_shape"] = _kpt_shape(meta.kpt_shape)
        if meta.flip_idx:
            fields["flip_idx"] = _flip_idx(meta.flip_idx, fields["kpt_shape"][0])
    dropped = []
    for key, value in (meta.extra or {}).items():
        checked = EXTRA_YAML_KEYS[key](value) if key in EXTRA_YAML_KEYS else None
        if checked is None:
            dropped.append(key)
        else:
            fields[key] = checked
    if dropped:
        logger.info("data.yaml: not writing dataset metadata keys %s (only %s are kept)", sorted(dropped),
                    sorted(EXTRA_YAML_KEYS))
    return fields
