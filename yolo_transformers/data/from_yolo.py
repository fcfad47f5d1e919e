"""``load_yolo_dataset``: a YOLO folder (or ``data.yaml``) → ``datasets.DatasetDict``, streamed to Arrow.

How it scales:

- Each split is cut into chunks; each chunk is written by :func:`.shards.write_chunk` to its own Arrow
  file, one 64-row record batch at a time, so peak memory does not grow with the number of images. The
  shards are memory-mapped (``Dataset.from_file``) and concatenated.
- ``num_proc`` converts chunks in that many processes.
- Image ids are the image's index in the split's sorted file list, and object ids are fixed up front from
  a cheap line count of every label file, so the result is identical whatever ``num_proc`` or sharding.
- Huge datasets can be converted as independent pieces, e.g. one per machine::

      parts = [load_yolo_dataset(p, shard_index=i, num_shards=8) for i in range(8)]  # anywhere, any order
      full = DatasetDict({s: concatenate_datasets([d[s] for d in parts]) for s in parts[0]})

  Shard ``i`` holds a contiguous block of every split, so concatenating in ``i`` order gives the same rows
  as one full conversion (each piece can also be ``save_to_disk``-ed or pushed on its own).
- Results are cached in ``cache_dir`` (default ``<HF_DATASETS_CACHE>/yolo_transformers``) under a
  fingerprint of the options and of every image and label file's path, size and mtime; a second call on an
  unchanged dataset reuses the shards. Delete that folder to reclaim the space.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import datasets

from ..errors import DatasetFormatError
from .cache import default_cache_dir, fingerprint, run_cached
from .classify_layout import is_classify_layout, read_classify_source
from .dense import DENSE_TASKS, DenseSpec, dense_kind, dense_spec, depth_format_of, target_path
from .features import features_for_task
from .labels import task_from_field_counts
from .metadata import TASKS, YoloMetadata, attach_metadata
from .report import ConversionReport
from .shards import ChunkJob, LabelScan, scan_labels
from .yolo_format import (
    SplitFiles,
    YoloSource,
    dataset_root,
    extra_yaml_keys,
    find_data_yaml,
    img2label_path,
    list_split_images,
    read_data_yaml,
    resolve_split_paths,
    split_specs,
)

__all__ = ["load_yolo_dataset", "CHUNK_IMAGES"]

logger = logging.getLogger(__name__)

#: Images per Arrow shard file (and per unit of work for ``num_proc``).
CHUNK_IMAGES = 1000


def load_yolo_dataset(
    path: str | os.PathLike,
    *,
    task: str | None = None,
    strict: bool = True,
    num_proc: int | None = None,
    splits: list[str] | None = None,
    shard_index: int | None = None,
    num_shards: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.DatasetDict:
    """Convert a YOLO dataset to a ``DatasetDict`` with the Hub detection schema (see :mod:`.features`).

    Args:
        path: A ``data.yaml``, a folder holding one, an ``images/``+``labels/`` folder, or a classification
            folder (``train/<class>/<image>``).
        task: One of :data:`~yolo_transformers.data.metadata.TASKS`; detected when None (``task:`` in the YAML,
            ``masks_dir``/``masks/`` → semantic, ``depth_scale``/``depth/`` → depth, ``kpt_shape`` → pose, class
            folders → classify, polygons → segment, only 9-field rows → obb, else detect).
        strict: Raise :class:`~yolo_transformers.errors.DatasetFormatError` on the first problem. When False,
            skip/clip what Ultralytics would skip/clip and report it (``result.conversion_report``).
        num_proc: Processes converting chunks in parallel (default 1).
        splits: Only these splits (names as in the YAML: ``train``, ``val``, ``test``).
        shard_index: Convert only this piece (0-based) of every split; needs ``num_shards``.
        num_shards: Number of pieces every split is cut into (contiguous blocks).
        cache_dir: Folder for the Arrow shards (default ``<HF_DATASETS_CACHE>/yolo_transformers``).

    Returns:
        One ``Dataset`` per split, memory-mapped. ``conversion_report`` is set as an attribute.

    Raises:
        DatasetFormatError: Malformed dataset (strict mode), or a problem that no mode can work around.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    if (shard_index is None) != (num_shards is None) or (num_shards is not None and not 0 <= shard_index < num_shards):
        raise ValueError("pass shard_index and num_shards together, with 0 <= shard_index < num_shards")
    report = ConversionReport()
    source = _resolve_source(Path(path), task=task, strict=strict, wanted=splits, report=report)
    source.splits = _select_splits(source, splits)
    declared = task or source.task
    dense = dense_spec(declared, {**source.extra, "names": source.names}, str(source.yaml_file or source.root)) \
        if declared in DENSE_TASKS else None
    scans = {} if declared == "classify" or dense else _scan(source, strict, report)
    if task is None and not dense and source.task != "classify":
        _refuse_unknown_kind(source, scans)
    task = declared or _detect_task(scans)
    targets = {n: [target_path(dense, i) for i in s.images] for n, s in source.splits.items()} if dense else {}
    if not source.names:
        source.names = [f"class_{i}" for i in range(max((s.max_class for s in scans.values()), default=-1) + 1)]
        logger.warning("%s: no data.yaml; class names set to %s", source.root, source.names)
    meta = YoloMetadata(
        task=task,
        names=source.names,
        source_format="yolo",
        kpt_shape=source.kpt_shape if task == "pose" else None,
        flip_idx=source.flip_idx if task == "pose" else None,
        extra=source.extra,
    )
    if task == "pose" and not meta.kpt_shape:
        raise DatasetFormatError(f"{source.yaml_file or source.root}: pose needs 'kpt_shape: [K, D]' in data.yaml.")
    depth_format = depth_format_of([p for paths in targets.values() for p in paths]) if task == "depth" else "png"
    features = attach_metadata(features_for_task(task, source.names, depth_format=depth_format), meta)
    jobs = _jobs(source, scans, features, meta, strict, shard_index, num_shards, num_proc, targets, dense)
    key = _fingerprint(source, scans, meta, strict, shard_index, num_shards, targets)
    results = run_cached(jobs, Path(cache_dir or default_cache_dir()) / key, num_proc, report)
    info = datasets.DatasetInfo(description=meta.to_json(), features=features)
    out = datasets.DatasetDict()
    for split in source.splits:
        shards = [datasets.Dataset.from_file(r.out_path, info=info.copy(), split=split) for r in results[split]]
        if len(shards) > 1:
            out[split] = datasets.concatenate_datasets(shards, info=info.copy(), split=split)
        else:
            out[split] = shards[0]
    out.conversion_report = report
    report.log()
    return out


