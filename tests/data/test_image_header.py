"""The JPEG marker fast path agrees with Pillow; labels and geometry helpers behave."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from yolo_transformers.data import image_header
from yolo_transformers.data.objects import object_to_row, polygon_area, row_to_object
from yolo_transformers.data.labels import parse_label_text, task_from_field_counts
from yolo_transformers.errors import DatasetFormatError


def _jpeg(size=(50, 30), mode="RGB", orientation=None, **save) -> bytes:
    img = Image.new(mode, size, 128)
    if orientation is not None:
        exif = img.getexif()
        exif[274] = orientation
        save["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        _jpeg(),
        _jpeg(mode="L"),
        _jpeg(mode="CMYK"),
        _jpeg(progressive=True),
        _jpeg(orientation=6),
        _jpeg(orientation=3, icc_profile=b"\0" * 3000),
        _jpeg(size=(4000, 10), quality=20),
    ],
)
def test_fast_path_matches_pillow(data):
    fast = image_header._jpeg_header(data)
    assert fast is not None
    with Image.open(io.BytesIO(data)) as im:
        orientation = im.getexif().get(274)
        assert fast == (*im.size, orientation, "jpeg")


def test_broken_markers_fall_back_to_pillow():
    data = bytearray(_jpeg())
    data[4:6] = b"\xff\xff"  # first segment length now runs past the end
    assert image_header._jpeg_header(bytes(data)) is None
    with pytest.raises(DatasetFormatError, match="corrupt or unreadable"):
        image_header.read_image_header(b"\xff\xd8\xff" + b"\0" * 40, "bad.jpg")


def test_parse_pose_rows_and_clip():
    text = "\ufeff0 0.5 0.5 0.2 0.2 0.4 0.4 2 1.004 0.5 1\n\n1 0.5 0.5 0.2 0.2 0 0 0 0 0 0\n"
    with pytest.raises(DatasetFormatError, match=r"x.txt:1: coordinates outside"):
        parse_label_text(text, source="x.txt", task="pose", num_classes=2, kpt_shape=(2, 3))
    rows = parse_label_text(text, source="x.txt", task="pose", num_classes=2, kpt_shape=(2, 3), strict=False)
    assert [r.line for r in rows] == [1, 3] and rows[0].values[7] == 1.0 and rows[0].values[6] == 2


def test_task_from_field_counts():
    assert task_from_field_counts({5}) == "detect"
    assert task_from_field_counts({9}) == "obb"
    assert task_from_field_counts({7, 9, 11}) == "segment"
    assert task_from_field_counts(set()) == "detect"


def test_geometry_round_trip():
    for task, values in [
        ("detect", [0.5, 0.25, 0.2, 0.1]),
        ("pose", [0.5, 0.5, 0.2, 0.2, 0.45, 0.55, 2.0]),
        ("obb", [0.1, 0.1, 0.3, 0.1, 0.3, 0.2, 0.1, 0.2]),
    ]:
        bbox, area, extra = row_to_object(task, values, 640, 480, kpt_dim=3)
        back = object_to_row(task, bbox, extra, 640, 480)
        assert back == pytest.approx(values, abs=1e-12)
    bbox, area, extra = row_to_object("segment", [0.0, 0.0, 1.0, 0.0, 1.0, 1.0], 10, 20)
    assert bbox == [0.0, 0.0, 10.0, 20.0] and area == 100.0 and extra == [[0.0, 0.0, 10.0, 0.0, 10.0, 20.0]]
    assert polygon_area([0, 0, 2, 0, 2, 2, 0, 2]) == 4.0
