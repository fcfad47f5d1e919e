"""``list_models``: an author's yolo-transformers models, with task, class count, last change and tags.

One listing request (``GET /api/models?author=&filter=yolo-transformers&expand=...``) gives ids, tags, dates,
visibility and card metadata. Task and class count come from the card metadata when it has them; otherwise each repo's
small ``config.json`` is read (through the cache, so repeated listings cost one conditional request per repo).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .auth import resolve_token
from .client import LIBRARY_TAG, hub_client
from .errors import hub_errors

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["LIBRARY_TAG", "ModelListing", "list_models"]

logger = logging.getLogger(__name__)

#: Ultralytics task names, as they appear among card tags.
_TASKS = ("detect", "segment", "semantic", "depth", "classify", "pose", "obb")
#: Pipeline tag -> task, used only when the tags name no task (object-detection is also obb's tag).
_TASK_OF_PIPELINE = {
    "object-detection": "detect",
    "image-segmentation": "segment",
    "image-classification": "classify",
    "keypoint-detection": "pose",
    "depth-estimation": "depth",
}
_WORKERS = 4
#: Fields asked of the listing endpoint (the default listing has no ``lastModified``; ``full`` adds every file).
_EXPAND = ("cardData", "lastModified", "tags", "private", "pipeline_tag")


@dataclass(frozen=True)
class ModelListing:
    """One model of :func:`list_models`.

    Attributes:
        repo_id: ``namespace/name``.
        task: Ultralytics task (``detect``, ``segment``, ...), or None if unknown.
        num_classes: Number of classes, or None if unknown.
        last_modified: Time of the last commit on ``main``.
        tags: The repo's tags.
        private: Whether the repo is private (listed only with a token that can read it).
    """

    repo_id: str
    task: str | None
    num_classes: int | None
    last_modified: datetime | None
    tags: list[str] = field(default_factory=list)
    private: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``last_modified`` as ISO 8601)."""
        row = asdict(self)
        row["last_modified"] = self.last_modified.isoformat() if self.last_modified else None
        return row


def list_models(author: str, *, search: str | None = None, token: str | None = None) -> list[ModelListing]:
    """List ``author``'s models tagged ``yolo-transformers``, newest first.

    Args:
        author: User or organization name.
        search: Only repos whose name contains this text.
        token: Token to include private repos; default ``HF_TOKEN``, then the ``hf auth login`` store.

    Returns:
        One :class:`ModelListing` per repo.

    Raises:
        HubError: The Hub cannot be reached or refused the listing.
    """
    token_value = resolve_token(token)
    api = hub_client(token_value)
    with hub_errors(action="list models", repo_id=author, token=token_value):
        infos = list(api.list_models(author=author, filter=LIBRARY_TAG, search=search, expand=list(_EXPAND)))
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        rows = list(pool.map(lambda info: _row(info, api), infos))
    epoch = datetime.min
    return sorted(rows, key=lambda row: (row.last_modified or epoch).replace(tzinfo=None), reverse=True)


def _row(info: Any, api: HfApi) -> ModelListing:
    """A listing row from a ``ModelInfo``; reads ``config.json`` only when the card lacks task or classes."""
    tags = list(info.tags or [])
    card = _card_dict(info.card_data)
    task = card.get("task") if card.get("task") in _TASKS else _task_from_tags(tags, info.pipeline_tag)
    num_classes = _int_or_none(card.get("num_classes"))
    if num_classes is None or task is None:
        config = _read_config(api, info.id)
        task = task or config.get("task")
        labels = config.get("id2label")
        if num_classes is None and isinstance(labels, dict):
            num_classes = len(labels)
    return ModelListing(
        repo_id=info.id,
        task=task,
        num_classes=num_classes,
        last_modified=info.last_modified,
        tags=tags,
        private=bool(info.private),
    )


def _card_dict(card_data: Any) -> dict[str, Any]:
    if card_data is None:
        return {}
    return card_data.to_dict() if hasattr(card_data, "to_dict") else dict(card_data)


def _task_from_tags(tags: list[str], pipeline_tag: str | None) -> str | None:
    for task in _TASKS:
        if task in tags:
            return task
    return _TASK_OF_PIPELINE.get(pipeline_tag or "")


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_config(api: HfApi, repo_id: str) -> dict[str, Any]:
    """The repo's ``config.json`` on ``main`` as a dict; ``{}`` if it cannot be read (logged)."""
    try:
        path = api.hf_hub_download(repo_id, "config.json")
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except Exception as error:  # noqa: BLE001 - one unreadable repo must not break the listing
        logger.warning("%s: cannot read config.json (%s)", repo_id, type(error).__name__)
        return {}
    return data if isinstance(data, dict) else {}