def _resolve_source(
    path: Path, *, task: str | None, strict: bool, wanted: list[str] | None, report: ConversionReport
) -> YoloSource:
    """Find the YAML or the layout and list the images of every (wanted) split."""
    if not path.exists():
        raise DatasetFormatError(f"{path} does not exist. Fix: pass a data.yaml or a dataset folder.")
    yaml_file = path if path.is_file() else find_data_yaml(path)
    data = read_data_yaml(yaml_file, strict=strict and task != "classify") if yaml_file else None
    root = dataset_root(data, yaml_file) if yaml_file else path.resolve()
    declared = (data or {}).get("task")
    if declared is not None and declared not in TASKS:
        raise DatasetFormatError(
            f"{yaml_file}: task {declared!r} is not a dataset kind this package reads ({', '.join(TASKS)}). "
            "Fix: correct 'task:' (or remove it to detect the kind from the layout)."
        )
    if task == "classify" or declared == "classify" or (task is None and declared is None and is_classify_layout(root)):
        return read_classify_source(root, data, yaml_file, strict=strict, report=report)
    if data is None:
        return _bare_folder_source(root, strict=strict, report=report)
    specs = {k: v for k, v in split_specs(data).items() if wanted is None or k in wanted}
    splits = {}
    for name, spec in specs.items():
        sources = resolve_split_paths(spec, root)
        if not strict and not all(p.exists() for p in sources):
            report.add("missing_split", f"{yaml_file}: split '{name}' path missing; split skipped")
            continue
        splits[name] = list_split_images(name, sources, source=str(yaml_file), strict=strict, report=report)
    return YoloSource(
        root=root,
        yaml_file=yaml_file,
        names=data["names"],
        splits=splits,
        task=declared or dense_kind(data, root) or ("pose" if data.get("kpt_shape") else None),
        kpt_shape=data.get("kpt_shape"),
        flip_idx=data.get("flip_idx"),
        extra=extra_yaml_keys(data),
    )


