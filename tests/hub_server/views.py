"""JSON documents of the Hub API: repo info, tree entries, refs and commits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .gitobjects import Commit, FileEntry, format_date
from .metadata import card_data, repo_tags
from .storage import Repo

if TYPE_CHECKING:
    from .server import HubServer

__all__ = ["commit_document", "list_tree", "refs_document", "repo_document", "repo_url", "tree_entry"]


def repo_url(endpoint: str, repo: Repo) -> str:
    """Web URL of a repository (``{endpoint}/datasets/ns/name`` for datasets)."""
    return f"{endpoint}/{repo.url_prefix}{repo.repo_id}"


def _lfs_document(entry: FileEntry, oid_key: str) -> dict[str, Any]:
    return {oid_key: entry.lfs_oid, "size": entry.size, "pointerSize": entry.pointer_size}


def _sibling(path: str, entry: FileEntry) -> dict[str, Any]:
    sibling: dict[str, Any] = {"rfilename": path, "size": entry.size, "blobId": entry.blob_id}
    if entry.is_lfs:
        sibling["lfs"] = _lfs_document(entry, "sha256")
    return sibling


def repo_document(hub: HubServer, repo: Repo, commit: Commit, *, full: bool = True) -> dict[str, Any]:
    """The ``/api/models/{id}`` (or datasets) document of a repository at a commit.

    Args:
        hub: The server (for blob access).
        repo: The repository.
        commit: The commit the revision resolved to.
        full: Include ``siblings`` and ``cardData`` (listing endpoints omit them by default).
    """
    readme = commit.files.get("README.md")
    card = card_data(hub.store.blobs.read(readme)) if readme is not None else None
    doc: dict[str, Any] = {
        "_id": commit.sha[:24],
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": commit.sha,
        "lastModified": format_date(commit.date),
        "createdAt": format_date(repo.created_at),
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": repo_tags(card),
        "usedStorage": sum(entry.size for entry in commit.files.values()),
    }
    if repo.repo_type == "model":
        doc["modelId"] = repo.repo_id
        for key in ("library_name", "pipeline_tag"):
            if card and isinstance(card.get(key), str):
                doc[key] = card[key]
    if full:
        doc["siblings"] = [_sibling(path, commit.files[path]) for path in sorted(commit.files)]
        if card is not None:
            doc["cardData"] = card
    return doc


def _last_commit(commit: Commit | None) -> dict[str, str] | None:
    if commit is None:
        return None
    return {"id": commit.sha, "title": commit.title, "date": format_date(commit.date)}


def tree_entry(repo: Repo, commit: Commit, path: str, *, expand: bool) -> dict[str, Any]:
    """One entry of ``/tree`` and ``/paths-info``: a file or a folder of ``commit``.

    With ``expand``, entries carry ``lastCommit`` (and files a ``securityFileStatus``).
    """
    entry = commit.files.get(path)
    if entry is None:
        doc: dict[str, Any] = {"type": "directory", "oid": commit.dir_oids[path], "size": 0, "path": path}
        if expand:
            doc["lastCommit"] = _last_commit(_latest_under(repo, commit, path))
        return doc
    doc = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": path}
    if entry.is_lfs:
        doc["lfs"] = _lfs_document(entry, "oid")
    if expand:
        doc["lastCommit"] = _last_commit(repo.commits.get(entry.last_commit))
        doc["securityFileStatus"] = {"status": "safe", "avScan": None, "pickleImportScan": None}
    return doc


def _latest_under(repo: Repo, commit: Commit, folder: str) -> Commit | None:
    prefix = folder + "/"
    shas = {entry.last_commit for path, entry in commit.files.items() if path.startswith(prefix)}
    commits = [repo.commits[sha] for sha in shas if sha in repo.commits]
    return max(commits, key=lambda c: c.seq, default=None)


def list_tree(commit: Commit, folder: str, *, recursive: bool) -> list[str]:
    """Paths listed by ``/tree/{rev}/{folder}``: folders first, then files, each sorted.

    Recursive listings include every nested folder and file.
    """
    prefix = folder + "/" if folder else ""
    folders: set[str] = set()
    files: list[str] = []
    for path in commit.files:
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        if len(parts) == 1 or recursive:
            files.append(path)
        depth = len(parts) - 1 if recursive else min(1, len(parts) - 1)
        for level in range(1, depth + 1):
            folders.add(prefix + "/".join(parts[:level]))
    return sorted(folders) + sorted(files)


def refs_document(repo: Repo) -> dict[str, list[dict[str, str]]]:
    """The ``/refs`` document: branches, tags, converts (none) and pull requests."""
    with repo.lock:
        return {
            "branches": [
                {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha} for name, sha in repo.branches.items()
            ],
            "converts": [],
            "tags": [
                {"name": name, "ref": f"refs/tags/{name}", "targetCommit": tag.target}
                for name, tag in repo.tags.items()
            ],
            "pullRequests": [
                {"name": f"refs/pr/{num}", "ref": f"refs/pr/{num}", "targetCommit": sha}
                for num, sha in repo.pull_requests.items()
            ],
        }


def commit_document(commit: Commit, *, formatted: bool = False) -> dict[str, Any]:
    """One entry of ``/commits/{rev}``."""
    doc: dict[str, Any] = {
        "id": commit.sha,
        "title": commit.title,
        "message": commit.message,
        "date": format_date(commit.date),
        "authors": [{"user": commit.author, "avatar": ""}],
        "parents": list(commit.parents),
    }
    if formatted:
        doc["formatted"] = {"title": commit.title, "message": commit.message}
    return doc
