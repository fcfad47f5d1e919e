"""Repositories of the test Hub: refs and commits in memory, file contents in a :class:`~.blobs.BlobStore`.

Every commit is a full snapshot (path -> :class:`~.gitobjects.FileEntry`). A commit is
built completely, then published by moving one ref, all under the repository's lock, so
it lands entirely or not at all.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .blobs import BlobStore
from .errors import HubError
from .gitobjects import Commit, FileEntry, make_commit_sha, tree_oids, utc_now
from .metadata import DEFAULT_GITATTRIBUTES

__all__ = [
    "AddFile",
    "AddLfsFile",
    "DeleteFile",
    "DeleteFolder",
    "Operation",
    "Repo",
    "RepoStore",
    "Tag",
]

REPO_TYPES = ("model", "dataset")
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_PR_REF = re.compile(r"^refs/pr/(\d+)$")


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class AddFile:
    """Add or replace a regular file (NDJSON ``file``)."""

    path: str
    content: bytes


@dataclass(frozen=True)
class AddLfsFile:
    """Add or replace a file whose content was uploaded as an LFS object (NDJSON ``lfsFile``)."""

    path: str
    oid: str
    size: int | None


@dataclass(frozen=True)
class DeleteFile:
    """Delete one file (NDJSON ``deletedFile``)."""

    path: str


@dataclass(frozen=True)
class DeleteFolder:
    """Delete every file under a folder (NDJSON ``deletedFolder``)."""

    path: str


Operation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


def check_path(path: str) -> str:
    """Validate a path in a repository and return it without a leading ``/``.

    Raises:
        HubError: 400 for empty paths, ``..`` segments or paths under ``.git/``.
    """
    clean = path.lstrip("/")
    parts = clean.rstrip("/").split("/")
    if not clean or any(part in ("", ".", "..") for part in parts) or parts[0] == ".git":
        raise HubError(400, f"Invalid path in repository: '{path}'")
    return clean


# --------------------------------------------------------------------------- repos


@dataclass
class Tag:
    """A tag: the commit it points to and its optional message."""

    target: str
    message: str = ""


@dataclass
class Repo:
    """One repository: history, refs and the LFS objects linked to it.

    Attributes:
        repo_type: ``"model"`` or ``"dataset"``.
        repo_id: ``namespace/name``.
        private: Whether only the namespace owner may see it.
        created_at: Creation time.
        commits: Every commit, by id.
        branches: Branch name -> commit id.
        tags: Tag name -> :class:`Tag`.
        pull_requests: PR number -> commit id (the ``refs/pr/<n>`` refs).
        lfs_objects: sha256 of the LFS objects uploaded to this repository.
        lock: Serializes every change to refs.
    """

    repo_type: str
    repo_id: str
    private: bool
    created_at: datetime
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    pull_requests: dict[int, str] = field(default_factory=dict)
    lfs_objects: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def namespace(self) -> str:
        """The user (or organization) that owns the repository."""
        return self.repo_id.split("/", 1)[0]

    @property
    def url_prefix(self) -> str:
        """``datasets/`` for datasets, empty for models (as in Hub URLs)."""
        return "datasets/" if self.repo_type == "dataset" else ""

    def resolve(self, revision: str) -> Commit:
        """Return the commit that a branch, tag, ``refs/...`` name or full commit id designates.

        Raises:
            HubError: 404 ``RevisionNotFound``.
        """
        with self.lock:
            sha = self._lookup(revision)
            if sha is None:
                raise HubError.revision_not_found(revision)
            return self.commits[sha]

    def _lookup(self, revision: str) -> str | None:
        if revision.startswith("refs/heads/"):
            return self.branches.get(revision[len("refs/heads/") :])
        if revision.startswith("refs/tags/"):
            tag = self.tags.get(revision[len("refs/tags/") :])
            return tag.target if tag else None
        if match := _PR_REF.match(revision):
            return self.pull_requests.get(int(match.group(1)))
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision].target
        if _COMMIT_SHA.match(revision) and revision in self.commits:
            return revision
        return None

    def history(self, revision: str) -> list[Commit]:
        """Commits reachable from ``revision`` by first parents, newest first."""
        commit: Commit | None = self.resolve(revision)
        chain = []
        while commit is not None:
            chain.append(commit)
            commit = self.commits[commit.parents[0]] if commit.parents else None
        return chain


class RepoStore:
    """All repositories of the server, with their blobs under ``root``.

    Args:
        root: Storage folder (a temporary folder of the test session).
    """

    def __init__(self, root: Path) -> None:
        self.blobs = BlobStore(root / "objects")
        self._repos: dict[tuple[str, str], Repo] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    # ----- repository lifecycle

    def get(self, repo_type: str, repo_id: str) -> Repo | None:
        """Return a repository, or ``None`` if it does not exist."""
        with self._lock:
            return self._repos.get((repo_type, repo_id))

    def all(self, repo_type: str) -> list[Repo]:
        """All repositories of a type, in creation order."""
        with self._lock:
            return [repo for (kind, _), repo in self._repos.items() if kind == repo_type]

    def create(self, repo_type: str, repo_id: str, *, private: bool, author: str) -> Repo:
        """Create a repository whose ``main`` branch holds an initial ``.gitattributes`` commit.

        Raises:
            HubError: 409 when it already exists.
        """
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private, created_at=utc_now())
        files = self._apply(repo, {}, [AddFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode())])
        first = self._new_commit(None, files, "initial commit", "", author)
        repo.commits[first.sha] = first
        repo.branches["main"] = first.sha
        with self._lock:  # published only once complete, so nobody sees a repo without "main"
            if (repo_type, repo_id) in self._repos:
                raise HubError(409, f"You already created this {repo_type} repo")
            self._repos[(repo_type, repo_id)] = repo
        return repo

    def delete(self, repo_type: str, repo_id: str) -> bool:
        """Delete a repository; return whether it existed."""
        with self._lock:
            return self._repos.pop((repo_type, repo_id), None) is not None

    # ----- commits

    def commit(
        self,
        repo: Repo,
        revision: str,
        operations: list[Operation],
        *,
        title: str,
        author: str,
        description: str = "",
        parent_commit: str | None = None,
        create_pr: bool = False,
    ) -> tuple[Commit, int | None]:
        """Apply operations on top of a branch head as one new commit, atomically.

        Args:
            repo: Target repository.
            revision: Branch (or ``refs/pr/<n>``) to commit to; with ``create_pr`` any revision.
            operations: File operations, applied in order.
            title: Commit summary.
            author: User name of the author.
            description: Commit description.
            parent_commit: If given, the commit is refused (412) unless it is the branch head.
            create_pr: Open a new ``refs/pr/<n>`` from ``revision`` and commit there.

        Returns:
            The new commit and, with ``create_pr``, the pull request number.

        Raises:
            HubError: 400/404/412/422 and the refs are left unchanged.
        """
        with repo.lock:
            ref_kind, ref_name, head = self._commit_target(repo, revision, create_pr)
            if parent_commit is not None and parent_commit != head.sha:
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = self._apply(repo, head.files, operations)
            commit = self._new_commit(head, files, title, description, author)
            repo.commits[commit.sha] = commit
            pr_number = self._move_ref(repo, ref_kind, ref_name, commit.sha)
            return commit, pr_number

    def _commit_target(self, repo: Repo, revision: str, create_pr: bool) -> tuple[str, str, Commit]:
        """Which ref a commit moves (``branch``, ``pr`` or ``new_pr``), its name, and its current head."""
        if create_pr:
            return "new_pr", "", repo.resolve(revision)
        name = revision[len("refs/heads/") :] if revision.startswith("refs/heads/") else revision
        if name in repo.branches:
            return "branch", name, repo.commits[repo.branches[name]]
        if _PR_REF.match(revision):
            return "pr", revision, repo.resolve(revision)
        repo.resolve(revision)  # 404 RevisionNotFound when it does not exist at all
        raise HubError(400, f"Invalid rev id: {revision} is not a branch; commits go to branches")

    def _apply(self, repo: Repo, base: dict[str, FileEntry], operations: list[Operation]) -> dict[str, FileEntry]:
        """The snapshot that ``operations`` make of ``base`` (``base`` itself is not modified)."""
        files = dict(base)
        for op in operations:
            if isinstance(op, AddFile):
                files[check_path(op.path)] = self.blobs.put_regular(op.content)
            elif isinstance(op, AddLfsFile):
                files[check_path(op.path)] = self._lfs_entry(repo, op)
            elif isinstance(op, DeleteFile):
                if files.pop(check_path(op.path), None) is None:
                    raise HubError.entry_not_found(f"A file with this name doesn't exist: '{op.path}'")
            else:
                prefix = check_path(op.path).rstrip("/") + "/"
                doomed = [path for path in files if path.startswith(prefix)]
                if not doomed:
                    raise HubError.entry_not_found(f"A folder with this name doesn't exist: '{op.path}'")
                for path in doomed:
                    del files[path]
        _check_file_folder_clash(files)
        return files

    def _lfs_entry(self, repo: Repo, op: AddLfsFile) -> FileEntry:
        """Entry of an ``lfsFile`` operation; 422 unless its object was uploaded to this repo."""
        if op.oid not in repo.lfs_objects or self.blobs.lfs_size(op.oid) is None:
            raise HubError(
                422, f"LFS object {op.oid} for '{op.path}' was never uploaded to {repo.repo_id}; commit refused"
            )
        entry = self.blobs.lfs_entry(op.oid)
        if op.size is not None and op.size != entry.size:
            raise HubError(422, f"LFS object {op.oid} has size {entry.size}, commit says {op.size}")
        return entry

    def _new_commit(
        self, head: Commit | None, files: dict[str, FileEntry], title: str, description: str, author: str
    ) -> Commit:
        """Build the commit of snapshot ``files`` on top of ``head``; changed paths get it as ``last_commit``."""
        base = head.files if head is not None else {}
        oids = tree_oids(files)
        date = utc_now()
        parents = (head.sha,) if head is not None else ()
        message = title + ("\n\n" + description if description else "")
        sha = make_commit_sha(oids[""], parents, author, date, message)
        stamped = {
            path: base[path] if entry.same_content(base.get(path)) else replace(entry, last_commit=sha)
            for path, entry in files.items()
        }
        return Commit(sha, parents, stamped, oids, title, description, author, date, next(self._seq))

    @staticmethod
    def _move_ref(repo: Repo, kind: str, name: str, sha: str) -> int | None:
        """Point the target ref at ``sha``; return the pull request number for PR refs."""
        if kind == "branch":
            repo.branches[name] = sha
            return None
        if kind == "pr":
            number = int(_PR_REF.match(name).group(1))  # type: ignore[union-attr]
        else:
            number = max(repo.pull_requests, default=0) + 1
        repo.pull_requests[number] = sha
        return number

    # ----- refs

    def create_branch(self, repo: Repo, name: str, starting_point: str | None) -> None:
        """Create a branch at ``starting_point`` (default: head of ``main``).

        Raises:
            HubError: 400 invalid name, 404 unknown starting point, 409 existing branch.
        """
        _check_ref_name(name)
        with repo.lock:
            if name in repo.branches:
                raise HubError(409, f"Branch {name} already exists")
            repo.branches[name] = repo.resolve(starting_point or "main").sha

    def delete_branch(self, repo: Repo, name: str) -> None:
        """Delete a branch; ``main`` cannot be deleted (403), unknown branches are 404."""
        with repo.lock:
            if name == "main":
                raise HubError(403, "Cannot delete the default branch")
            if repo.branches.pop(name, None) is None:
                raise HubError.revision_not_found(name)

    def create_tag(self, repo: Repo, name: str, revision: str, message: str = "") -> None:
        """Tag the commit designated by ``revision`` (409 when the tag exists)."""
        _check_ref_name(name)
        with repo.lock:
            if name in repo.tags:
                raise HubError(409, f"Tag {name} already exists")
            repo.tags[name] = Tag(repo.resolve(revision).sha, message)

    def delete_tag(self, repo: Repo, name: str) -> None:
        """Delete a tag (404 ``RevisionNotFound`` when unknown)."""
        with repo.lock:
            if repo.tags.pop(name, None) is None:
                raise HubError.revision_not_found(name)


def _check_ref_name(name: str) -> None:
    if not name or name.startswith(("refs/", "/")) or ".." in name or _COMMIT_SHA.match(name) or " " in name:
        raise HubError(400, f"Invalid reference name: '{name}'")


def _check_file_folder_clash(files: dict[str, FileEntry]) -> None:
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise HubError(400, f"'{parent}' is a file and cannot also be a folder (for '{path}')")
