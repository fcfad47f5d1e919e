"""A local server that speaks enough of the Hugging Face Hub's HTTP protocol for the real clients.

``huggingface_hub`` (``HfApi``, ``hf_hub_download``, ``snapshot_download``, ``HfFileSystem``)
and ``datasets`` (``push_to_hub``, ``load_dataset``) run against it unchanged when
``HF_ENDPOINT`` points at :attr:`HubServer.endpoint` and ``HF_HUB_DISABLE_XET=1``.

Example:
    >>> with HubServer() as hub:                           # doctest: +SKIP
    ...     api = HfApi(endpoint=hub.endpoint, token=hub.token("alice"))
    ...     api.create_repo("alice/demo")
"""

from __future__ import annotations

import logging
import secrets
import shutil
import socketserver
import tempfile
import threading
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from .auth import AuthRegistry
from .faults import Fault, FaultInjector, RequestLog, RequestRecord
from .protocol import HubRequestHandler, Router
from .routes_read import (
    agent_harnesses,
    auth_check,
    list_commits,
    list_refs,
    list_repos,
    paths_info,
    repo_info,
    resolve_file,
    tree,
    validate_yaml,
    whoami,
)
from .routes_write import (
    commit,
    create_branch,
    create_repo,
    create_tag,
    delete_branch,
    delete_repo,
    delete_tag,
    lfs_batch,
    lfs_upload,
    lfs_verify,
    preupload,
    update_settings,
    xet_unsupported,
)
from .storage import Repo, RepoStore

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["DEFAULT_ORGS", "DEFAULT_USERS", "HubServer", "build_router"]

logger = logging.getLogger(__name__)

DEFAULT_USERS = ("alice", "bob", "carol")
DEFAULT_ORGS = {"acme": ["alice"]}

_API = r"/api/(?P<kind>models|datasets)/(?P<ns>[^/]+)/(?P<name>[^/]+)"
_WEB = r"/(?:(?P<kind>datasets)/)?(?P<ns>[^/]+)/(?P<name>[^/]+?)"
_UPLOAD = r"/__lfs__/upload/(?P<kind>model|dataset)/(?P<ns>[^/]+)/(?P<name>[^/]+)/(?P<oid>[0-9a-f]{64})"


def build_router() -> Router:
    """The route table of the Hub endpoints the clients use."""
    router = Router()
    router.add("whoami", "GET", "/api/whoami-v2", whoami)
    router.add("agent_harnesses", "GET", "/api/agent-harnesses", agent_harnesses)
    router.add("create_repo", "POST", "/api/repos/create", create_repo)
    router.add("delete_repo", "DELETE", "/api/repos/delete", delete_repo)
    router.add("validate_yaml", "POST", "/api/validate-yaml", validate_yaml)
    router.add("list_repos", "GET", "/api/(?P<kind>models|datasets)", list_repos)
    router.add("repo_info", "GET", _API, repo_info)
    router.add("repo_info", "GET", _API + "/revision/(?P<rev>.+)", repo_info)
    router.add("tree", "GET", _API + "/tree/(?P<rest>.+)", tree)
    router.add("paths_info", "POST", _API + "/paths-info/(?P<rev>.+)", paths_info)
    router.add("preupload", "POST", _API + "/preupload/(?P<rev>.+)", preupload)
    router.add("commit", "POST", _API + "/commit/(?P<rev>.+)", commit)
    router.add("refs", "GET", _API + "/refs", list_refs)
    router.add("commits", "GET", _API + "/commits/(?P<rev>.+)", list_commits)
    router.add("branch", "POST", _API + "/branch/(?P<branch>.+)", create_branch)
    router.add("branch", "DELETE", _API + "/branch/(?P<branch>.+)", delete_branch)
    router.add("tag", "POST", _API + "/tag/(?P<rev>.+)", create_tag)
    router.add("tag", "DELETE", _API + "/tag/(?P<rev>.+)", delete_tag)
    router.add("settings", "PUT", _API + "/settings", update_settings)
    router.add("auth_check", "GET", _API + "/auth-check(?P<write>/write)?", auth_check)
    router.add("xet_token", "GET", _API + "/xet-(?:read|write)-token/.+", xet_unsupported)
    router.add("lfs_batch", "POST", _WEB + r"\.git/info/lfs/objects/batch", lfs_batch)
    router.add("lfs_verify", "POST", _WEB + r"\.git/info/lfs/objects/verify", lfs_verify)
    router.add("lfs_upload", "PUT", _UPLOAD, lfs_upload)
    router.add("resolve", "GET HEAD", _WEB + "/resolve/(?P<rest>.+)", resolve_file)
    return router


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that skips the reverse DNS lookup of ``server_bind`` (no network here)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    hub: HubServer

    def server_bind(self) -> None:
        """Bind like ``TCPServer`` and name the server after its address."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log connection errors (clients hanging up, dropped uploads) instead of printing them."""
        logger.debug("local test Hub: connection error with %s", client_address, exc_info=True)


