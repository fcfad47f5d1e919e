"""``push_dataset`` / ``pull_dataset``: YOLO datasets to and from the Hugging Face Hub.

A push is ordered so that bad input never reaches the Hub:

1. the token is resolved locally (``token=`` / ``--token``, else ``HF_TOKEN``, else ``hf auth login``; through
   :mod:`yolo_transformers.hub.auth`, so models and datasets behave the same);
2. the dataset is converted and validated completely (``load_yolo_dataset``; strict by default), its statistics and
   ``samples.png`` are made: a malformed dataset raises here, before the first request;
3. ``whoami`` checks that the token may write to the repository;
4. the repository (and branch) are created if missing, and ``DatasetDict.push_to_hub`` uploads the Parquet shards
   and commits them with ``datasets``' own README metadata (features, splits) in one commit;
5. a second commit replaces that README by the generated card (with the ``dataset_info``/``configs`` metadata of
   step 4 merged in) and adds ``samples.png``. A README that a person wrote, or a generated card someone edited
   (its body no longer matches the digest in its last line), is kept unless ``overwrite_card=True``;
   ``push_to_hub`` still refreshes its ``dataset_info``. An unedited generated card is regenerated, so split sizes
   and counts never go stale (unlike model cards, a dataset card describes data that changes between pushes);
6. ``tag`` is created on the last commit.

The data commit comes first so that an interrupted push leaves a loadable dataset (with a minimal card), never a
card describing data that is not there. Tokens are never logged, printed or written; Hub errors are one-line
:class:`~yolo_transformers.errors.HubError`\\ s with the token removed.

A pull reads the dataset with ``datasets``' own builders (Parquet for what we push; Arrow, image folders, JSON and
CSV are accepted too). Builders that can unpickle (WebDataset's ``.pth``/``.pyd`` decoders) are refused before any
data file is downloaded.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets

from ..errors import HubError, YoloTransformersError
from .auth import check_write_access, require_token, resolve_token
from .client import (
    CARD_FILENAME,
    branch_url,
    commit_retrying_on_conflict,
    create_tag,
    ensure_branch,
    ensure_repo,
    hub_client,
    read_readme,
)
from .errors import hub_error, hub_errors, redact
from ..cards.dataset_card import generate_dataset_card, is_generated_card, merge_card_metadata
from ..data.from_yolo import load_yolo_dataset
from ..data.to_yolo import to_yolo_folder
from ..compat import no_download_counts
from ..data.metadata import read_metadata
from ..data.report import ConversionReport
from ..data.samples import SAMPLES_FILENAME, save_samples_grid

if TYPE_CHECKING:
    from huggingface_hub import CommitInfo, HfApi

__all__ = ["DatasetPushResult", "push_dataset", "pull_dataset", "SAFE_BUILDERS"]

logger = logging.getLogger(__name__)

#: ``datasets`` builders ``pull_dataset`` runs: none of them unpickles anything.
SAFE_BUILDERS = frozenset({"parquet", "arrow", "imagefolder", "json", "csv"})


class DatasetPushResult(str):
    """The URL of the pushed dataset (a ``str``, like ``huggingface_hub.CommitInfo``), with what the push did.

    Attributes:
        repo_id: ``namespace/name``.
        revision: Branch that received the commits.
        commit_oid: The last commit made (card commit, or the data commit when the card was kept).
        tag: Tag created on that commit, if any.
        card_written: False when a README.md already on the Hub was kept.
        report: What the conversion skipped or clipped (empty in strict mode).
    """

    repo_id: str
    revision: str
    commit_oid: str
    tag: str | None
    card_written: bool
    report: ConversionReport

    def __new__(cls, url: str, *, repo_id: str, revision: str, commit_oid: str, tag: str | None,
                card_written: bool, report: ConversionReport) -> DatasetPushResult:
        result = super().__new__(cls, url)
        result.repo_id, result.revision, result.commit_oid = repo_id, revision, commit_oid
        result.tag, result.card_written, result.report = tag, card_written, report
        return result

    @property
    def url(self) -> str:
        """The dataset's page (at the branch when it is not ``main``)."""
        return str(self)


