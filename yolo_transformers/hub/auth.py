"""Which token to use, and whether it may write, decided before anything is uploaded.

Token resolution order: the explicit ``token`` argument (``--token``), then the ``HF_TOKEN`` environment variable,
then the token stored by ``hf auth login`` (both through :func:`huggingface_hub.get_token`). Write access is read
from ``whoami``: a classic ``write`` token of the repo's namespace (the user or one of their organizations), or a
fine-grained token with ``repo.write`` on the namespace or on the repository.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AuthenticationError
from .errors import hub_error, http_status, redact

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["ResolvedToken", "resolve_token", "require_token", "check_write_access", "WRITE_SCOPE_HELP"]

logger = logging.getLogger(__name__)

#: How to get a token that can push (``{endpoint}``: the Hub's address, ``HF_ENDPOINT``).
WRITE_SCOPE_HELP = (
    "pass --token, set HF_TOKEN, or run `hf auth login`, with a token that has the write scope "
    "(a 'write' token, or a fine-grained token with 'repo.write' on the repository or its namespace; "
    "create one at {endpoint}/settings/tokens)"
)

_WRITE_ROLES = ("write", "admin")


@dataclass(frozen=True)
class ResolvedToken:
    """A token and where it came from.

    Attributes:
        value: The secret itself; ``repr`` hides it.
        source: ``"--token"``, ``"HF_TOKEN"`` or ``"hf auth login"``, for messages.
    """

    value: str
    source: str

    def __repr__(self) -> str:
        return f"ResolvedToken(value='***', source={self.source!r})"


def _write_scope_help() -> str:
    from huggingface_hub import constants

    return WRITE_SCOPE_HELP.format(endpoint=constants.ENDPOINT.rstrip("/"))


def _stored_or_env_token() -> ResolvedToken | None:
    """The token ``huggingface_hub`` would use implicitly: ``HF_TOKEN``, else the ``hf auth login`` store."""
    from huggingface_hub import get_token

    value = get_token()
    if not value:
        return None
    from_env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    return ResolvedToken(value, "HF_TOKEN" if from_env and from_env.strip() == value else "hf auth login")


def resolve_token(token: str | None = None) -> str | None:
    """The token to use: ``token`` if given, else ``HF_TOKEN``, else the ``hf auth login`` store, else None.

    Args:
        token: An explicit token (``--token``); an empty string counts as not given.

    Returns:
        The token, or None for anonymous access.
    """
    resolved = _resolve(token)
    return resolved.value if resolved else None


def _resolve(token: str | None) -> ResolvedToken | None:
    resolved = ResolvedToken(token.strip(), "--token") if token else _stored_or_env_token()
    if resolved is not None:
        _check_characters(resolved)
    return resolved


def _check_characters(token: ResolvedToken) -> None:
    """Refuse a token with whitespace or control characters inside (a paste that caught a space or line break).

    Such a token cannot be valid, and HTTP layers echo it, escaped, in their errors. Surrounding whitespace is
    stripped first, as ``huggingface_hub`` does. The message never contains the token.

    Raises:
        AuthenticationError: The token contains whitespace, a control character or a non-ASCII character.
    """
    for position, character in enumerate(token.value):
        if character.isspace() or not character.isprintable() or not character.isascii():
            raise AuthenticationError(
                f"the token from {token.source} contains whitespace, a control or a non-ASCII character (at position "
                f"{position} of {len(token.value)}); Hub tokens never do. Copy it again from the Hub's token page "
                "without spaces or line breaks."
            )


def require_token(token: str | None, *, action: str = "push") -> ResolvedToken:
    """Like :func:`resolve_token`, but a missing token is an error.

    Raises:
        AuthenticationError: No token anywhere; the message says how to provide one.
    """
    resolved = _resolve(token)
    if resolved is None:
        raise AuthenticationError(f"cannot {action}: no Hugging Face token found; {_write_scope_help()}.")
    return resolved


def _scoped_write(fine_grained: dict[str, Any], namespace: str, repo_id: str, repo_type: str = "model") -> bool:
    """Whether a fine-grained token's scopes include ``repo.write`` on ``namespace`` or on the ``repo_type`` repo."""
    for scope in fine_grained.get("scoped") or []:
        entity = scope.get("entity") or {}
        if "repo.write" not in (scope.get("permissions") or []):
            continue
        kind, name = entity.get("type"), entity.get("name")
        if (kind in ("user", "org") and name == namespace) or (kind == repo_type and name == repo_id):
            return True
    return False


def _namespaces(whoami: dict[str, Any]) -> dict[str, str]:
    """Namespace -> role of the caller in it (``"owner"`` for the user's own)."""
    spaces = {str(whoami.get("name")): "owner"}
    for org in whoami.get("orgs") or []:
        if org.get("name"):
            spaces[str(org["name"])] = str(org.get("roleInOrg") or "write")
    return spaces


def check_write_access(api: HfApi, repo_id: str, token: ResolvedToken, repo_type: str = "model") -> str:
    """Check with ``whoami`` that ``token`` may write to ``repo_id``; nothing is uploaded or created.

    Args:
        api: A client carrying ``token``.
        repo_id: ``namespace/name``, or just ``name`` for the token owner's namespace.
        token: The resolved token (its source is named in errors).
        repo_type: ``"model"`` or ``"dataset"``: a fine-grained token must be scoped to a repo of that type.

    Returns:
        The full ``namespace/name`` repo id.

    Raises:
        AuthenticationError: The token is rejected, read-only, or not allowed in that namespace.
    """
    try:
        whoami = api.whoami(token=token.value)
    except Exception as error:  # noqa: BLE001 - translated into a typed, token-free error
        if http_status(error) == 401:
            raise AuthenticationError(
                f"the token from {token.source} was rejected by the Hub (invalid, expired or revoked); "
                f"{_write_scope_help()}."
            ) from None
        raise hub_error(error, action="check the token", repo_id=repo_id, token=token.value) from None
    user = str(whoami.get("name"))
    full_id = repo_id if "/" in repo_id else f"{user}/{repo_id}"
    namespace = full_id.split("/", 1)[0]
    access = (whoami.get("auth") or {}).get("accessToken") or {}
    role = access.get("role")
    spaces = _namespaces(whoami)
    if namespace not in spaces:
        raise AuthenticationError(
            f"the token from {token.source} belongs to {user!r}, who cannot write to the namespace {namespace!r}; "
            f"push to {user}/{full_id.split('/', 1)[1]} or use a token of a member of {namespace!r}."
        )
    if spaces[namespace] == "read":
        raise AuthenticationError(
            f"{user!r} has only read access in the organization {namespace!r}; ask an admin for the write role."
        )
    if role in _WRITE_ROLES:
        allowed = True
    elif role == "fineGrained":
        allowed = _scoped_write(access.get("fineGrained") or {}, namespace, full_id, repo_type)
    else:
        allowed = False
    if not allowed:
        raise AuthenticationError(
            f"the token from {token.source} ({role or 'unknown'} token of {user!r}) cannot write to {full_id}; "
            f"{_write_scope_help()}."
        )
    logger.debug("%s token of %s may write to %s", role, user, redact(full_id, token.value))
    return full_id
