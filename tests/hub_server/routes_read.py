"""Read endpoints: whoami, repo info and listings, tree, paths-info, file downloads, refs, commits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .access import repo_type_of, require_read, require_write, split_revision, unquote_revision
from .errors import HubError
from .metadata import validate_card
from .protocol import Request, Response
from .storage import Repo
from .views import commit_document, list_tree, refs_document, repo_document, tree_entry

if TYPE_CHECKING:
    from .server import HubServer

__all__ = [
    "agent_harnesses",
    "auth_check",
    "list_commits",
    "list_refs",
    "list_repos",
    "paths_info",
    "repo_info",
    "resolve_file",
    "tree",
    "validate_yaml",
    "whoami",
]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def whoami(hub: HubServer, request: Request) -> Response:
    """``GET /api/whoami-v2``: the caller's name, orgs and token (401 without a valid token)."""
    if request.identity is None:
        raise HubError(401, "Authentication required: send 'Authorization: Bearer <token>'")
    return Response.json(hub.auth.whoami(request.identity))


def agent_harnesses(hub: HubServer, request: Request) -> Response:
    """``GET /api/agent-harnesses``: an empty registry (the client fetches it for its user agent)."""
    return Response.json({"standardEnvVars": [], "harnesses": {}})


def validate_yaml(hub: HubServer, request: Request) -> Response:
    """``POST /api/validate-yaml``: check a README's metadata block (400 with ``errors`` when invalid)."""
    errors = validate_card(str(request.json().get("content", "")))
    body = {"errors": [{"message": message} for message in errors], "warnings": []}
    return Response.json(body, 400 if errors else 200)


def auth_check(hub: HubServer, request: Request) -> Response:
    """``GET /api/{type}s/{id}/auth-check[/write]``: 200 when the caller may read (or write)."""
    if request.params.get("write"):
        require_write(hub, request)
    else:
        require_read(hub, request)
    return Response.json({})


def _matches_listing(hub: HubServer, request: Request, repo: Repo, tags: list[str]) -> bool:
    """Whether a listing request (visibility, ``author``, ``search``, ``filter``) keeps ``repo``."""
    who = request.identity
    if not hub.auth.may_read(who, repo.namespace, f"{repo.repo_type}:{repo.repo_id}", repo.private):
        return False
    author, search = request.arg("author"), request.arg("search")
    if author and repo.namespace != author:
        return False
    if search and search.lower() not in repo.repo_id.lower():
        return False
    wanted = request.query.get("filter", []) + request.query.get("pipeline_tag", [])
    return all(tag in tags for tag in wanted)


def list_repos(hub: HubServer, request: Request) -> Response:
    """``GET /api/models`` and ``/api/datasets``.

    Supports ``author``, ``search``, ``filter`` (tags, all required), ``pipeline_tag``,
    ``sort`` (``lastModified``, ``createdAt``, ``id``), ``direction`` and ``limit``.
    ``full``, ``cardData`` or ``expand`` add siblings and card data. Private repos are
    listed only for callers who may read them. No pagination: one page holds everything.
    """
    repo_type = repo_type_of(request.params["kind"])
    full = request.flag("full") or request.flag("cardData") or bool(request.query.get("expand"))
    docs = []
    for repo in hub.store.all(repo_type):
        try:
            commit = repo.resolve("main")
        except HubError:
            continue
        doc = repo_document(hub, repo, commit, full=full)
        if _matches_listing(hub, request, repo, doc["tags"] + [doc.get("pipeline_tag") or ""]):
            docs.append(doc)
    sort = request.arg("sort")
    if sort in ("lastModified", "createdAt", "id"):
        docs.sort(key=lambda d: d[sort], reverse=request.arg("direction") == "-1")
    limit = request.arg("limit")
    return Response.json(docs[: int(limit)] if limit and limit.isdigit() else docs)


def repo_info(hub: HubServer, request: Request) -> Response:
    """``GET /api/{type}s/{id}[/revision/{rev}]``: id, sha, private, siblings, tags, cardData, ..."""
    repo = require_read(hub, request)
    commit = repo.resolve(unquote_revision(request.params.get("rev", "main")))
    return Response.json(repo_document(hub, repo, commit))