class HubServer(AbstractContextManager["HubServer"]):
    """The local Hub: storage, users and tokens, an HTTP server on a background thread.

    The socket is bound in the constructor (so :attr:`endpoint` is known before anything
    imports ``huggingface_hub``); :meth:`start` begins serving.

    Args:
        storage_dir: Where blobs are stored; a temporary folder (removed by :meth:`stop`) if ``None``.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        users: User names to create, each with a read and a write token.
        orgs: Organizations to create, name -> member user names.

    Attributes:
        endpoint: ``http://host:port``, the value for ``HF_ENDPOINT``.
        users: User name -> ``{"read": token, "write": token}``.
        store: Repositories and blobs.
        auth: Users, organizations and tokens.
        faults: Planned failures (see :meth:`fail_lfs_upload`, :meth:`fail_route`).
        requests: Request recorder (see :meth:`capture_requests`).
    """

    def __init__(
        self,
        storage_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: tuple[str, ...] = DEFAULT_USERS,
        orgs: dict[str, list[str]] | None = None,
    ) -> None:
        self._tmp = None if storage_dir is not None else tempfile.mkdtemp(prefix="local-hub-")
        self.storage_dir = Path(storage_dir or self._tmp)  # type: ignore[arg-type]
        self.store = RepoStore(self.storage_dir)
        self.auth = AuthRegistry()
        self.users: dict[str, dict[str, str]] = {name: self.auth.add_user(name) for name in users}
        for org, members in (DEFAULT_ORGS if orgs is None else orgs).items():
            self.auth.add_org(org, members)
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.lfs_secret = secrets.token_bytes(32)
        self.router = build_router()
        self._httpd = _HTTPServer((host, port), HubRequestHandler)
        self._httpd.hub = self
        self.endpoint = f"http://{host}:{self._httpd.server_port}"
        self._thread: threading.Thread | None = None

    # ----- lifecycle

    def start(self) -> HubServer:
        """Serve on a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="local-hub", daemon=True
            )
            self._thread.start()
            logger.info("local test Hub serving at %s", self.endpoint)
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and remove the temporary storage."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- users and clients

    def token(self, user: str = "alice", role: str = "write") -> str:
        """A token of ``user`` (``role`` ``"read"`` or ``"write"``)."""
        return self.users[user][role]

    def add_user(self, name: str) -> dict[str, str]:
        """Create another user; returns (and records in :attr:`users`) its read and write tokens."""
        self.users[name] = self.auth.add_user(name)
        return self.users[name]

    def fine_grained_token(self, user: str, scopes: dict[str, list[str]]) -> str:
        """Issue a fine-grained token, e.g. ``{"model:alice/x": ["repo.content.read", "repo.write"]}``."""
        return self.auth.add_token(user, "fineGrained", scopes).value

    def api(self, user: str | None = "alice", role: str = "write") -> HfApi:
        """An ``HfApi`` client for this server, as ``user`` (``None``: anonymous)."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token(user, role) if user else False)

    # ----- inspection (bypasses HTTP, for assertions)

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        """The stored repository (``KeyError`` if missing)."""
        repo = self.store.get(repo_type, repo_id)
        if repo is None:
            raise KeyError(f"{repo_type} {repo_id}")
        return repo

    def head(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> str:
        """Commit id that ``revision`` points to, read from storage."""
        return self.repo(repo_id, repo_type).resolve(revision).sha

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """Content of every file at ``revision``, read from storage."""
        snapshot = self.repo(repo_id, repo_type).resolve(revision)
        return {path: self.store.blobs.read(entry) for path, entry in snapshot.files.items()}

    # ----- fault injection and request capture

    def fail_lfs_upload(self, oid: str | None = None, *, status: int = 403, times: int | None = None) -> Fault:
        """Make LFS uploads (of ``oid``, or all) fail with ``status``.

        4xx statuses are not retried by the client, so the failure surfaces at once;
        5xx statuses are retried with backoff (slow).
        """
        return self.faults.add(Fault("lfs_upload", status=status, match=oid, times=times))

    def drop_lfs_upload(self, oid: str | None = None, *, times: int | None = 1) -> Fault:
        """Close the connection halfway through LFS uploads (of ``oid``, or all), without answering.

        The client retries network errors with backoff (1 s, 2 s, ...), so keep ``times`` small.
        """
        return self.faults.add(Fault("lfs_upload", status=None, match=oid, times=times))

    def fail_route(self, route: str, *, status: int = 500, match: str | None = None, times: int | None = 1) -> Fault:
        """Make a route (see :func:`build_router` names) fail; ``match`` is a repo id or LFS oid."""
        return self.faults.add(Fault(route, status=status, match=match, times=times))

    def reset_faults(self) -> None:
        """Remove every planned failure."""
        self.faults.clear()

    def capture_requests(self) -> AbstractContextManager[list[RequestRecord]]:
        """``with hub.capture_requests() as seen:`` collects the requests received in the block."""
        return self.requests.capture()

    def __repr__(self) -> str:
        return f"HubServer(endpoint={self.endpoint!r}, users={sorted(self.users)})"
