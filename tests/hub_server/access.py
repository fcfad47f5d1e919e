"""Finding the repository a request is about, and checking that the caller may use it."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from .errors import HubError
from .storage import REPO_TYPES, Repo

if TYPE_CHECKING:
    from .protocol import Request
    from .server import HubServer

__all__ = ["repo_type_of", "require_read", "require_write", "split_revision", "unquote_revision"]

_PLURALS = {"models": "model", "datasets": "dataset"}


def repo_type_of(kind: str | None) -> str:
    """Map ``models``/``datasets`` (API) or ``datasets``/``None`` (URL prefix) to the repo type."""
    if kind is None or kind == "":
        return "model"
    repo_type = _PLURALS.get(kind, kind)
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"Repository type '{kind}' is not supported by the local test Hub")
    return repo_type


def _repo_of(hub: HubServer, request: Request) -> tuple[str, str, Repo | None]:
    """Type, id and stored repository (``None`` if missing) named by the route parameters."""
    repo_type = repo_type_of(request.params.get("kind"))
    repo_id = f"{unquote(request.params['ns'])}/{unquote(request.params['name'])}"
    return repo_type, repo_id, hub.store.get(repo_type, repo_id)


def require_read(hub: HubServer, request: Request) -> Repo:
    """Return the request's repository if the caller may read it.

    Raises:
        HubError: ``RepoNotFound``, 401 for anonymous callers and 404 for others, for
            missing repositories and for private ones the caller may not see alike.
    """
    repo_type, repo_id, repo = _repo_of(hub, request)
    who = request.identity
    if repo is None or not hub.auth.may_read(who, repo.namespace, f"{repo_type}:{repo_id}", repo.private):
        raise HubError.repo_not_found(401 if who is None else 404)
    return repo


def require_write(hub: HubServer, request: Request, *, pull_request: bool = False) -> Repo:
    """Return the request's repository if the caller may write to it.

    Args:
        hub: The server.
        request: The request.
        pull_request: Opening a pull request only needs an authenticated reader.

    Raises:
        HubError: ``RepoNotFound`` as in :func:`require_read`; 401 when anonymous; 403
            when the token is read-only, of another namespace, or out of its fine-grained scope.
    """
    repo = require_read(hub, request)
    who = request.identity
    if who is None:
        raise HubError(401, "Authentication required to write to a repository")
    if pull_request:
        return repo
    if not hub.auth.may_write(who, repo.namespace, f"{repo.repo_type}:{repo.repo_id}"):
        raise HubError(403, f"You don't have the rights to write to {repo.repo_type} {repo.repo_id}")
    return repo


def unquote_revision(raw: str) -> str:
    """Decode a revision from a URL (``refs%2Fpr%2F1`` and ``refs/pr/1`` both give ``refs/pr/1``)."""
    return unquote(raw)


def split_revision(rest: str) -> tuple[str, str]:
    """Split the raw ``<revision>[/<path>]`` tail of a URL.

    The client quotes revisions with ``safe=""`` (one segment), but a literal
    ``refs/<kind>/<name>`` revision is accepted as three segments.

    Returns:
        ``(revision, path)``, both decoded; ``path`` is ``""`` when absent.
    """
    segments = rest.split("/")
    if unquote(segments[0]) == "refs" and len(segments) >= 3:
        revision, remaining = "/".join(segments[:3]), segments[3:]
    else:
        revision, remaining = segments[0], segments[1:]
    return unquote(revision), unquote("/".join(remaining)).strip("/")