def tree(hub: HubServer, request: Request) -> Response:
    """``GET /api/{type}s/{id}/tree/{rev}[/{path}]?recursive=&expand=``.

    404 ``EntryNotFound`` when the path is not a folder (a file or nothing). All entries
    come in one page (no ``Link`` header).
    """
    repo = require_read(hub, request)
    revision, folder = split_revision(request.params["rest"])
    commit = repo.resolve(revision)
    if not commit.is_dir(folder):
        raise HubError.entry_not_found(f"{folder} does not exist (or is not a folder) at {revision}", commit.sha)
    expand = request.flag("expand")
    paths = list_tree(commit, folder, recursive=request.flag("recursive"))
    return Response.json([tree_entry(repo, commit, path, expand=expand) for path in paths])


def _paths_and_expand(request: Request) -> tuple[list[str], bool]:
    """``paths`` and ``expand`` of a paths-info request, sent as a form (the client) or as JSON."""
    content_type = (request.headers.get("Content-Type") or "").lower()
    if "json" in content_type:
        data = request.json()
        paths, expand = data.get("paths", []), data.get("expand", False)
        return ([paths] if isinstance(paths, str) else list(paths)), str(expand).lower() in ("1", "true")
    form = request.form()
    return form.get("paths", []), (form.get("expand") or ["false"])[0].lower() in ("1", "true")


def paths_info(hub: HubServer, request: Request) -> Response:
    """``POST /api/{type}s/{id}/paths-info/{rev}``: form (repeated ``paths``, ``expand``) or JSON.

    Missing paths are left out of the answer, as on the Hub.
    """
    repo = require_read(hub, request)
    commit = repo.resolve(unquote_revision(request.params["rev"]))
    paths, expand = _paths_and_expand(request)
    found = []
    for raw in dict.fromkeys(p.strip("/") for p in paths):
        if raw in commit.files or (raw and commit.is_dir(raw)):
            found.append(tree_entry(repo, commit, raw, expand=expand))
    return Response.json(found)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single-range ``Range`` header into ``(start, end_inclusive)``; ``None`` to send it all.

    Raises:
        HubError: 416 for an unsatisfiable range.
    """
    if not header or "," in header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise HubError(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, end


def resolve_file(hub: HubServer, request: Request) -> Response:
    """``HEAD``/``GET {prefix}{id}/resolve/{rev}/{path}``: file content and its cache headers.

    Headers: ``X-Repo-Commit``, ``ETag`` (git blob id, or sha256 for LFS files, which
    also get ``X-Linked-Etag``/``X-Linked-Size``), ``Content-Length``, ``Accept-Ranges``.
    A single ``Range`` gets a 206 with ``Content-Range``.
    """
    repo = require_read(hub, request)
    revision, path = split_revision(request.params["rest"])
    commit = repo.resolve(revision)
    entry = commit.files.get(path)
    if entry is None:
        raise HubError.entry_not_found(f"Entry not found: {path} at {revision}", commit.sha)
    headers = {
        "X-Repo-Commit": commit.sha,
        "ETag": f'"{entry.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    if entry.is_lfs:
        headers.update({"X-Linked-Etag": f'"{entry.etag}"', "X-Linked-Size": str(entry.size)})
    span = _byte_range(request.headers.get("Range"), entry.size)
    blob = hub.store.blobs.path_of(entry)
    if span is None:
        return Response(200, headers=headers, file=blob, offset=0, length=entry.size)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
    return Response(206, headers=headers, file=blob, offset=start, length=end - start + 1)


def list_refs(hub: HubServer, request: Request) -> Response:
    """``GET /api/{type}s/{id}/refs``: branches, tags (with ``targetCommit``), converts, pullRequests."""
    return Response.json(refs_document(require_read(hub, request)))


def list_commits(hub: HubServer, request: Request) -> Response:
    """``GET /api/{type}s/{id}/commits/{rev}``: first-parent history, newest first, one page."""
    repo = require_read(hub, request)
    formatted = "formatted" in request.query.get("expand[]", []) + request.query.get("expand", [])
    history = repo.history(unquote_revision(request.params["rev"]))
    return Response.json([commit_document(commit, formatted=formatted) for commit in history])
