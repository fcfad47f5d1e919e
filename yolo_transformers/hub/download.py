"""``download_model``: fetch a model's safetensors folder from the Hub, optionally as an Ultralytics ``.pt``.

Only the files a model needs are fetched (config, safetensors weights, preprocessor config, and the README that
carries the license notice); pickles (``*.pt``, ``*.bin``, ``*.pkl``) are never downloaded nor loaded. Downloads go
through the Hugging Face cache, so ``HF_HUB_OFFLINE=1`` serves a repo pulled before.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Literal

from ..errors import HubError
from .auth import resolve_token
from .client import hub_client
from .errors import hub_errors

__all__ = ["download_model", "MODEL_FILES", "ultralytics_cache_dir"]

logger = logging.getLogger(__name__)

#: Files of a model repo that :func:`download_model` fetches (glob patterns).
MODEL_FILES = (
    "config.json",
    "preprocessor_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*-of-*.safetensors",
    "README.md",
)

_FORMATS = ("hf", "ultralytics")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def download_model(
    repo_id: str,
    *,
    revision: str | None = None,
    local_dir: str | Path | None = None,
    token: str | None = None,
    format: Literal["hf", "ultralytics"] = "hf",  # noqa: A002 - the CLI flag's name
) -> Path:
    """Download a yolo-transformers model.

    Args:
        repo_id: ``namespace/name``.
        revision: Branch, tag or commit sha (default ``main``).
        local_dir: Where to put the files. Default: the Hugging Face cache (``format="hf"``), or
            ``$HF_HOME/yolo_transformers/ultralytics/...`` for the ``.pt`` (``format="ultralytics"``).
        token: Token for private repos; default ``HF_TOKEN``, then the ``hf auth login`` store, else anonymous.
        format: ``"hf"``: the transformers folder; ``"ultralytics"``: a ``.pt`` that ``ultralytics.YOLO`` loads.

    Returns:
        The folder (``"hf"``) or the ``.pt`` file (``"ultralytics"``).

    Raises:
        HubError: Repo, revision or files not found (or not readable with the token), or offline and not cached.
        ValueError: Unknown ``format``.
    """
    if format not in _FORMATS:
        raise ValueError(f"format={format!r} is not one of {', '.join(_FORMATS)}.")
    token_value = resolve_token(token)
    snapshot_dir = None if format == "ultralytics" else local_dir
    folder = _snapshot(repo_id, revision, snapshot_dir, token_value)
    if format == "hf":
        return folder
    commit = folder.name if _SHA.match(folder.name) else None
    target = Path(local_dir) if local_dir is not None else ultralytics_cache_dir(repo_id, commit or "latest")
    reuse = local_dir is None and commit is not None  # the cached .pt of a commit never changes
    return _export_ultralytics(folder, target / _checkpoint_name(repo_id), reuse=reuse)


def _checkpoint_name(repo_id: str) -> str:
    """``<repo name>.pt``; YOLOv3/v5-style names get ``-hf`` so Ultralytics does not swap in its ``...u.pt``."""
    name = repo_id.split("/")[-1]
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", name):  # it becomes a file name inside local_dir
        raise HubError(f"repository name {name!r} cannot be a file name; use a Hub id like 'owner/name'.")
    return f"{name}-hf.pt" if re.match(r"yolov[35]", name, re.IGNORECASE) else f"{name}.pt"


def _snapshot(repo_id: str, revision: str | None, local_dir: str | Path | None, token: str | None) -> Path:
    """``snapshot_download`` of :data:`MODEL_FILES`; checks that config and weights came.

    With ``local_dir``, the files land in a temporary sibling folder first and are moved in only once checked, so a
    refused repo leaves nothing in ``local_dir``.
    """
    if local_dir is None:
        return _checked_snapshot(_download(repo_id, revision, None, token), repo_id, revision)
    target = Path(local_dir)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.download"
    try:
        _checked_snapshot(_download(repo_id, revision, staging, token), repo_id, revision)
        target.mkdir(parents=True, exist_ok=True)
        for entry in staging.iterdir():
            destination = target / entry.name
            if destination.is_dir() and entry.is_dir():
                shutil.copytree(entry, destination, dirs_exist_ok=True)
            else:
                os.replace(entry, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _download(repo_id: str, revision: str | None, local_dir: Path | None, token: str | None) -> Path:
    with hub_errors(action="download", repo_id=repo_id, revision=revision, token=token):
        return Path(hub_client(token).snapshot_download(
            repo_id, revision=revision, local_dir=local_dir, allow_patterns=list(MODEL_FILES)
        ))


def _checked_snapshot(folder: Path, repo_id: str, revision: str | None) -> Path:
    where = f"{repo_id}@{revision}" if revision else repo_id
    if not (folder / "config.json").is_file():
        raise HubError(
            f"{where} has no config.json: it is not a yolo-transformers model (push one with `yolo-hf push`)."
        )
    if not any(folder.glob("*.safetensors")):
        raise HubError(f"{where} has no .safetensors weights; only safetensors are loaded (pickles never are).")
    logger.info("downloaded %s to %s", where, folder)
    return folder


def ultralytics_cache_dir(repo_id: str, commit: str) -> Path:
    """Where the ``.pt`` of ``repo_id`` at ``commit`` is cached when no ``local_dir`` is given."""
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "yolo_transformers" / "ultralytics" / repo_id.replace("/", "--") / commit


def _export_ultralytics(folder: Path, target: Path, *, reuse: bool) -> Path:
    """Rebuild the model from safetensors and write an Ultralytics checkpoint at ``target``."""
    if reuse and target.is_file():
        logger.info("using cached %s", target)
        return target
    from ..configuration_yolo import YoloConfig
    from ..convert.to_ultralytics import save_ultralytics_checkpoint
    from ..auto import model_class_for_task

    config = YoloConfig.from_pretrained(folder)
    model = model_class_for_task(config.task).from_pretrained(folder).eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(save_ultralytics_checkpoint(model, target))  # written atomically (temporary file, then rename)
