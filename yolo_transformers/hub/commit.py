"""One staged model, one commit on the Hub: the part of a push shared by ``upload_model`` and ``push_to_hub``.

The push is ordered so that nothing reaches the Hub before it can succeed: the token is checked (``whoami``)
first, then the input is staged (converted / validated), and only then is the repo created and the commit made. The
commit is a single ``create_commit`` (weights, configs, card, card assets) with the branch head it was prepared
against as ``parent_commit``: if another push lands in between, the Hub refuses ours (412), the README decision is
re-taken on the new head and the commit retried; weights already uploaded are not sent again.

This module does not know how a model becomes files (that is the caller's ``stage``), so it sits below the model
classes and the converter.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from .auth import check_write_access, require_token
from .client import (
    CARD_FILENAME,
    CONFLICT_RETRIES,
    branch_url,
    commit_retrying_on_conflict,
    create_tag,
    ensure_branch,
    ensure_repo,
    hub_client,
)
from .errors import hub_errors
from .staging import StagedModel, default_commit_message

if TYPE_CHECKING:
    from huggingface_hub import CommitInfo, HfApi

__all__ = ["UploadResult", "publish_model"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadResult:
    """What a push did.

    Attributes:
        repo_id: ``namespace/name``.
        revision: Branch that received the commit (``main`` unless ``revision=`` was given).
        commit_oid: The new commit, or the existing head when nothing changed.
        commit_url: Web URL of that commit.
        repo_url: Web URL of the repository.
        pr_url: URL of the pull request opened with ``create_pr=True``.
        tag: Tag created on the commit, if any.
        changed: False when every file was already on the Hub (no commit was made).
        card_written: False when a README.md already on the Hub was kept.
        private: Whether the repository is private.
    """

    repo_id: str
    revision: str
    commit_oid: str
    commit_url: str
    repo_url: str
    pr_url: str | None = None
    tag: str | None = None
    changed: bool = True
    card_written: bool = True
    private: bool = False

    @property
    def url(self) -> str:
        """The pull request, or the repository at the pushed branch."""
        if self.pr_url:
            return self.pr_url
        return branch_url(self.repo_url, self.revision)

    def __str__(self) -> str:
        return self.url


def publish_model(
    stage: Callable[[Path], StagedModel],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    tag: str | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    create_pr: bool = False,
    overwrite_card: bool = False,
    card_tags: Sequence[str] | None = None,
) -> UploadResult:
    """Check the token, stage the model into a scratch folder, and commit it (see ``upload_model`` for arguments).

    Args:
        stage: Writes the model files into the scratch folder it is given and describes them; called after the
            token was accepted, so a bad token costs no conversion.

    Raises:
        AuthenticationError: No token, a rejected token, or one without write access (before ``stage`` runs).
        HubConflictError: The branch kept moving under concurrent pushes; nothing was committed.
        HubError: Any other Hub failure; the repository is left at its previous commit.
    """
    resolved = require_token(token)
    api = hub_client(resolved.value)
    repo_id = check_write_access(api, repo_id, resolved)
    branch = revision or "main"
    with tempfile.TemporaryDirectory(prefix="yolo-hf-push-") as scratch:
        staged = stage(Path(scratch))
        title, description = default_commit_message(staged)
        with hub_errors(action="push", repo_id=repo_id, revision=branch, token=resolved.value):
            ensure_repo(api, repo_id, private=private)
            if branch != "main":
                ensure_branch(api, repo_id, branch)
            info, card_written, state = _commit_with_retries(
                api, repo_id, branch, staged,
                message=commit_message or title,
                description=description if commit_description is None else commit_description,
                create_pr=create_pr, overwrite_card=overwrite_card, card_tags=card_tags,
            )  # fmt: skip
            if tag:
                create_tag(api, repo_id, tag, info.oid, message=commit_message or title)
    result = UploadResult(
        repo_id=repo_id,
        revision=branch,
        commit_oid=info.oid,
        commit_url=str(info.commit_url),
        repo_url=str(info.repo_url),
        pr_url=info.pr_url,
        tag=tag,
        changed=info.oid != state.head,
        card_written=card_written,
        private=state.private,
    )
    if private and not state.private:
        logger.warning("%s already existed and is public: private=True only applies to new repos; make it private "
                       "with `hf repos settings %s --private`", repo_id, repo_id)
    logger.debug("pushed %s to %s (%s)", staged.source, result.url, info.oid[:8] if result.changed else "unchanged")
    return result


@dataclass(frozen=True)
class _RemoteState:
    head: str
    has_card: bool
    private: bool


def _remote_state(api: HfApi, repo_id: str, branch: str) -> _RemoteState:
    """The branch head, whether it has a README.md, and the repo's visibility."""
    info = api.model_info(repo_id, revision=branch)
    names = {sibling.rfilename for sibling in info.siblings or []}
    return _RemoteState(str(info.sha), CARD_FILENAME in names, bool(info.private))


def _operations(staged: StagedModel, repo_id: str, with_card: bool, card_tags: Sequence[str] | None) -> list:
    """Fresh ``CommitOperationAdd``s (the client keeps per-attempt state on them)."""
    from huggingface_hub import CommitOperationAdd

    files = dict(staged.files)
    if with_card:
        files.update(staged.card_files(repo_id, extra_tags=card_tags))
    return [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in sorted(files.items())]


def _commit_with_retries(
    api: HfApi,
    repo_id: str,
    branch: str,
    staged: StagedModel,
    *,
    message: str,
    description: str,
    create_pr: bool,
    overwrite_card: bool,
    card_tags: Sequence[str] | None,
) -> tuple[CommitInfo, bool, _RemoteState]:
    """Commit against the current head; on a lost race re-read the head and retry.

    Returns:
        The commit info, whether the card was written, and the remote state the commit was made on.

    Raises:
        HubConflictError: The branch moved under every attempt; nothing was committed.
    """

    def attempt(_: int) -> tuple[CommitInfo, bool, _RemoteState]:
        state = _remote_state(api, repo_id, branch)
        with_card = overwrite_card or not state.has_card
        if not with_card:
            logger.debug("%s@%s already has a README.md: kept as is, its content may describe an earlier push "
                         "(overwrite_card=True / --overwrite-card replaces it)", repo_id, branch)
        operations = _operations(staged, repo_id, with_card, card_tags)
        with _no_empty_commit_warning():  # an unchanged push is reported by UploadResult.changed instead
            info = api.create_commit(
                repo_id,
                operations=operations,
                commit_message=message,
                commit_description=description or None,
                revision=branch,
                create_pr=create_pr,
                parent_commit=None if create_pr else state.head,
            )
        return info, with_card, state

    return commit_retrying_on_conflict(
        attempt,
        conflict_message=f"{repo_id}@{branch} kept changing during {CONFLICT_RETRIES + 1} attempts (concurrent "
        "pushes); nothing was committed: push again",
        retry_message=f"{repo_id}@{branch} moved while pushing (another push landed); retrying on the new head",
    )


class _DropEmptyCommitWarning(logging.Filter):
    """Drops huggingface_hub's "No files have been modified since last commit" warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No files have been modified" not in record.getMessage()


@contextlib.contextmanager
def _no_empty_commit_warning() -> Iterator[None]:
    hf_logger = logging.getLogger("huggingface_hub.hf_api")
    dropper = _DropEmptyCommitWarning()
    hf_logger.addFilter(dropper)
    try:
        yield
    finally:
        hf_logger.removeFilter(dropper)
