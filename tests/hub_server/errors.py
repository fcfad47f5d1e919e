"""Errors of the test Hub: an HTTP status plus the Hub's error headers, or a dropped connection."""

from __future__ import annotations

__all__ = ["DropConnection", "HubError"]


class HubError(Exception):
    """An error answered to the client as the Hub would answer it.

    The client classifies errors by the ``X-Error-Code`` header (``RepoNotFound``,
    ``RevisionNotFound``, ``EntryNotFound``, ...) and shows ``X-Error-Message`` and the
    JSON body's ``error`` to the user.

    Args:
        status: HTTP status code.
        message: Human readable message (``error`` in the body, ``X-Error-Message`` header).
        code: Value of the ``X-Error-Code`` header, if any.
        headers: Extra response headers (e.g. ``X-Repo-Commit`` on a missing file).
        body: Extra JSON fields merged into the error body (e.g. ``url`` on a 409 create).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.body = dict(body or {})

    @classmethod
    def repo_not_found(cls, status: int = 404) -> HubError:
        """Missing repo, or a private repo the caller may not see (401 anonymous, 404 otherwise)."""
        return cls(status, "Repository not found", code="RepoNotFound")

    @classmethod
    def revision_not_found(cls, revision: str) -> HubError:
        """A branch, tag or commit that the repo does not have."""
        return cls(404, f"Invalid rev id: {revision}", code="RevisionNotFound")

    @classmethod
    def entry_not_found(cls, message: str, commit: str | None = None) -> HubError:
        """A path that the revision does not have; ``commit`` is sent as ``X-Repo-Commit``."""
        headers = {"X-Repo-Commit": commit} if commit else None
        return cls(404, message, code="EntryNotFound", headers=headers)


class DropConnection(Exception):
    """Raised by a handler (fault injection) to close the socket without any response."""