def _bare_folder_source(root: Path, *, strict: bool, report: ConversionReport) -> YoloSource:
    """``images/<split>/`` (+ ``labels/<split>/``) without a YAML; images directly in ``images/`` → train."""
    images = root / "images"
    if not images.is_dir():
        raise DatasetFormatError(
            f"{root}: no data.yaml, no images/ folder and no train/<class>/ folders. "
            "Fix: add a data.yaml (path, train, val, names) or use the images/<split>/ + labels/<split>/ layout."
        )
    subdirs = sorted(p for p in images.iterdir() if p.is_dir() and not p.name.startswith("."))
    has_files = any(p.is_file() for p in images.iterdir())
    folders = {"train": [images]} if has_files or not subdirs else {p.name: [p] for p in subdirs}
    splits = {
        name: list_split_images(name, paths, source=str(root), strict=strict, report=report)
        for name, paths in folders.items()
    }
    return YoloSource(root=root, yaml_file=None, names=[], splits=splits)


def _select_splits(source: YoloSource, wanted: list[str] | None) -> dict[str, SplitFiles]:
    """Keep only the requested splits."""
    if wanted is None:
        return source.splits
    unknown = [s for s in wanted if s not in source.splits]
    if unknown:
        where = source.yaml_file or source.root
        raise DatasetFormatError(f"{where}: no split(s) {unknown}; found {list(source.splits)}. Fix: use those names.")
    return {s: source.splits[s] for s in wanted}


def _scan(source: YoloSource, strict: bool, report: ConversionReport) -> dict[str, LabelScan]:
    """Per split: check duplicate names and orphan labels, and pre-scan the label files (in this process:
    label files are small, a process pool would cost more than it saves)."""
    scans = {}
    for name, split in source.splits.items():
        _check_duplicates(split, strict, report)
        scans[name] = scan_labels([img2label_path(i) for i in split.images])
    _check_orphan_labels(source, strict, report)
    return scans


def _check_duplicates(split: SplitFiles, strict: bool, report: ConversionReport) -> None:
    """Two images of a split whose names differ only by extension would share one label file."""
    seen: dict[str, str] = {}
    keep = []
    for idx, (image, name) in enumerate(zip(split.images, split.file_names)):
        stem = name.rsplit(".", 1)[0]
        if stem in seen:
            message = f"{image}: duplicate image stem '{stem}' in split '{split.name}' (also {seen[stem]})"
            if strict:
                raise DatasetFormatError(
                    f"{message}; both would use the same label file. Fix: rename or remove one of them "
                    "(or pass strict=False to keep the first)."
                )
            report.add("duplicate_image", f"{message}; kept the first")
            continue
        seen[stem] = image
        keep.append(idx)
    if len(keep) < len(split.images):
        split.images = [split.images[i] for i in keep]
        split.file_names = [split.file_names[i] for i in keep]


def _check_orphan_labels(source: YoloSource, strict: bool, report: ConversionReport) -> None:
    """Label files under a split's label folder whose image does not exist."""
    expected = {img2label_path(i) for s in source.splits.values() for i in s.images}
    roots = sorted({r for s in source.splits.values() for r in s.label_roots})
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            for filename in filenames:
                label = os.path.join(dirpath, filename)
                if not filename.endswith(".txt") or filename == "classes.txt" or label in expected:
                    continue
                message = f"{label}: label file without an image"
                if strict:
                    raise DatasetFormatError(
                        f"{message} (expected its image under the matching images/ folder). Fix: add the image "
                        "or delete the label file (or pass strict=False to ignore it)."
                    )
                report.add("label_without_image", f"{message}; ignored")


