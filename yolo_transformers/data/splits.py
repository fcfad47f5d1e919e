"""Split names: 🤗 ``datasets`` calls them ``train``/``validation``/``test``, Ultralytics' ``data.yaml`` ``train``/``val``/``test``.

A ``DatasetDict`` made by :func:`~yolo_transformers.data.load_yolo_dataset` uses the Hub's names (as ``datasets``'
own folder loaders do: ``val``, ``valid`` and ``dev`` become ``validation``); a YOLO folder written by
:func:`~yolo_transformers.data.to_yolo_folder` uses Ultralytics' keys. Either name is accepted wherever a split is
asked for, so datasets already pushed with a ``val`` split keep working.
"""

from __future__ import annotations

__all__ = ["hub_split_name", "yolo_split_key", "VALIDATION_ALIASES"]

#: Names that mean the validation split, in ``datasets``' and Ultralytics' conventions.
VALIDATION_ALIASES = ("validation", "val", "valid", "dev")


def hub_split_name(name: str) -> str:
    """``DatasetDict`` name of a split: ``val``/``valid``/``dev`` → ``validation``; others unchanged."""
    return "validation" if name in VALIDATION_ALIASES else name


def yolo_split_key(name: str) -> str:
    """``data.yaml`` key (and folder name) of a split: ``validation``/``valid``/``dev`` → ``val``; others unchanged."""
    return "val" if name in VALIDATION_ALIASES else name
