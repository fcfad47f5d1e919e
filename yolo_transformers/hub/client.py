"""The Hub client layer shared by the model and dataset flows: one home for each piece of Hub plumbing.

:mod:`~yolo_transformers.hub.upload` (models) and :mod:`~yolo_transformers.hub.datasets` (datasets) both create
their ``HfApi`` here, create the repository (tolerating "already exists"), the branch and the tag here, read the
README of a revision here and commit with a bounded retry on a lost race (412) here; ``repo_type`` says which kind
of repository is meant. :data:`LIBRARY_TAG`, the tag every card of this library carries, is defined here too.

Every function lets ``huggingface_hub`` / HTTP errors through unchanged (except the ones documented): callers turn
them into one-line, token-free :class:`~yolo_transformers.errors.HubError`\\ s with
:func:`~yolo_transformers.hub.errors.hub_error`, naming what they were doing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from ..version import LIBRARY_NAME, LIBRARY_TAG, __version__
from ..errors import HubConflictError, HubError
from .errors import http_status

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = [
    "CARD_FILENAME",
    "CONFLICT_RETRIES",
    "LIBRARY_NAME",
    "LIBRARY_TAG",
    "branch_url",
    "commit_retrying_on_conflict",
    "create_tag",
    "ensure_branch",
    "ensure_repo",
    "hub_client",
    "read_readme",
]

logger = logging.getLogger(__name__)

#: The card file of a repository.
CARD_FILENAME = "README.md"
#: How many times a commit that lost a race (412) is prepared and sent again before giving up.
CONFLICT_RETRIES = 2

_T = TypeVar("_T")


def hub_client(token: str | None) -> HfApi:
    """An ``HfApi`` carrying ``token`` that identifies this library (name and version) to the Hub.

    Args:
        token: The token to send, or None for anonymous access.

    Returns:
        The client.
    """
    from huggingface_hub import HfApi

    return HfApi(token=token, library_name=LIBRARY_NAME, library_version=__version__)


def branch_url(repo_url: str, branch: str) -> str:
    """The web page of a repository at ``branch`` (the repository's own page for ``main``)."""
    return repo_url if branch == "main" else f"{repo_url}/tree/{branch}"


def ensure_repo(api: HfApi, repo_id: str, *, private: bool, repo_type: str = "model") -> None:
    """Create the repository unless it exists.

    An existing repository (409) is fine. A token scoped to one existing repository may not create repositories
    in its namespace, and the Hub can answer 403 rather than 409 then; such a push proceeds when the repository
    exists (the commit itself is the authority).

    Args:
        api: The client.
        repo_id: ``namespace/name``.
        private: Visibility of a new repository (an existing one keeps its own).
        repo_type: ``"model"`` or ``"dataset"``.
    """
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    except HfHubHTTPError as error:
        if http_status(error) != 403 or not api.repo_exists(repo_id, repo_type=repo_type):
            raise
        logger.debug("cannot create %s (403) but it exists: pushing to it", repo_id)


def ensure_branch(api: HfApi, repo_id: str, branch: str, *, repo_type: str = "model") -> None:
    """Create ``branch`` from ``main`` unless it exists.

    Args:
        api: The client.
        repo_id: ``namespace/name``.
        branch: The branch to have.
        repo_type: ``"model"`` or ``"dataset"``.
    """
    from huggingface_hub.errors import RevisionNotFoundError

    try:
        api.repo_info(repo_id, revision=branch, repo_type=repo_type)
    except RevisionNotFoundError:
        logger.info("creating branch %s of %s from main", branch, repo_id)
        api.create_branch(repo_id, branch=branch, revision="main", repo_type=repo_type, exist_ok=True)


def create_tag(api: HfApi, repo_id: str, tag: str, commit: str, *, message: str, repo_type: str = "model") -> None:
    """Tag ``commit``; an existing tag on the same commit is fine (re-pushing unchanged content).

    Args:
        api: The client.
        repo_id: ``namespace/name``.
        tag: The tag to create, e.g. ``v1.0``.
        commit: The commit sha to tag.
        message: The tag's message.
        repo_type: ``"model"`` or ``"dataset"``.

    Raises:
        HubError: The tag exists on another commit (the push itself succeeded); the message says how to delete it.
    """
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_tag(repo_id, tag=tag, revision=commit, tag_message=message, repo_type=repo_type)
        return
    except HfHubHTTPError as error:
        if http_status(error) != 409:
            raise
    refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    existing = next((ref.target_commit for ref in refs.tags if ref.name == tag), None)
    if existing != commit:
        type_option = "" if repo_type == "model" else f" --repo-type {repo_type}"
        raise HubError(
            f"tag {tag!r} already exists in {repo_id} on commit {str(existing)[:8]}; the {repo_type} was pushed as "
            f"commit {commit[:8]} but not tagged: choose a new tag, or delete the old one with "
            f"`hf repos tag delete {repo_id} {tag}{type_option}`"
        )


def read_readme(api: HfApi, repo_id: str, revision: str, *, repo_type: str = "model") -> str | None:
    """The ``README.md`` of ``repo_id`` at ``revision`` (branch, tag or commit sha), or None when it has none.

    Args:
        api: The client.
        repo_id: ``namespace/name``.
        revision: Where to read it.
        repo_type: ``"model"`` or ``"dataset"``.

    Returns:
        The README's text, or None.
    """
    from huggingface_hub.errors import EntryNotFoundError

    try:
        path = api.hf_hub_download(repo_id, CARD_FILENAME, repo_type=repo_type, revision=revision)
    except EntryNotFoundError:
        return None
    return Path(path).read_text(encoding="utf-8")


def commit_retrying_on_conflict(attempt: Callable[[int], _T], *, conflict_message: str, retry_message: str) -> _T:
    """Run one commit attempt; when the branch moved under it (412), run it again, at most :data:`CONFLICT_RETRIES`
    more times.

    Args:
        attempt: Prepares and sends one commit against the head it reads (called with the attempt number, 0
            first); returns what the caller needs.
        conflict_message: Message of the :class:`HubConflictError` raised when every attempt lost its race.
        retry_message: Warning logged before each new attempt.

    Returns:
        What the successful attempt returned.

    Raises:
        HubConflictError: Every attempt was refused with 412.
    """
    from huggingface_hub.errors import HfHubHTTPError

    for number in range(CONFLICT_RETRIES + 1):
        try:
            return attempt(number)
        except HfHubHTTPError as error:
            if http_status(error) != 412:
                raise
            if number == CONFLICT_RETRIES:
                raise HubConflictError(conflict_message) from error
            logger.warning("%s", retry_message)
    raise AssertionError("unreachable")  # pragma: no cover