def _refuse_unknown_kind(source: YoloSource, scans: dict[str, LabelScan]) -> None:
    """No split has a single label file but the root holds other folders: an annotation kind we do not read.

    Reading such a dataset as detection would silently give every image zero objects.
    """
    if not scans or any(size >= 0 for scan in scans.values() for size, _ in scan.stats):
        return
    others = sorted(p.name for p in source.root.iterdir()
                    if p.is_dir() and not p.name.startswith(".") and p.name not in {"images", "labels"})
    if others and any(s.images for s in source.splits.values()):
        raise DatasetFormatError(
            f"{source.yaml_file or source.root}: no YOLO label file for any image, but folder(s) {others} beside "
            "images/: this dataset kind is not understood (it would read as detection with zero objects). Fix: "
            "add 'masks_dir:' (semantic masks) or 'depth_scale:' (depth maps) to data.yaml, or pass task=... "
            f"(one of {', '.join(TASKS)}) to read it as that task."
        )


def _detect_task(scans: dict[str, LabelScan]) -> str:
    """Task from the label field counts of every split."""
    counts: set[int] = set()
    for scan in scans.values():
        counts |= scan.field_counts
    return task_from_field_counts(counts)


def _jobs(
    source: YoloSource,
    scans: dict[str, LabelScan],
    features: datasets.Features,
    meta: YoloMetadata,
    strict: bool,
    shard_index: int | None,
    num_shards: int | None,
    num_proc: int | None,
    targets: dict[str, list[str]],
    dense: DenseSpec | None,
) -> dict[str, list[ChunkJob]]:
    """Chunk jobs per split (``out_path`` is set by :func:`_run_jobs`)."""
    jobs: dict[str, list[ChunkJob]] = {}
    kpt_shape = tuple(source.kpt_shape) if source.kpt_shape and meta.task in {"pose", "detect"} else None
    for name, split in source.splits.items():
        n = len(split.images)
        lo, hi = (0, n) if num_shards is None else (n * shard_index // num_shards, n * (shard_index + 1) // num_shards)
        size = max(1, min(CHUNK_IMAGES, -(-(hi - lo) // max(num_proc or 1, 1))))
        scan = scans.get(name)
        first_ids, total = [], 0
        for rows in scan.rows if scan else []:
            first_ids.append(total)
            total += rows
        jobs[name] = []
        for start in range(lo, max(hi, lo + 1), size):
            stop = min(start + size, hi)
            jobs[name].append(
                ChunkJob(
                    split=name,
                    task=meta.task,
                    features=features,
                    images=split.images[start:stop],
                    file_names=split.file_names[start:stop],
                    image_ids=list(range(start, stop)),
                    out_path="",
                    strict=strict,
                    num_classes=len(meta.names),
                    labels=[img2label_path(i) for i in split.images[start:stop]] if scan else None,
                    first_object_ids=first_ids[start:stop] if scan else None,
                    classes=split.classes[start:stop] if split.classes is not None else None,
                    kpt_shape=kpt_shape,
                    targets=targets[name][start:stop] if dense else None,
                    dense=dense,
                )
            )
    return jobs


def _fingerprint(
    source: YoloSource,
    scans: dict[str, LabelScan],
    meta: YoloMetadata,
    strict: bool,
    shard_index: int | None,
    num_shards: int | None,
    targets: dict[str, list[str]],
) -> str:
    """Cache key: options, metadata, and every image's, label's, mask's or depth map's identity (path, size, mtime)."""
    files = ((image, name) for split in source.splits.values() for image, name in zip(split.images, split.file_names))
    extra = [[name, s.classes, scans[name].stats if name in scans else None, _stats(targets.get(name, []))]
             for name, s in source.splits.items()]
    return fingerprint([meta.to_json(), strict, shard_index, num_shards], files, extra)


def _stats(paths: list[str]) -> list[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` per file, ``-1`` size when missing."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append((path, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((path, -1, 0))
    return out
