"""Write one chunk of a split to an Arrow shard, streaming: memory holds one record batch at a time.

Each chunk is independent (its image ids and object ids are given), so chunks run in any order and in
any process; :mod:`.convert` memory-maps the finished shards with ``Dataset.from_file`` and concatenates
them. Image bytes go into Arrow exactly as read from disk; only the header is parsed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import datasets
import pyarrow as pa

from ..errors import DatasetFormatError
from ..tasks import TASK_SPECS
from .dense import DenseSpec, read_target
from .features import OBJECT_EXTRA_FIELD
from .objects import row_to_object
from .image_header import read_image_header
from .labels import count_label_rows, parse_label_text
from .report import ConversionReport

__all__ = ["ArrowShardWriter", "ChunkJob", "ChunkResult", "LabelScan", "scan_labels", "write_chunk"]

#: Rows per Arrow record batch: bounds the memory of a worker (about this many encoded images).
BATCH_ROWS = 64


class ArrowShardWriter:
    """Append rows (dicts in Arrow storage form) to an Arrow stream file, one record batch per ``BATCH_ROWS``.

    The file is what ``datasets.Dataset.from_file`` memory-maps: an IPC stream whose schema carries the
    features in its ``huggingface`` metadata.
    """

    def __init__(self, path: str, features: datasets.Features) -> None:
        self.path = path
        self.schema = features.arrow_schema
        self.num_rows = 0
        self._columns: dict[str, list] = {name: [] for name in self.schema.names}
        self._sink = pa.OSFile(path, "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)

    def add(self, row: dict) -> None:
        """Buffer one row; write a record batch when the buffer is full."""
        for name, values in self._columns.items():
            values.append(row[name])
        self.num_rows += 1
        if len(self._columns[self.schema.names[0]]) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._columns[self.schema.names[0]]:
            return
        arrays = [pa.array(self._columns[f.name], type=f.type) for f in self.schema]
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        for values in self._columns.values():
            values.clear()

    def close(self) -> None:
        """Write what is buffered and close the file."""
        try:
            self._flush()
            self._writer.close()
        finally:
            self._sink.close()

    def __enter__(self) -> ArrowShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class LabelScan:
    """Cheap facts about label files, gathered before conversion.

    Attributes:
        rows: Non-blank lines per label file (0 when missing); fixes each object's id up front.
        field_counts: Field counts seen over all lines (for task detection).
        max_class: Largest class id seen (for folders without names), -1 if none.
        stats: ``(size, mtime_ns)`` per label file (``(-1, 0)`` when missing), for the cache fingerprint.
    """

    rows: list[int] = field(default_factory=list)
    field_counts: set[int] = field(default_factory=set)
    max_class: int = -1
    stats: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ChunkJob:
    """One chunk of one split to convert.

    Attributes:
        split: Split name (messages only).
        task: Task of the dataset.
        features: Target features (with metadata).
        images: Image paths.
        file_names: File names to store, per image.
        image_ids: ``image_id`` per image.
        out_path: Arrow file to write.
        strict: Raise on problems instead of skipping.
        num_classes: Number of class names.
        labels: Label paths per image (detection-like tasks).
        first_object_ids: Id of each image's first object (detection-like tasks).
        classes: Class index per image (classification).
        kpt_shape: ``(K, D)`` for pose.
        targets: Mask or depth-map paths per image (semantic, depth).
        dense: How those targets are read and checked (semantic, depth).
    """

    split: str
    task: str
    features: datasets.Features
    images: list[str]
    file_names: list[str]
    image_ids: list[int]
    out_path: str
    strict: bool
    num_classes: int
    labels: list[str] | None = None
    first_object_ids: list[int] | None = None
    classes: list[int] | None = None
    kpt_shape: tuple[int, int] | None = None
    targets: list[str] | None = None
    dense: DenseSpec | None = None


@dataclass
class ChunkResult:
    """What a chunk produced: the shard path, its row count and the report of what was skipped."""

    out_path: str
    num_rows: int
    report: ConversionReport


def scan_labels(label_paths: list[str]) -> LabelScan:
    """Read label files once to count rows and field counts (no validation; see :mod:`.labels`)."""
    scan = LabelScan()
    for path in label_paths:
        try:
            with open(path, encoding="utf-8-sig", errors="replace") as handle:
                st = os.fstat(handle.fileno())
                text = handle.read()
        except FileNotFoundError:
            scan.rows.append(0)
            scan.stats.append((-1, 0))
            continue
        n, counts = count_label_rows(text)
        scan.rows.append(n)
        scan.field_counts |= counts
        scan.stats.append((st.st_size, st.st_mtime_ns))
        for line in text.splitlines():
            first = line.split(maxsplit=1)[:1]
            if first:
                try:
                    scan.max_class = max(scan.max_class, int(float(first[0])))
                except ValueError:
                    pass
    return scan


def write_chunk(job: ChunkJob) -> ChunkResult:
    """Convert the images of ``job`` and write them, in order, to ``job.out_path``.

    Raises:
        DatasetFormatError: In strict mode, on the first problem.
    """
    report = ConversionReport()
    with ArrowShardWriter(job.out_path, job.features) as writer:
        for i, image in enumerate(job.images):
            row = _convert_one(job, i, image, report)
            if row is None:
                continue
            writer.add(row)
            report.images[job.split] += 1
            if "objects" in row and not row["objects"]["id"]:
                report.backgrounds[job.split] += 1
    return ChunkResult(out_path=job.out_path, num_rows=writer.num_rows, report=report)


def _convert_one(job: ChunkJob, i: int, image: str, report: ConversionReport) -> dict | None:
    """One output row, or None when non-strict mode skips the image."""
    try:
        with open(image, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return _skip(job, f"{image}: cannot read image ({exc})", "check the file's permissions", "corrupt_image",
                     report)
    try:
        header = read_image_header(data, image)
    except DatasetFormatError as exc:
        if job.strict:
            raise
        report.add("corrupt_image", f"{exc}; skipped")
        return None
    if header.truncated_jpeg:
        message = f"{image}: truncated JPEG (no end-of-image marker)"
        if job.strict:
            raise DatasetFormatError(
                f"{message}. Fix: re-save it from the original (Ultralytics would re-encode it) or pass strict=False."
            )
        report.add("truncated_jpeg", f"{message}; kept byte for byte (Ultralytics would re-encode it)")
    row = {
        "image_id": job.image_ids[i],
        "image": {"bytes": data, "path": job.file_names[i]},
        "width": header.width,
        "height": header.height,
        "file_name": job.file_names[i],
    }
    if job.task == "classify":
        row["label"] = job.classes[i]
        return row
    if job.dense is not None:
        try:
            row[TASK_SPECS[job.task].dense_column] = read_target(job.dense, job.targets[i], (header.width, header.height))
        except DatasetFormatError as exc:
            if job.strict:
                raise DatasetFormatError(f"{exc} (or pass strict=False to skip the image).") from None
            report.add("bad_target", f"{exc}; image skipped")
            return None
        return row
    objects = _objects(job, i, header.width, header.height, report)
    if objects is None:
        return None
    row["objects"] = objects
    return row


def _objects(job: ChunkJob, i: int, width: int, height: int, report: ConversionReport) -> dict | None:
    """The ``objects`` dict of image ``i`` (empty for a background image)."""
    objects: dict[str, list] = {name: [] for name in job.features["objects"]}
    label = job.labels[i]
    try:
        with open(label, encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:
        return objects  # background image
    except (OSError, UnicodeDecodeError) as exc:
        return _skip(job, f"{label}: unreadable label file ({exc})", "save it as UTF-8 text", "bad_label", report)
    rows = parse_label_text(
        text,
        source=label,
        task=job.task,
        num_classes=job.num_classes,
        kpt_shape=job.kpt_shape,
        strict=job.strict,
        report=report,
    )
    if rows is None:
        return None
    extra = OBJECT_EXTRA_FIELD[job.task]
    kpt_dim = job.kpt_shape[1] if job.kpt_shape else 3
    base = job.first_object_ids[i]
    for n, row in enumerate(rows):
        bbox, area, payload = row_to_object(job.task, row.values, width, height, kpt_dim)
        objects["id"].append(base + n)
        objects["area"].append(area)
        objects["bbox"].append(bbox)
        objects["category"].append(row.cls)
        if extra:
            objects[extra].append(payload)
    return objects


def _skip(job: ChunkJob, message: str, fix: str, reason: str, report: ConversionReport) -> None:
    """Raise in strict mode, else count the skipped image."""
    if job.strict:
        raise DatasetFormatError(f"{message}. Fix: {fix} (or pass strict=False to skip it).")
    report.add(reason, f"{message}; skipped")
    return None
