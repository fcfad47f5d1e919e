"""Content-addressed storage of file contents: git blobs and LFS objects, on disk."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import HubError
from .gitobjects import FileEntry, git_blob_sha1, lfs_pointer

__all__ = ["BlobStore"]

_OID = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Content-addressed file storage: ``git/<sha1>`` for regular files, ``lfs/<sha256>`` for LFS objects.

    Args:
        root: Folder that holds the objects (a temporary folder of the test session).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "git").mkdir(parents=True, exist_ok=True)
        (root / "lfs").mkdir(parents=True, exist_ok=True)

    def _write_atomic(self, target: Path, chunks: Iterable[bytes]) -> None:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_regular(self, data: bytes) -> FileEntry:
        """Store the content of a regular (non-LFS) file and return its entry (without history)."""
        blob_id = git_blob_sha1(data)
        target = self.root / "git" / blob_id
        if not target.exists():
            self._write_atomic(target, [data])
        return FileEntry(size=len(data), blob_id=blob_id)

    def lfs_entry(self, oid: str) -> FileEntry:
        """Return the entry of a stored LFS object (its pointer is what git tracks)."""
        size = self.lfs_size(oid)
        if size is None:
            raise KeyError(oid)
        pointer = lfs_pointer(oid, size)
        return FileEntry(size=size, blob_id=git_blob_sha1(pointer), lfs_oid=oid, pointer_size=len(pointer))

    def lfs_size(self, oid: str) -> int | None:
        """Size of a stored LFS object, or ``None`` if it was never uploaded."""
        path = self.root / "lfs" / oid
        return path.stat().st_size if _OID.match(oid) and path.exists() else None

    def receive_lfs(self, oid: str, size: int, chunks: Iterable[bytes]) -> None:
        """Store an uploaded LFS object after checking its sha256 and size.

        Raises:
            HubError: 400 when the received bytes do not hash to ``oid`` or have another size.
        """
        digest = hashlib.sha256()
        received = 0

        def _hashing() -> Iterable[bytes]:
            nonlocal received
            for chunk in chunks:
                digest.update(chunk)
                received += len(chunk)
                yield chunk

        fd, tmp = tempfile.mkstemp(dir=self.root / "lfs", prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _hashing():
                    out.write(chunk)
            if digest.hexdigest() != oid or received != size:
                raise HubError(400, f"Uploaded content does not match oid {oid} and size {size}")
            os.replace(tmp, self.root / "lfs" / oid)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def path_of(self, entry: FileEntry) -> Path:
        """Path on disk of a file entry's content."""
        if entry.lfs_oid is not None:
            return self.root / "lfs" / entry.lfs_oid
        return self.root / "git" / entry.blob_id

    def read(self, entry: FileEntry) -> bytes:
        """Whole content of a file entry."""
        return self.path_of(entry).read_bytes()
