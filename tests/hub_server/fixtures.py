"""Pytest fixtures for the local Hub, and the environment that makes the clients use it.

Importing this module (``tests/conftest.py`` does, before anything else can import
``huggingface_hub``) does, once per test session:

* binds the local Hub to a free loopback port, starts it, and sets ``HF_ENDPOINT`` to it
  (``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` at import time);
* sets ``HF_HUB_DISABLE_XET=1`` (also read at import time) so uploads use classic LFS;
* points ``HF_HOME`` at a fresh temporary folder, so caches and stored tokens never touch
  the user's, and removes ``HF_TOKEN`` and other variables that could leak a real token,
  redirect caches or force offline mode.

Fixtures:

* ``hub_server`` (session): the :class:`~tests.hub_server.server.HubServer`.
* ``hub_repo_name`` (function): ``hub_repo_name()`` -> a fresh ``"alice/<test>-<hex>"``.
* ``hub_faults`` (function): the server, with planned failures removed after the test.
* ``hub_token_env`` (function): ``hub_token_env("bob", "read")`` sets ``HF_TOKEN`` for the test.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest

from .server import HubServer

__all__ = ["HF_HOME", "HUB", "hub_faults", "hub_repo_name", "hub_server", "hub_token_env"]

_LEAKY_VARIABLES = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_STORED_TOKENS_PATH",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_DATASETS_CACHE",
    "HF_MODULES_CACHE",
    "TRANSFORMERS_CACHE",
)


def _configure_environment(endpoint: str) -> str:
    """Point every Hugging Face client at ``endpoint`` and a private ``HF_HOME``; return that folder."""
    for name in _LEAKY_VARIABLES:
        os.environ.pop(name, None)
    home = tempfile.mkdtemp(prefix="hf-home-tests-")
    os.environ["HF_HOME"] = home
    os.environ["HF_ENDPOINT"] = endpoint
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return home


def _check_not_imported_too_early(endpoint: str) -> None:
    """Fail loudly if a client was imported before ``HF_ENDPOINT`` was set (it would ignore the local Hub)."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is None:
        return
    if getattr(constants, "ENDPOINT", endpoint) != endpoint or not getattr(constants, "HF_HUB_DISABLE_XET", True):
        raise RuntimeError(
            "huggingface_hub was imported before tests.hub_server.fixtures set HF_ENDPOINT and "
            "HF_HUB_DISABLE_XET; import tests.hub_server.fixtures first in tests/conftest.py"
        )


HUB = HubServer()
HF_HOME = _configure_environment(HUB.endpoint)
_check_not_imported_too_early(HUB.endpoint)
HUB.start()


def _shutdown() -> None:
    HUB.stop()
    shutil.rmtree(HF_HOME, ignore_errors=True)


atexit.register(_shutdown)


@pytest.fixture(scope="session")
def hub_server() -> HubServer:
    """The session's local Hub.

    Attributes used by tests: ``endpoint``, ``users`` (``{"alice": {"read": ..., "write": ...}}``),
    ``token(user, role)``, ``api(user, role)``, ``head(repo_id)``, ``files(repo_id)``,
    ``fail_lfs_upload(...)``, ``capture_requests()``.
    """
    return HUB


@pytest.fixture
def hub_repo_name(request: pytest.FixtureRequest) -> Callable[..., str]:
    """A factory of fresh repository ids: ``hub_repo_name(owner="alice", prefix=None)``.

    The name is derived from the test name plus a random suffix, so tests never collide.
    """
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-") or "repo"

    def make(owner: str = "alice", prefix: str | None = None) -> str:
        return f"{owner}/{prefix or base}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def hub_faults(hub_server: HubServer) -> Iterator[HubServer]:
    """The local Hub, for tests that plan failures; every planned failure is removed afterwards."""
    yield hub_server
    hub_server.reset_faults()


@pytest.fixture
def hub_token_env(hub_server: HubServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``hub_token_env(user="alice", role="write")`` exports that user's token as ``HF_TOKEN`` for the test."""

    def use(user: str = "alice", role: str = "write") -> str:
        token = hub_server.token(user, role)
        monkeypatch.setenv("HF_TOKEN", token)
        return token

    return use