# ---------------------------------------------------------------------------------------------------- push
def push_dataset(
    path: str | os.PathLike | datasets.DatasetDict,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    tag: str | None = None,
    token: str | None = None,
    task: str | None = None,
    strict: bool = True,
    num_proc: int | None = None,
    commit_message: str | None = None,
    license: str | None = None,
    overwrite_card: bool = False,
    max_shard_size: int | str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> DatasetPushResult:
    """Convert a YOLO dataset and push it to a Hub dataset repository: Parquet shards, card, ``samples.png``.

    Args:
        path: A ``data.yaml``, a dataset folder (see ``load_yolo_dataset``), or a ``DatasetDict`` already in this
            package's schema (e.g. from ``from_coco``).
        repo_id: ``namespace/name`` (``name`` alone means the token owner's namespace); created if missing.
        private: Create the repository as private (an existing repository keeps its visibility).
        revision: Branch to push to; created from ``main`` if missing. Default ``main``.
        tag: Tag to create on the resulting commit (e.g. ``v1.0``).
        token: Token with write access; default ``HF_TOKEN``, then the ``hf auth login`` store.
        task: Force the task (default: detected, see ``load_yolo_dataset``).
        strict: Refuse malformed data (default). ``False`` skips/clips what Ultralytics would and lists the
            counts in the card and in ``result.report``.
        num_proc: Processes for the conversion.
        commit_message: Title of the data commit (default names the task, images and classes).
        license: License for the card (default ``license`` from ``data.yaml``, else ``unknown``).
        overwrite_card: Replace a README.md already on the branch (kept by default).
        max_shard_size: Largest Parquet shard, e.g. ``"500MB"`` (``datasets``' default).
        cache_dir: Conversion cache folder (see ``load_yolo_dataset``).

    Returns:
        The dataset's URL, a :class:`DatasetPushResult` (a ``str`` with the commit, tag and report attached).

    Raises:
        DatasetFormatError: Malformed dataset (strict mode); raised before any request to the Hub.
        AuthenticationError: No token, a rejected token, or one without write access to ``repo_id`` (raised
            before anything is uploaded).
        HubError: Any other Hub failure.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise HubError(f"{repo_id!r} is not a valid Hub repository id ({error}); use 'namespace/name'.") from None
    resolved = require_token(token)
    dataset, report = _prepare(path, task=task, strict=strict, num_proc=num_proc, cache_dir=cache_dir)
    branch = revision or "main"
    with tempfile.TemporaryDirectory(prefix="yolo-hf-dataset-") as scratch:
        samples = save_samples_grid(dataset, Path(scratch) / SAMPLES_FILENAME)
        api = hub_client(resolved.value)
        repo_id = check_write_access(api, repo_id, resolved, repo_type="dataset")
        card = generate_dataset_card(
            dataset, repo_id=repo_id, license=license, revision=branch, samples=samples is not None, report=report
        )
        with hub_errors(action="push", repo_id=repo_id, revision=branch, token=resolved.value):
            ensure_repo(api, repo_id, private=private, repo_type="dataset")
            if branch != "main":
                ensure_branch(api, repo_id, branch, repo_type="dataset")
            write_card = overwrite_card or _may_replace_card(api, repo_id, branch)
            logger.info("uploading %s to %s@%s", _describe(dataset), repo_id, branch)
            info = dataset.push_to_hub(
                repo_id,
                revision=None if branch == "main" else branch,
                token=resolved.value,
                commit_message=commit_message or f"Upload {_describe(dataset)} (yolo-transformers)",
                max_shard_size=max_shard_size,
            )
            if write_card:
                info = _commit_card(api, repo_id, branch, card, samples, parent=info.oid)
            else:
                logger.info("%s@%s has a README.md written or edited by hand: kept (push_to_hub refreshed its "
                            "dataset_info); overwrite_card=True / --overwrite-card replaces it", repo_id, branch)
    if tag:
        with hub_errors(action="tag", repo_id=repo_id, revision=tag, token=resolved.value):
            create_tag(api, repo_id, tag, info.oid, message=commit_message or _describe(dataset), repo_type="dataset")
    url = branch_url(str(info.repo_url), branch)
    logger.debug("pushed dataset to %s (%s)", url, info.oid[:8])
    return DatasetPushResult(url, repo_id=repo_id, revision=branch, commit_oid=info.oid, tag=tag,
                             card_written=write_card, report=report)


def _prepare(path: Any, *, task: str | None, strict: bool, num_proc: int | None,
             cache_dir: str | os.PathLike | None) -> tuple[datasets.DatasetDict, ConversionReport]:
    """The dataset to push and its conversion report; nothing here talks to the Hub."""
    if isinstance(path, datasets.DatasetDict):
        read_metadata(path)  # raises DatasetFormatError when the schema has no class names
        return path, getattr(path, "conversion_report", None) or ConversionReport()
    dataset = load_yolo_dataset(path, task=task, strict=strict, num_proc=num_proc, cache_dir=cache_dir)
    return dataset, dataset.conversion_report


def _describe(dataset: datasets.DatasetDict) -> str:
    """``detect dataset: 128 images, 80 classes``."""
    meta = read_metadata(dataset)
    images = sum(len(split) for split in dataset.values())
    return f"{meta.task} dataset: {images} images, {len(meta.names)} classes"


def _may_replace_card(api: HfApi, repo_id: str, branch: str) -> bool:
    """No README.md on the branch, or one this package generated and nobody edited since."""
    readme = read_readme(api, repo_id, branch, repo_type="dataset")
    return readme is None or is_generated_card(readme)


def _commit_card(api: HfApi, repo_id: str, branch: str, card: Any, samples: Path | None, *, parent: str) -> CommitInfo:
    """Commit the card (with ``push_to_hub``'s metadata merged in) and ``samples.png`` on top of ``parent``.

    A concurrent commit between the data commit and this one (412) is handled by re-reading the head's README and
    committing again on top of it.

    Raises:
        HubConflictError: The branch moved under every attempt; the data is pushed, the card is not.
    """
    from huggingface_hub import CommitOperationAdd

    def attempt(number: int) -> CommitInfo:
        head = parent if number == 0 else str(api.dataset_info(repo_id, revision=branch).sha)
        merged = merge_card_metadata(card, read_readme(api, repo_id, head, repo_type="dataset"))
        operations = [CommitOperationAdd(path_in_repo=CARD_FILENAME, path_or_fileobj=str(merged).encode("utf-8"))]
        if samples is not None:
            operations.append(CommitOperationAdd(path_in_repo=SAMPLES_FILENAME, path_or_fileobj=str(samples)))
        return api.create_commit(
            repo_id, operations=operations, commit_message="Dataset card and samples.png (yolo-transformers)",
            repo_type="dataset", revision=branch, parent_commit=head,
        )

    return commit_retrying_on_conflict(
        attempt,
        conflict_message=f"{repo_id}@{branch} kept changing while the card was committed; the data is pushed but "
        "the card is not: push again",
        retry_message=f"{repo_id}@{branch} moved while pushing (another push landed); retrying the card commit",
    )


# ---------------------------------------------------------------------------------------------------- pull
def pull_dataset(
    repo_id: str,
    out_dir: str | os.PathLike,
    *,
    revision: str | None = None,
    token: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Download a Hub dataset and write it as a YOLO folder (``images/``, ``labels/``, ``data.yaml``).

    Args:
        repo_id: ``namespace/name`` of a dataset pushed by :func:`push_dataset` (or any Hub dataset in the
            cppe-5 detection convention / with a ``ClassLabel`` ``label`` column).
        out_dir: Folder to create; must be empty or missing unless ``overwrite``.
        revision: Branch, tag or commit sha (default ``main``).
        token: Token for private repositories; default ``HF_TOKEN``, then the ``hf auth login`` store, else
            anonymous.
        overwrite: Replace a non-empty ``out_dir`` (only once the new folder is complete).

    Returns:
        The ``data.yaml`` to train on (the folder itself for classification).

    Raises:
        FileExistsError: ``out_dir`` is not empty and ``overwrite`` is False (checked before downloading).
        HubError: The repository or revision does not exist or is not readable with this token, or its files
            are in a format that could run code when loaded.
        DatasetFormatError: The dataset does not follow the expected schema.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(
            f"{out} exists and is not an empty folder. Fix: choose a new folder or pass overwrite=True (--overwrite)."
        )
    value = resolve_token(token)
    dataset = _load(repo_id, revision, value)
    return to_yolo_folder(dataset, out, overwrite=overwrite)


def _load(repo_id: str, revision: str | None, token: str | None) -> datasets.DatasetDict:
    """``load_dataset(repo_id, revision=...)``, refusing builders outside :data:`SAFE_BUILDERS` before any download.

    Online, the repository and revision are checked first (``datasets`` would otherwise fall back, silently, to a
    copy cached earlier when the Hub answers "not found": a deleted or no longer readable dataset must fail) and the
    revision is pinned to the commit found. With ``HF_HUB_OFFLINE=1`` that cached copy is what is wanted.
    """
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub import constants

    where = f"{repo_id}@{revision}" if revision else repo_id
    offline = bool(constants.HF_HUB_OFFLINE)
    try:
        if not offline:
            revision = str(hub_client(token).dataset_info(repo_id, revision=revision).sha)
        with no_download_counts():  # datasets would otherwise ping a third-party S3 bucket with the repo name
            builder = datasets.load_dataset_builder(repo_id, revision=revision, token=token)
        allowed = SAFE_BUILDERS | ({"cache"} if offline else set())
        if builder.name not in allowed:
            raise HubError(
                f"{where} is stored as {builder.name!r} files, which pull_dataset does not read (only "
                f"{sorted(SAFE_BUILDERS)}: formats whose loading cannot run code). Fix: push it as Parquet, "
                "e.g. with yolo-hf dataset push."
            )
        builder.download_and_prepare()
        dataset = builder.as_dataset()
    except YoloTransformersError:
        raise
    except DatasetNotFoundError as error:
        raise HubError(redact(
            f"{where}: dataset not found{' in the local cache (HF_HUB_OFFLINE=1)' if offline else ''}, or private "
            f"and not readable with this token ({error}). Fix: check the name and revision, or pass --token / set "
            "HF_TOKEN / run `hf auth login` with a token that can read it.", token,
        )) from None
    except Exception as error:  # noqa: BLE001 - huggingface_hub / HTTP errors become typed HubErrors
        raise hub_error(error, action="download", repo_id=repo_id, revision=revision, token=token) from error
    if not isinstance(dataset, datasets.DatasetDict):  # pragma: no cover - as_dataset() without split is a dict
        dataset = datasets.DatasetDict({"train": dataset})
    return dataset
