"""How a card names files and datasets: no local directories (they would leak into a public card), never ``data``."""

from __future__ import annotations

import logging
import re
from pathlib import PurePath
from typing import Any

__all__ = ["public_path", "dataset_label"]

logger = logging.getLogger(__name__)

#: ``namespace/name`` as the Hub spells dataset ids (a data file has a suffix; a local path that ``record_metrics``
#: stored is absolute).
_HUB_DATASET_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def public_path(value: Any) -> str:
    """A file argument without the trainer's local directories: ``shapes/data.yaml`` for ``/home/me/shapes/data.yaml``."""
    text = str(value)
    if "/" not in text and "\\" not in text:
        return text
    parts = [part for part in PurePath(text.replace("\\", "/")).parts if part not in ("/", "")]
    generic = {"data.yaml", "dataset.yaml", "best.pt", "last.pt"}
    return "/".join(parts[-2:]) if parts and parts[-1] in generic and len(parts) > 1 else parts[-1]


def dataset_label(data: Any) -> str | None:
    """The name of an evaluation dataset for the model-index: a Hub dataset id as it is, else the dataset folder's (or
    data file's) name (``coco8`` for ``coco8.yaml``, ``shapes`` for ``shapes/data.yaml``); None when only a generic
    file name such as ``data.yaml`` is known (the model-index is then left out, never named ``data``)."""
    text = str(data)
    if _HUB_DATASET_ID.fullmatch(text) and PurePath(text).suffix.lower() not in (".yaml", ".yml"):
        return text
    parts = public_path(text).split("/")
    stem = PurePath(parts[-1]).stem
    if stem not in ("data", "dataset"):
        return stem
    if len(parts) > 1:
        return parts[0]
    logger.warning("model card: the evaluation dataset is only known as %r; the model-index is left out. Fix: "
                   "record_metrics(model, metrics, dataset=<Hub id or dataset folder>).", text)
    return None
