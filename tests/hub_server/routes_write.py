"""Write endpoints: repo create/delete/settings, preupload, LFS batch/upload/verify, commit, branches, tags."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .access import repo_type_of, require_write, unquote_revision
from .errors import HubError
from .metadata import is_ignored, lfs_patterns, needs_lfs
from .protocol import Request, Response
from .storage import AddFile, AddLfsFile, DeleteFile, DeleteFolder, Operation, Repo, check_path
from .views import repo_url

if TYPE_CHECKING:
    from .server import HubServer

__all__ = [
    "commit",
    "create_branch",
    "create_repo",
    "create_tag",
    "delete_branch",
    "delete_repo",
    "delete_tag",
    "lfs_batch",
    "lfs_upload",
    "lfs_verify",
    "preupload",
    "update_settings",
    "xet_unsupported",
]

_REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_OID = re.compile(r"^[0-9a-f]{64}$")
_LFS_CONTENT_TYPE = {"Content-Type": "application/vnd.git-lfs+json"}
_UPLOAD_TTL_S = 3600


# --------------------------------------------------------------------------- repositories


def _target_namespace(hub: HubServer, request: Request, body: dict[str, Any]) -> tuple[str, str, str]:
    """Repo type, namespace and name of a create/delete request body."""
    repo_type = repo_type_of(body.get("type") or "model")
    name = str(body.get("name") or "")
    who = request.identity
    if who is None:
        raise HubError(401, "Authentication required to manage repositories")
    namespace = body.get("organization") or who.user
    if not _REPO_NAME.match(name) or "--" in name or ".." in name:
        raise HubError(400, f"Invalid repository name: '{name}'")
    return repo_type, namespace, name


def create_repo(hub: HubServer, request: Request) -> Response:
    """``POST /api/repos/create`` (``name``, ``organization``, ``type``, ``private``/``visibility``).

    409 with ``url`` in the body when the repo exists (``create_repo(exist_ok=True)`` reads it).
    """
    body = request.json()
    repo_type, namespace, name = _target_namespace(hub, request, body)
    if not hub.auth.may_write(request.identity, namespace, None):
        raise HubError(403, f"You don't have the rights to create a repo under the namespace '{namespace}'")
    private = body.get("visibility") == "private" or body.get("private") is True
    repo_id = f"{namespace}/{name}"
    author = request.identity.user  # type: ignore[union-attr]
    try:
        repo = hub.store.create(repo_type, repo_id, private=private, author=author)
    except HubError as err:
        if err.status == 409:
            prefix = "datasets/" if repo_type == "dataset" else ""
            err.body["url"] = f"{hub.endpoint}/{prefix}{repo_id}"
        raise
    return Response.json({"url": repo_url(hub.endpoint, repo), "name": repo_id, "id": repo.branches["main"][:24]})


def delete_repo(hub: HubServer, request: Request) -> Response:
    """``DELETE /api/repos/delete`` (``name``, ``organization``, ``type``)."""
    body = request.json()
    repo_type, namespace, name = _target_namespace(hub, request, body)
    request.params.update({"kind": repo_type, "ns": quote(namespace), "name": quote(name)})
    repo = require_write(hub, request)
    hub.store.delete(repo.repo_type, repo.repo_id)
    return Response.json({})


def update_settings(hub: HubServer, request: Request) -> Response:
    """``PUT /api/{type}s/{id}/settings``: ``private`` or ``visibility`` (other keys are accepted and ignored)."""
    repo = require_write(hub, request)
    body = request.json()
    if "visibility" in body:
        repo.private = body["visibility"] == "private"
    elif "private" in body:
        repo.private = bool(body["private"])
    return Response.json({})


# --------------------------------------------------------------------------- preupload


def preupload(hub: HubServer, request: Request) -> Response:
    """``POST /api/{type}s/{id}/preupload/{rev}``: upload mode, ``shouldIgnore`` and remote ``oid`` per file.

    ``lfs`` for files over 10 MB, binary samples, or paths matching the revision's
    ``.gitattributes`` LFS patterns. ``oid`` (sha256 for LFS files, git blob id for
    regular ones) is given for paths that already exist, so unchanged files are skipped.
    """
    repo = require_write(hub, request, pull_request=request.flag("create_pr"))
    commit = repo.resolve(unquote_revision(request.params["rev"]))
    body = request.json()
    attributes = commit.files.get(".gitattributes")
    patterns = lfs_patterns(hub.store.blobs.read(attributes).decode()) if attributes else []
    gitignore = body.get("gitIgnore")
    if gitignore is None and ".gitignore" in commit.files:
        gitignore = hub.store.blobs.read(commit.files[".gitignore"]).decode(errors="replace")
    answers = []
    for item in body.get("files", []):
        path = check_path(str(item.get("path", "")))
        sample = base64.b64decode(item.get("sample") or "")
        lfs = needs_lfs(path, int(item.get("size") or 0), sample, patterns)
        answer: dict[str, Any] = {
            "path": item["path"],
            "uploadMode": "lfs" if lfs else "regular",
            "shouldIgnore": is_ignored(path, gitignore),
        }
        if path in commit.files:
            answer["oid"] = commit.files[path].etag
        answers.append(answer)
    return Response.json({"files": answers, "commitOid": commit.sha})


# --------------------------------------------------------------------------- LFS


def _signature(hub: HubServer, repo: Repo, oid: str, size: int, expires: int) -> str:
    message = f"{repo.repo_type}:{repo.repo_id}:{oid}:{size}:{expires}".encode()
    return hmac.new(hub.lfs_secret, message, hashlib.sha256).hexdigest()


def _upload_href(hub: HubServer, repo: Repo, oid: str, size: int) -> str:
    expires = int(time.time()) + _UPLOAD_TTL_S
    signature = _signature(hub, repo, oid, size, expires)
    return (
        f"{hub.endpoint}/__lfs__/upload/{repo.repo_type}/{repo.repo_id}/{oid}"
        f"?size={size}&expires={expires}&signature={signature}"
    )


def _batch_object(hub: HubServer, repo: Repo, item: dict[str, Any]) -> dict[str, Any]:
    oid, size = item.get("oid"), item.get("size")
    if not isinstance(oid, str) or not _OID.match(oid) or not isinstance(size, int) or size < 0:
        return {"oid": str(oid), "size": size if isinstance(size, int) else 0,
                "error": {"code": 422, "message": "Invalid oid or size"}}  # fmt: skip
    with repo.lock:
        present = oid in repo.lfs_objects and hub.store.blobs.lfs_size(oid) == size
    if present:
        return {"oid": oid, "size": size}
    verify = f"{hub.endpoint}/{repo.url_prefix}{repo.repo_id}.git/info/lfs/objects/verify"
    return {
        "oid": oid,
        "size": size,
        "authenticated": True,
        "actions": {
            "upload": {"href": _upload_href(hub, repo, oid, size), "expires_in": _UPLOAD_TTL_S},
            "verify": {"href": verify},
        },
    }


def lfs_batch(hub: HubServer, request: Request) -> Response:
    """``POST {prefix}{id}.git/info/lfs/objects/batch`` (upload only, ``basic`` transfer).

    Objects already in the repo come back without ``actions``; others get an ``upload``
    href (a signed URL on this server, called without ``Authorization``) and a ``verify``
    href. Without a ``ref`` (pull requests) an authenticated reader may upload.
    """
    body = request.json()
    repo = require_write(hub, request, pull_request="ref" not in body)
    if body.get("operation") != "upload":
        raise HubError(400, "The local test Hub only implements the LFS 'upload' operation")
    objects = [_batch_object(hub, repo, item) for item in body.get("objects", [])]
    return Response(200, json.dumps({"transfer": "basic", "objects": objects}).encode(), dict(_LFS_CONTENT_TYPE))


def lfs_upload(hub: HubServer, request: Request) -> Response:
    """``PUT /__lfs__/upload/{type}/{ns}/{name}/{oid}?size=&expires=&signature=``: the pre-signed upload target.

    Authorization is the URL signature, as with S3; the body must hash to ``oid``.
    """
    repo_type = repo_type_of(request.params["kind"])
    repo = hub.store.get(repo_type, f"{unquote(request.params['ns'])}/{unquote(request.params['name'])}")
    oid = request.params["oid"]
    try:
        size, expires = int(request.arg("size") or -1), int(request.arg("expires") or 0)
    except ValueError as err:
        raise HubError(403, "Malformed upload URL") from err
    signature = request.arg("signature") or ""
    if repo is None or expires < time.time() or not hmac.compare_digest(
        signature, _signature(hub, repo, oid, size, expires)
    ):
        raise HubError(403, "SignatureDoesNotMatch: upload URL is invalid or expired")
    hub.store.blobs.receive_lfs(oid, size, request.iter_body())
    with repo.lock:
        repo.lfs_objects.add(oid)
    return Response(200, headers={"ETag": f'"{oid}"'})


def lfs_verify(hub: HubServer, request: Request) -> Response:
    """``POST {prefix}{id}.git/info/lfs/objects/verify`` (``oid``, ``size``): 404 unless the object is there."""
    repo = require_write(hub, request, pull_request=True)
    body = request.json()
    oid, size = body.get("oid"), body.get("size")
    with repo.lock:
        present = oid in repo.lfs_objects
    if not present or hub.store.blobs.lfs_size(str(oid)) != size:
        raise HubError(404, f"LFS object {oid} of size {size} not found in {repo.repo_id}")
    return Response(200, json.dumps({"success": True}).encode(), dict(_LFS_CONTENT_TYPE))


def xet_unsupported(hub: HubServer, request: Request) -> Response:
    """Xet token endpoints: refused, the tests use the classic LFS protocol."""
    raise HubError(
        501, "Xet is not supported by the local test Hub: set HF_HUB_DISABLE_XET=1 before importing huggingface_hub"
    )


# --------------------------------------------------------------------------- commits


def _operation(key: str, value: dict[str, Any]) -> Operation:
    path = str(value.get("path", ""))
    if key == "file":
        if value.get("encoding", "base64") != "base64":
            raise HubError(400, f"Unsupported encoding for '{path}'")
        try:
            return AddFile(path, base64.b64decode(value.get("content", ""), validate=True))
        except (binascii.Error, ValueError) as err:
            raise HubError(400, f"Invalid base64 content for '{path}'") from err
    if key == "lfsFile":
        size = value.get("size")
        return AddLfsFile(path, str(value.get("oid", "")), int(size) if size is not None else None)
    if key == "deletedFile":
        return DeleteFile(path)
    if key == "deletedFolder":
        return DeleteFolder(path)
    raise HubError(400, f"Unknown commit operation '{key}'")


def _parse_commit(raw: bytes) -> tuple[dict[str, Any], list[Operation]]:
    """Parse an NDJSON commit payload into its header and operations."""
    try:
        items = [json.loads(line) for line in raw.splitlines() if line.strip()]
    except ValueError as err:
        raise HubError(400, f"Commit payload is not valid NDJSON: {err}") from err
    if not items or items[0].get("key") != "header":
        raise HubError(400, "Commit payload must start with a 'header' line")
    header = items[0].get("value") or {}
    if not str(header.get("summary") or "").strip():
        raise HubError(400, "Commit summary is required")
    return header, [_operation(str(item.get("key")), item.get("value") or {}) for item in items[1:]]


def commit(hub: HubServer, request: Request) -> Response:
    """``POST /api/{type}s/{id}/commit/{rev}`` (NDJSON; ``?create_pr=1`` opens a ``refs/pr/<n>``).

    Applied all-or-nothing; 412 when ``parentCommit`` is not the branch head, 422 when an
    ``lfsFile`` was never uploaded, 404 ``EntryNotFound`` for deletions of missing paths.
    """
    create_pr = request.flag("create_pr")
    repo = require_write(hub, request, pull_request=create_pr)
    header, operations = _parse_commit(request.body())
    new, pr_number = hub.store.commit(
        repo,
        unquote_revision(request.params["rev"]),
        operations,
        title=str(header["summary"]).strip(),
        description=str(header.get("description") or ""),
        author=request.identity.user,  # type: ignore[union-attr]
        parent_commit=header.get("parentCommit"),
        create_pr=create_pr,
    )
    base = repo_url(hub.endpoint, repo)
    return Response.json(
        {
            "success": True,
            "commitOid": new.sha,
            "commitUrl": f"{base}/commit/{new.sha}",
            "commitMessage": new.title,
            "hookOutput": "",
            "pullRequestUrl": f"{base}/discussions/{pr_number}" if pr_number is not None else None,
        }
    )


# --------------------------------------------------------------------------- branches and tags


def create_branch(hub: HubServer, request: Request) -> Response:
    """``POST /api/{type}s/{id}/branch/{name}`` (optional ``startingPoint``; 409 if it exists)."""
    repo = require_write(hub, request)
    body = request.json()
    hub.store.create_branch(repo, unquote(request.params["branch"]), body.get("startingPoint"))
    return Response.json({})


def delete_branch(hub: HubServer, request: Request) -> Response:
    """``DELETE /api/{type}s/{id}/branch/{name}``."""
    repo = require_write(hub, request)
    hub.store.delete_branch(repo, unquote(request.params["branch"]))
    return Response.json({})


def create_tag(hub: HubServer, request: Request) -> Response:
    """``POST /api/{type}s/{id}/tag/{rev}`` (``tag``, optional ``message``; 409 if it exists)."""
    repo = require_write(hub, request)
    body = request.json()
    if not body.get("tag"):
        raise HubError(400, "Missing 'tag' in request body")
    revision = unquote_revision(request.params["rev"])
    hub.store.create_tag(repo, str(body["tag"]), revision, str(body.get("message") or ""))
    return Response.json({})


def delete_tag(hub: HubServer, request: Request) -> Response:
    """``DELETE /api/{type}s/{id}/tag/{name}``."""
    repo = require_write(hub, request)
    hub.store.delete_tag(repo, unquote(request.params["rev"]))
    return Response.json({})

