"""Run chunk jobs into a fingerprinted cache folder, in one process or several.

A conversion's shards live in ``<cache_dir>/<fingerprint>/`` with a ``manifest.json`` (shard files, row
counts, the conversion report). The folder is built under a temporary name and renamed into place only
when every chunk succeeded, so a crash never leaves a half-written cache entry, and two processes doing
the same conversion at once both end up with a complete one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import datasets
from huggingface_hub.utils import tqdm

from .report import ConversionReport
from .shards import ChunkJob, ChunkResult, write_chunk

__all__ = ["CACHE_VERSION", "default_cache_dir", "fingerprint", "parallel_map", "run_cached"]

logger = logging.getLogger(__name__)

#: Bump when the shard content for the same input changes.
CACHE_VERSION = "1"


def default_cache_dir() -> Path:
    """``<HF_DATASETS_CACHE>/yolo_transformers``."""
    return Path(datasets.config.HF_DATASETS_CACHE) / "yolo_transformers"


def fingerprint(options: Any, files: Iterable[tuple[str, str]], extra: Iterable[Any] = ()) -> str:
    """Hash of the options and of each file's identity.

    Args:
        options: JSON-serializable options the output depends on.
        files: ``(path, stored name)`` pairs; each path's size and mtime are hashed too.
        extra: More JSON-serializable values (label-file stats, class ids, ...).

    Returns:
        32 hex digits.
    """
    h = hashlib.sha256(json.dumps([CACHE_VERSION, datasets.__version__, options]).encode())
    for path, name in files:
        st = os.stat(path)
        h.update(f"{path}\0{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for value in extra:
        h.update(json.dumps(value).encode())
    return h.hexdigest()[:32]


def run_cached(
    jobs: dict[str, list[ChunkJob]], folder: Path, num_proc: int | None, report: ConversionReport
) -> dict[str, list[ChunkResult]]:
    """Run every chunk job into ``folder``, or reuse it when a finished conversion is already there.

    Args:
        jobs: Split name → its chunk jobs, in order (``out_path`` is set here).
        folder: The fingerprinted cache folder.
        num_proc: Processes to use.
        report: Receives the chunks' reports (or, on a cache hit, the stored report).

    Returns:
        Split name → chunk results in order.
    """
    manifest = folder / "manifest.json"
    if manifest.is_file():
        logger.info("reusing cached conversion %s", folder)
        return _load_manifest(manifest, report)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.incomplete"
    tmp.mkdir(parents=True)
    try:
        flat = []
        for split, split_jobs in jobs.items():
            for k, job in enumerate(split_jobs):
                job.out_path = str(tmp / f"{split}-{k:05d}.arrow")
                flat.append(job)
        entries = []
        progress = tqdm(total=sum(len(job.images) for job in flat), unit="img", desc="Converting to Arrow")
        for job, result in zip(flat, parallel_map(write_chunk, flat, num_proc)):
            progress.update(len(job.images))
            report.merge(result.report)
            entries.append({"split": job.split, "file": Path(result.out_path).name, "rows": result.num_rows})
        progress.close()
        content = {"shards": entries, "report": report.to_dict()}
        (tmp / "manifest.json").write_text(json.dumps(content, indent=1), encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:  # another process finished the same conversion first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _load_manifest(manifest, None)


def _load_manifest(manifest: Path, report: ConversionReport | None) -> dict[str, list[ChunkResult]]:
    """Shard results listed in a finished conversion's manifest (and its stored report, when asked)."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if report is not None:
        report.replace_with(data["report"])
    out: dict[str, list[ChunkResult]] = {}
    for entry in data["shards"]:
        path = str(manifest.parent / entry["file"])
        out.setdefault(entry["split"], []).append(ChunkResult(path, entry["rows"], ConversionReport()))
    return out


def parallel_map(fn: Callable[[Any], Any], items: list, num_proc: int | None) -> Iterator[Any]:
    """``map`` in this process, or over ``num_proc`` processes (results in order, yielded as they finish).

    Worker processes use the platform's default start method (fork on Linux): cheap to start, and the
    workers need nothing but the pickled job.
    """
    if not num_proc or num_proc <= 1 or len(items) <= 1:
        yield from (fn(item) for item in items)
        return
    with ProcessPoolExecutor(max_workers=min(num_proc, len(items))) as pool:
        yield from pool.map(fn, items)
