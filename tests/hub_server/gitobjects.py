"""Git object model of the test Hub: blob/tree/commit hashing and immutable snapshots.

Object ids are computed the way git computes them, so they look and behave like the
Hub's: a regular file's id is the git blob sha1 of its content, an LFS file's id is the
git blob sha1 of its pointer file, folders get git tree ids, commits get git commit ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = [
    "Commit",
    "FileEntry",
    "format_date",
    "git_blob_sha1",
    "lfs_pointer",
    "make_commit_sha",
    "tree_oids",
    "utc_now",
]

_FILE_MODE = b"100644"
_TREE_MODE = b"40000"


def git_blob_sha1(data: bytes) -> str:
    """Return the git blob id (sha1 of ``blob <len>\\0<data>``) of ``data``.

    Args:
        data: Raw file content.

    Returns:
        40 hex characters, exactly what ``git hash-object`` prints.
    """
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()  # noqa: S324 (git object id, not security)


def lfs_pointer(oid: str, size: int) -> bytes:
    """Return the git-lfs pointer file that stands in the git tree for an LFS object.

    Args:
        oid: sha256 of the object, 64 hex characters.
        size: Size of the object in bytes.
    """
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def utc_now() -> datetime:
    """Current time in UTC, truncated to milliseconds like the Hub's timestamps."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_date(value: datetime) -> str:
    """Format a datetime the way the Hub does: ``2024-05-01T12:00:00.123Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit snapshot.

    Attributes:
        size: Size of the file content in bytes (for LFS files, the object size).
        blob_id: Git blob id of what git stores (the content, or the LFS pointer).
        lfs_oid: sha256 of the content for LFS files, ``None`` for regular files.
        pointer_size: Size of the LFS pointer file, ``None`` for regular files.
        last_commit: Id of the commit that last changed this path.
    """

    size: int
    blob_id: str
    lfs_oid: str | None = None
    pointer_size: int | None = None
    last_commit: str = ""

    @property
    def is_lfs(self) -> bool:
        """Whether the file is stored as an LFS object."""
        return self.lfs_oid is not None

    @property
    def etag(self) -> str:
        """What the Hub sends as ``ETag``: sha256 for LFS files, git blob id otherwise."""
        return self.lfs_oid if self.lfs_oid is not None else self.blob_id

    def same_content(self, other: FileEntry | None) -> bool:
        """Whether ``other`` stores the same bytes the same way (ignoring history)."""
        return other is not None and (self.blob_id, self.lfs_oid) == (other.blob_id, other.lfs_oid)


@dataclass(frozen=True)
class Commit:
    """An immutable commit: a full snapshot of the repository plus history metadata.

    Attributes:
        sha: Git commit id.
        parents: Parent commit ids (empty for the initial commit).
        files: Snapshot, repository path -> :class:`FileEntry`.
        dir_oids: Git tree id of every folder of the snapshot; ``""`` is the root.
        title: First line of the commit message.
        message: Description (rest of the message), may be empty.
        author: User name of the author.
        date: Commit time (UTC).
        seq: Server-wide creation order, used to find the latest commit under a folder.
    """

    sha: str
    parents: tuple[str, ...]
    files: dict[str, FileEntry] = field(hash=False, compare=False)
    dir_oids: dict[str, str] = field(hash=False, compare=False)
    title: str
    message: str
    author: str
    date: datetime
    seq: int

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a folder of this snapshot (the root ``""`` always is)."""
        return path in self.dir_oids


def _tree_sort_key(item: tuple[str, bool, str]) -> bytes:
    """Git's tree order: names compared as bytes, folders as if they ended with ``/``."""
    name, is_dir, _ = item
    return (name + "/" if is_dir else name).encode()


def _hash_tree(entries: list[tuple[str, bool, str]]) -> str:
    """Git tree id of ``(name, is_folder, oid)`` entries."""
    body = b"".join(
        (_TREE_MODE if is_dir else _FILE_MODE) + b" " + name.encode() + b"\x00" + bytes.fromhex(oid)
        for name, is_dir, oid in sorted(entries, key=_tree_sort_key)
    )
    return hashlib.sha1(b"tree %d\x00" % len(body) + body).hexdigest()  # noqa: S324


def tree_oids(files: dict[str, FileEntry]) -> dict[str, str]:
    """Compute the git tree id of every folder of a snapshot.

    Args:
        files: Snapshot, path -> entry.

    Returns:
        Folder path -> tree id, including the root folder under the key ``""``.
    """
    children: dict[str, list[tuple[str, bool, str]]] = {"": []}
    folders: set[str] = {""}
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folders.add("/".join(parts[:depth]))
    for folder in folders:
        children.setdefault(folder, [])
    for path, entry in files.items():
        parent, _, name = path.rpartition("/")
        children[parent].append((name, False, entry.blob_id))
    oids: dict[str, str] = {}
    for folder in sorted(folders, key=lambda f: f.count("/") + (1 if f else 0), reverse=True):
        oids[folder] = _hash_tree(children[folder])
        if folder:
            parent, _, name = folder.rpartition("/")
            children[parent].append((name, True, oids[folder]))
    return oids


def make_commit_sha(tree: str, parents: tuple[str, ...], author: str, date: datetime, message: str) -> str:
    """Compute a git commit id.

    Args:
        tree: Root tree id.
        parents: Parent commit ids.
        author: User name, used for both author and committer.
        date: Commit time.
        message: Full commit message (title, blank line, description).
    """
    stamp = f"{author} <{author}@users.noreply.hub.local> {int(date.timestamp())} +0000"
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents), f"author {stamp}", f"committer {stamp}", ""]
    body = ("\n".join(lines) + "\n" + message.rstrip("\n") + "\n").encode()
    return hashlib.sha1(b"commit %d\x00" % len(body) + body).hexdigest()  # noqa: S324
