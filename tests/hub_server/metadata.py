"""Repository metadata the Hub derives from files: card data, tags, LFS and ignore rules.

YAML is parsed with PyYAML, which ``huggingface_hub`` itself depends on; without it the
server still works but reports no ``cardData``.
"""

from __future__ import annotations

import fnmatch
import logging
from typing import Any

try:  # huggingface_hub requires PyYAML, so it is present wherever the client is
    import yaml
except ImportError:  # pragma: no cover - degraded mode
    yaml = None

__all__ = [
    "DEFAULT_GITATTRIBUTES",
    "LFS_SIZE_THRESHOLD",
    "card_data",
    "is_ignored",
    "lfs_patterns",
    "needs_lfs",
    "repo_tags",
    "validate_card",
]

logger = logging.getLogger(__name__)

LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
"""Files larger than this go through LFS whatever their name (the Hub's rule)."""

_LFS_EXTENSIONS = (
    "7z arrow bin bz2 ckpt ftz gz h5 joblib mlmodel model msgpack npy npz onnx ot parquet pb pickle pkl "
    "pt pth rar safetensors tar tflite tgz wasm xz zip zst "
    "png jpg jpeg webp gif bmp tif tiff mp3 mp4 wav flac ogg avi mov"
).split()
_LFS_OTHER_PATTERNS = ("*.tar.*", "*tfevents*", "saved_model/**/*", "*.lfs.*")

DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (*(f"*.{ext}" for ext in _LFS_EXTENSIONS), *_LFS_OTHER_PATTERNS)
)
"""Content of the ``.gitattributes`` file of every new repository's initial commit."""


def _match(pattern: str, path: str) -> bool:
    """Match a git-style pattern: without ``/`` it matches the file name, with ``/`` the full path."""
    pattern = pattern.strip()
    if pattern.startswith("/"):
        pattern = pattern[1:]
    if "/" not in pattern.rstrip("/"):
        name = pattern.rstrip("/")
        if pattern.endswith("/"):  # a folder pattern matches any path under such a folder
            return any(fnmatch.fnmatchcase(part, name) for part in path.split("/")[:-1])
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], name)
    if pattern.endswith("/"):
        return path.startswith(pattern) or fnmatch.fnmatchcase(path, pattern + "*")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


def lfs_patterns(gitattributes: str) -> list[str]:
    """Return the patterns that a ``.gitattributes`` file routes through LFS (``filter=lfs``)."""
    patterns = []
    for line in gitattributes.splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and "filter=lfs" in fields[1:]:
            patterns.append(fields[0])
    return patterns


def needs_lfs(path: str, size: int, sample: bytes, patterns: list[str]) -> bool:
    """Decide the upload mode of a file the way the Hub's preupload endpoint does.

    Args:
        path: Path of the file in the repository.
        size: File size in bytes.
        sample: First bytes of the file (up to 512).
        patterns: LFS patterns of the revision's ``.gitattributes``.

    Returns:
        ``True`` for ``lfs`` (large, binary, or matching an LFS pattern), ``False`` for ``regular``.
    """
    if size > LFS_SIZE_THRESHOLD or b"\x00" in sample:
        return True
    return any(_match(pattern, path) for pattern in patterns)


def is_ignored(path: str, gitignore: str | None) -> bool:
    """Whether a ``.gitignore`` content ignores ``path`` (last matching rule wins, ``!`` negates)."""
    ignored = False
    for line in (gitignore or "").splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        if _match(rule[1:] if negate else rule, path):
            ignored = not negate
    return ignored


def _front_matter(readme: str) -> str | None:
    """Return the YAML block between the leading ``---`` lines of a README, if any."""
    lines = readme.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:index])
    return None


def validate_card(readme: str) -> list[str]:
    """Validate a README's metadata block like ``POST /api/validate-yaml``.

    Returns:
        Error messages; empty when the metadata is valid or absent.
    """
    block = _front_matter(readme)
    if block is None or yaml is None:
        return []
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as err:
        return [f"Invalid YAML in README.md metadata: {err}"]
    if data is not None and not isinstance(data, dict):
        return ["README.md metadata must be a YAML mapping"]
    return []


def card_data(readme: bytes | None) -> dict[str, Any] | None:
    """Parse the metadata block of a README into a dict (``cardData``), or ``None``."""
    if readme is None or yaml is None:
        return None
    block = _front_matter(readme.decode("utf-8", errors="replace"))
    if block is None:
        return None
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        logger.debug("README metadata is not valid YAML; no cardData")
        return None
    return data if isinstance(data, dict) else None


def _as_list(value: Any) -> list[str]:
    """A card field that may be a string or a list, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def repo_tags(data: dict[str, Any] | None) -> list[str]:
    """Compute a repo's ``tags`` from its card data, as the Hub does for the simple fields.

    Card ``tags`` come first, then ``library_name``, ``pipeline_tag``, ``dataset:<id>``,
    ``base_model:<id>`` and ``license:<id>``; duplicates are dropped.
    """
    if not data:
        return []
    tags = _as_list(data.get("tags"))
    tags += _as_list(data.get("library_name")) + _as_list(data.get("pipeline_tag"))
    tags += [f"dataset:{d}" for d in _as_list(data.get("datasets"))]
    tags += [f"base_model:{m}" for m in _as_list(data.get("base_model"))]
    tags += [f"license:{lic}" for lic in _as_list(data.get("license"))]
    return list(dict.fromkeys(tags))
