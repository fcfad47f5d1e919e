"""Users, organizations and access tokens of the test Hub, and who may read or write what.

Rules (the Hub's, simplified):

* Public repositories are readable by anyone, private ones only by their namespace's
  members. Others get 401 when anonymous and 404 ``RepoNotFound`` when authenticated, so
  a private repository cannot be told from a missing one.
* Writing needs a ``write`` token of a namespace member (or a fine-grained token with
  ``repo.write`` on the namespace or repository); 401 when anonymous, 403 otherwise.
* An ``Authorization`` header with an unknown token is refused with 401 everywhere.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
from dataclasses import dataclass, field

from .errors import HubError

__all__ = ["AuthRegistry", "Identity", "Token", "User"]

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
_ALPHABET = string.ascii_letters + string.digits


def new_token_value() -> str:
    """A random token that looks like a Hub token (``hf_`` + 34 letters and digits)."""
    return "hf_" + "".join(secrets.choice(_ALPHABET) for _ in range(34))


@dataclass(frozen=True)
class Token:
    """An access token.

    Attributes:
        value: The secret sent as ``Authorization: Bearer <value>``.
        user: User name of the owner.
        role: ``"read"``, ``"write"`` or ``"fineGrained"``.
        name: Display name (``auth.accessToken.displayName`` in whoami).
        scopes: Fine-grained scopes, ``(entity, permissions)`` where entity is a namespace
            (``"alice"``) or a repository (``"model:alice/x"``, ``"dataset:alice/y"``).
    """

    value: str = field(repr=False)
    user: str
    role: str
    name: str
    scopes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class User:
    """A user (or, with ``is_org``, an organization whose ``members`` act for it)."""

    name: str
    is_org: bool = False
    members: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Identity:
    """The authenticated caller of one request: a user acting through one token."""

    user: str
    token: Token


class AuthRegistry:
    """Users, organizations and tokens, with constant-time token lookup."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self._tokens: list[Token] = []
        self._lock = threading.Lock()

    # ----- registration

    def add_user(self, name: str) -> dict[str, str]:
        """Create a user with one ``read`` and one ``write`` token.

        Returns:
            ``{"read": <token>, "write": <token>}``.
        """
        with self._lock:
            self.users[name] = User(name)
        return {role: self.add_token(name, role).value for role in ("read", "write")}

    def add_org(self, name: str, members: list[str]) -> None:
        """Create an organization; its members may read its private repos and write with write tokens."""
        with self._lock:
            self.users[name] = User(name, is_org=True, members=set(members))

    def add_token(self, user: str, role: str, scopes: dict[str, list[str]] | None = None) -> Token:
        """Issue a token for ``user``.

        Args:
            user: Owner of the token.
            role: ``"read"``, ``"write"`` or ``"fineGrained"``.
            scopes: Fine-grained permissions by entity, e.g.
                ``{"model:alice/x": ["repo.content.read", "repo.write"]}`` or ``{"alice": [...]}``.
        """
        token = Token(
            value=new_token_value(),
            user=user,
            role=role,
            name=f"{user}-{role}-{len(self._tokens)}",
            scopes=tuple((entity, tuple(perms)) for entity, perms in (scopes or {}).items()),
        )
        with self._lock:
            self._tokens.append(token)
        return token

    # ----- authentication

    def authenticate(self, authorization: str | None) -> Identity | None:
        """Resolve an ``Authorization`` header.

        Every known token is compared in constant time, whatever matches first.

        Returns:
            The caller, or ``None`` when the header is absent.

        Raises:
            HubError: 401 when a token is sent but unknown.
        """
        if not authorization:
            return None
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise HubError(401, INVALID_CREDENTIALS)
        candidate = presented.strip().encode()
        found: Token | None = None
        with self._lock:
            tokens = list(self._tokens)
        for token in tokens:
            if hmac.compare_digest(candidate, token.value.encode()):
                found = token
        if found is None:
            raise HubError(401, INVALID_CREDENTIALS)
        return Identity(found.user, found)

    # ----- authorization

    def is_member(self, user: str, namespace: str) -> bool:
        """Whether ``user`` is ``namespace`` or a member of that organization."""
        owner = self.users.get(namespace)
        return user == namespace or (owner is not None and owner.is_org and user in owner.members)

    def _scoped(self, token: Token, namespace: str, repo_key: str | None, permission: str) -> bool:
        """Whether a fine-grained token grants ``permission`` on the namespace or the repository."""
        return any(
            permission in perms and entity in (namespace, repo_key) for entity, perms in token.scopes
        )

    def may_read(self, who: Identity | None, namespace: str, repo_key: str, private: bool) -> bool:
        """Whether ``who`` may read a repository (``repo_key`` is ``"<type>:<id>"``)."""
        if not private:
            return True
        if who is None or not self.is_member(who.user, namespace):
            return False
        if who.token.role == "fineGrained":
            return self._scoped(who.token, namespace, repo_key, "repo.content.read")
        return True

    def may_write(self, who: Identity | None, namespace: str, repo_key: str | None) -> bool:
        """Whether ``who`` may write to a namespace (``repo_key`` ``None``: create repos there)."""
        if who is None or not self.is_member(who.user, namespace):
            return False
        if who.token.role == "fineGrained":
            return self._scoped(who.token, namespace, repo_key, "repo.write")
        return who.token.role == "write"

    def whoami(self, who: Identity) -> dict:
        """The ``/api/whoami-v2`` document of the caller."""
        orgs = [
            {"type": "org", "name": user.name, "fullname": user.name, "roleInOrg": "write"}
            for user in self.users.values()
            if user.is_org and who.user in user.members
        ]
        access_token: dict = {"displayName": who.token.name, "role": who.token.role}
        if who.token.role == "fineGrained":
            access_token["fineGrained"] = {
                "canReadGatedRepos": False,
                "global": [],
                "scoped": [
                    {"entity": _entity_document(entity), "permissions": list(perms)}
                    for entity, perms in who.token.scopes
                ],
            }
        return {
            "type": "user",
            "id": who.user,
            "name": who.user,
            "fullname": who.user.capitalize(),
            "email": f"{who.user}@users.noreply.hub.local",
            "emailVerified": True,
            "canPay": False,
            "isPro": False,
            "periodEnd": None,
            "avatarUrl": "",
            "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": access_token},
        }


def _entity_document(entity: str) -> dict:
    """whoami's ``entity`` of a scope: ``"model:alice/x"`` -> model, ``"alice"`` -> user."""
    kind, _, name = entity.partition(":")
    return {"type": kind, "name": name} if name else {"type": "user", "name": entity}
