"""Turn ``huggingface_hub`` / HTTP exceptions into one-line, token-free :class:`HubError`s that name the fix."""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..errors import AuthenticationError, HubConflictError, HubError, YoloTransformersError

__all__ = ["hub_error", "hub_errors", "http_status", "redact", "token_forms"]

_REDACTED = "hf_***"


def token_forms(token: str) -> list[str]:
    """The forms a token takes in messages: raw, ``repr``-escaped, JSON-escaped, URL-encoded; longest first."""
    import json
    from urllib.parse import quote

    forms = {token, repr(token)[1:-1], json.dumps(token)[1:-1], quote(token, safe=""), quote(token),
             quote(token, safe="").replace("%20", "+")}
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, *tokens: str | None) -> str:
    """``text`` with every given token, in each of its :func:`token_forms`, replaced by ``hf_***``."""
    for token in tokens:
        if token and len(token.strip()) >= 4:  # a 1-3 character "token" would blank out ordinary text
            for form in token_forms(token):
                text = text.replace(form, _REDACTED)
    return text


def http_status(error: BaseException) -> int | None:
    """The HTTP status code of a failed Hub call (``error.response.status_code``), or None when it has none."""
    return getattr(getattr(error, "response", None), "status_code", None)


def _one_line(text: str, limit: int = 300) -> str:
    """First meaningful line of a (multi-line) client message, shortened."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _server_message(error: BaseException) -> str:
    message = getattr(error, "server_message", None)
    return _one_line(message or str(error))


def hub_error(
    error: BaseException,
    *,
    action: str,
    repo_id: str,
    revision: str | None = None,
    token: str | None = None,
) -> HubError:
    """A typed, single-line error for a failed Hub call.

    Args:
        error: What ``huggingface_hub`` (or the HTTP layer) raised.
        action: What was being done, e.g. ``"push"`` or ``"download"``.
        repo_id: The repository, for the message.
        revision: The revision, for the message.
        token: The token in use; removed from the message if the server echoed it.

    Returns:
        :class:`AuthenticationError` (401/403), :class:`HubConflictError` (412 stale parent), or :class:`HubError`.
    """
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id}@{revision}" if revision else repo_id
    status = http_status(error)
    kind: type[HubError] = HubError
    if isinstance(error, GatedRepoError):
        kind = AuthenticationError
        text = f"{repo_id} is gated: accept its conditions on the Hub, then use that account's token"
    elif isinstance(error, RepositoryNotFoundError):
        text = (
            f"{repo_id} not found, or private and not readable with this token: check the name, or pass --token / "
            "set HF_TOKEN / run `hf auth login` with a token that can read it"
        )
    elif isinstance(error, RevisionNotFoundError):
        text = f"revision {revision!r} not found in {repo_id}: use an existing branch, tag or commit sha"
    elif isinstance(error, (OfflineModeIsEnabled, LocalEntryNotFoundError)):  # before EntryNotFound: a subclass
        text = (
            f"{where} is not in the local cache and the Hub cannot be reached (HF_HUB_OFFLINE=1 or no network): "
            "pull it once while online, or unset HF_HUB_OFFLINE"
        )
    elif isinstance(error, EntryNotFoundError):
        text = f"{where}: {_server_message(error)}"
    elif isinstance(error, HfHubHTTPError) and status == 401:
        kind, text = AuthenticationError, (
            f"the Hub refused the credentials for {action} of {where}: pass --token, set HF_TOKEN or run "
            "`hf auth login` with a valid token"
        )
    elif isinstance(error, HfHubHTTPError) and status == 403:
        kind, text = AuthenticationError, (
            f"not allowed to {action} {where} ({_server_message(error)}): use a token with the write scope on it "
            "(--token, HF_TOKEN or `hf auth login`)"
        )
    elif isinstance(error, HfHubHTTPError) and status == 412:
        kind, text = HubConflictError, (
            f"{where} changed while pushing (another push landed first); nothing was committed: push again"
        )
    elif isinstance(error, HfHubHTTPError):
        text = f"{action} of {where} failed: HTTP {status}: {_server_message(error)}"
    elif _is_connection_error(error):
        text = (
            f"cannot reach the Hub for {action} of {where} ({_one_line(str(error))}): "
            "check HF_ENDPOINT and the network"
        )
    else:
        cause = error.__cause__ or error.__context__
        detail = _one_line(str(error))
        if cause is not None and str(cause):
            detail = f"{detail} ({_server_message(cause)})"
        text = f"{action} of {where} failed: {detail}"
    return kind(redact(text, token))


@contextlib.contextmanager
def hub_errors(*, action: str, repo_id: str, revision: str | None = None, token: str | None = None) -> Iterator[None]:
    """Raise what ``huggingface_hub`` / HTTP raise inside the block as :func:`hub_error` does.

    This package's own errors (:class:`~yolo_transformers.errors.YoloTransformersError`) pass through unchanged.

    Args:
        action: What the block does, e.g. ``"push"`` or ``"download"``.
        repo_id: The repository, for the message.
        revision: The revision, for the message.
        token: The token in use; removed from the message if the server echoed it.

    Raises:
        HubError: Anything else raised in the block, translated (the original is its ``__cause__``).
    """
    try:
        yield
    except YoloTransformersError:
        raise
    except Exception as error:  # noqa: BLE001 - huggingface_hub / HTTP errors become typed HubErrors
        raise hub_error(error, action=action, repo_id=repo_id, revision=revision, token=token) from error


def _is_connection_error(error: BaseException) -> bool:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency of huggingface_hub
        return isinstance(error, ConnectionError)
    return isinstance(error, (httpx.TransportError, ConnectionError))
