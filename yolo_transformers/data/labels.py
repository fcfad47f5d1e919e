"""Parse and validate YOLO label files, one task at a time.

Row layouts (all coordinates normalized to [0, 1] by the displayed image size)::

    detect   cls cx cy w h
    segment  cls x1 y1 x2 y2 x3 y3 ...          (at least 3 points)
    pose     cls cx cy w h px1 py1 [v1] ...     (kpt_shape = [K, D] from data.yaml)
    obb      cls x1 y1 x2 y2 x3 y3 x4 y4        (the 4 corners)

Strict mode raises :class:`~yolo_transformers.errors.DatasetFormatError` naming the file, the line and the
fix. Non-strict mode follows Ultralytics' ``verify_image_label``: a bad line makes the whole image
"corrupt" and it is skipped; values within 1 % outside [0, 1] are clipped; duplicate rows are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import DatasetFormatError
from .report import ConversionReport

__all__ = ["LabelRow", "parse_label_text", "count_label_rows", "task_from_field_counts"]

_STRICT_TOL = 1e-6  # float noise accepted as-is in strict mode
_CLIP_TOL = 0.01  # Ultralytics accepts (and later clips) values up to 1 % outside [0, 1]


@dataclass(frozen=True)
class LabelRow:
    """One validated label line.

    Attributes:
        cls: Class id.
        values: The numbers after the class id, normalized.
        line: 1-based line number in the label file (0 for rows not read from a file).
    """

    cls: int
    values: tuple[float, ...]
    line: int


class _BadLine(Exception):
    """A label line is malformed; carries the problem and the fix for the message."""

    def __init__(self, line: int, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.line, self.problem, self.fix = line, problem, fix


def count_label_rows(text: str) -> tuple[int, set[int]]:
    """Number of non-blank lines and the set of their field counts (cheap pre-pass, no validation)."""
    n, field_counts = 0, set()
    for line in text.splitlines():
        if line.strip():
            n += 1
            field_counts.add(len(line.split()))
    return n, field_counts


def task_from_field_counts(field_counts: set[int]) -> str:
    """Guess detect/segment/obb from the field counts seen in all label files.

    Only 5 fields → detect; only 9 → obb (a segment dataset whose polygons all have 4 points looks the
    same: pass ``task="segment"``); any row over 6 fields otherwise → segment.
    """
    if field_counts == {9}:
        return "obb"
    if any(n > 6 for n in field_counts):
        return "segment"
    return "detect"


def parse_label_text(
    text: str,
    *,
    source: str,
    task: str,
    num_classes: int,
    kpt_shape: tuple[int, int] | None = None,
    strict: bool = True,
    report: ConversionReport | None = None,
) -> list[LabelRow] | None:
    """Parse and validate the content of one label file.

    Args:
        text: File content (a UTF-8 byte-order mark is ignored).
        source: Label file path, for messages.
        task: ``detect``, ``segment``, ``pose`` or ``obb``.
        num_classes: Number of class names; ids must be in ``[0, num_classes)``.
        kpt_shape: ``(K, D)`` for pose (for detect: pose rows of that size are read as their box).
        strict: Raise on the first problem instead of skipping/clipping.
        report: Where non-strict mode counts what it changed.

    Returns:
        The rows in file order, or None when non-strict mode skips the whole image.

    Raises:
        DatasetFormatError: In strict mode, on the first malformed line.
    """
    report = report if report is not None else ConversionReport()
    rows: list[LabelRow] = []
    clipped = 0
    try:
        for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if task == "detect" and kpt_shape and len(fields) == 5 + kpt_shape[0] * kpt_shape[1]:
                fields = fields[:5]  # a pose row read as detection: keep the box, like Ultralytics
            cls, values = _parse_fields(fields, number, task, num_classes, kpt_shape)
            values, was_clipped = _check_range(values, number, task, kpt_shape, strict)
            clipped += was_clipped
            rows.append(LabelRow(cls, values, number))
    except _BadLine as bad:
        message = f"{source}:{bad.line}: {bad.problem}. Fix: {bad.fix}"
        if strict:
            raise DatasetFormatError(message + " (or pass strict=False to skip this image).") from None
        report.add("bad_label", f"{message}; image skipped, as Ultralytics does")
        return None
    if clipped:
        report.add("clipped_coordinates", f"{source}: {clipped} line(s) clipped to [0, 1]", clipped)
    if not strict:
        rows = _drop_duplicates(rows, source, report)
    return rows


def _parse_fields(
    fields: list[str], number: int, task: str, num_classes: int, kpt_shape: tuple[int, int] | None
) -> tuple[int, tuple[float, ...]]:
    """Numbers, field count and class id of one line."""
    try:
        numbers = [float(x) for x in fields]
    except ValueError:
        bad = next(x for x in fields if not _is_float(x))
        raise _BadLine(number, f"{bad!r} is not a number", "every field must be a number") from None
    if not all(map(math.isfinite, numbers)):
        raise _BadLine(number, "NaN or infinite value", "replace it with the normalized coordinate")
    _check_field_count(len(numbers), number, task, kpt_shape)
    cls = numbers[0]
    if cls != int(cls):
        raise _BadLine(number, f"class id {fields[0]} is not an integer", "write the class index as an integer")
    if not 0 <= cls < num_classes:
        raise _BadLine(
            number,
            f"class id {int(cls)} is outside 0..{num_classes - 1} ({num_classes} names in data.yaml)",
            "correct the id or add the missing class to 'names' in data.yaml",
        )
    return int(cls), tuple(numbers[1:])


def _check_field_count(n: int, number: int, task: str, kpt_shape: tuple[int, int] | None) -> None:
    """Raise when ``n`` fields do not fit ``task``."""
    if task == "detect":
        ok, want = n == 5 or (n >= 7 and n % 2 == 1), "5 fields (cls cx cy w h) or a polygon"
    elif task == "segment":
        ok, want = n >= 7 and n % 2 == 1, "an odd number of fields, at least 7 (cls x1 y1 x2 y2 x3 y3 ...)"
    elif task == "obb":
        ok, want = n == 9, "9 fields (cls x1 y1 x2 y2 x3 y3 x4 y4)"
    elif task == "pose":
        k, d = kpt_shape or (0, 0)
        ok, want = n == 5 + k * d, f"{5 + k * d} fields (cls cx cy w h + {k} keypoints x {d}, kpt_shape {[k, d]})"
    else:
        raise ValueError(f"no label rows for task {task!r}")
    if not ok:
        raise _BadLine(number, f"{n} fields, a {task} label needs {want}", f"rewrite the line with {want}")


def _check_range(
    values: tuple[float, ...], number: int, task: str, kpt_shape: tuple[int, int] | None, strict: bool
) -> tuple[tuple[float, ...], bool]:
    """Check coordinates against [0, 1]; in non-strict mode clip values within 1 %. Returns (values, clipped)."""
    coords = _coordinate_mask(len(values), task, kpt_shape)
    checked = values if coords is None else [v for v, c in zip(values, coords) if c]
    low, high = min(checked, default=0.0), max(checked, default=0.0)
    tol = _STRICT_TOL if strict else _CLIP_TOL
    if low < -tol or high > 1 + tol:
        raise _BadLine(
            number,
            f"coordinates outside [0, 1] (min {low:.6g}, max {high:.6g})",
            "divide pixel coordinates by the image width/height so that they are normalized",
        )
    if (task == "pose" or (task == "detect" and len(values) == 4)) and min(values[2:4]) < 0:
        raise _BadLine(number, "negative box width or height", "write cx cy w h with w, h >= 0")
    if strict or (low >= 0 and high <= 1):
        return values, False
    coords = coords or [True] * len(values)
    return tuple(min(max(v, 0.0), 1.0) if c else v for v, c in zip(values, coords)), True


def _coordinate_mask(n: int, task: str, kpt_shape: tuple[int, int] | None) -> list[bool] | None:
    """Which of the ``n`` values are coordinates (visibility flags are not); None when all of them are."""
    if task != "pose" or not kpt_shape or kpt_shape[1] != 3:
        return None
    return [True] * 4 + [(i % 3) != 2 for i in range(n - 4)]


def _drop_duplicates(rows: list[LabelRow], source: str, report: ConversionReport) -> list[LabelRow]:
    """Remove rows identical to an earlier one (Ultralytics does the same)."""
    seen: set[tuple[int, tuple[float, ...]]] = set()
    kept = []
    for row in rows:
        key = (row.cls, row.values)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    if len(kept) < len(rows):
        n = len(rows) - len(kept)
        report.add("duplicate_labels", f"{source}: {n} duplicate label(s) removed", n)
    return kept


def _is_float(text: str) -> bool:
    """True when ``float(text)`` works."""
    try:
        float(text)
    except ValueError:
        return False
    return True
