"""Bad inputs: strict mode raises a DatasetFormatError naming file, line and fix; strict=False skips/clips."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from PIL import Image

from tests.data_factory import make_yolo_dataset
from yolo_transformers.data import load_yolo_dataset, read_image_header, read_metadata
from yolo_transformers.errors import DatasetFormatError

LABEL = "labels/train/train_00000.txt"


@pytest.fixture
def ds_root(tmp_path) -> Path:
    make_yolo_dataset(tmp_path / "ds", "detect", splits={"train": 4, "val": 2}, backgrounds=0)
    return tmp_path / "ds"


def _load(root: Path, tmp_path: Path, **kwargs):
    return load_yolo_dataset(root / "data.yaml", cache_dir=tmp_path / "cache", **kwargs)


def _set_line(root: Path, line: str, number: int = 2) -> None:
    label = root / LABEL
    lines = label.read_text().splitlines()
    lines[number - 1 : number] = [line] if len(lines) >= number else lines + [line]
    label.write_text("\n".join(lines) + "\n")


BAD_LINES = {
    "wrong_field_count": ("0 0.5 0.5 0.2", r"4 fields, a detect label needs 5 fields"),
    "not_a_number": ("0 0.5 abc 0.2 0.2", r"'abc' is not a number"),
    "negative_class": ("-1 0.5 0.5 0.2 0.2", r"class id -1 is outside 0..2"),
    "class_too_large": ("3 0.5 0.5 0.2 0.2", r"class id 3 is outside 0..2"),
    "non_integer_class": ("1.5 0.5 0.5 0.2 0.2", r"class id 1.5 is not an integer"),
    "out_of_range": ("0 0.5 1.5 0.2 0.2", r"coordinates outside \[0, 1\]"),
    "negative_coordinate": ("0 -0.2 0.5 0.2 0.2", r"coordinates outside \[0, 1\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_label_line(ds_root, tmp_path, case):
    line, pattern = BAD_LINES[case]
    _set_line(ds_root, line, number=2)
    with pytest.raises(DatasetFormatError, match=pattern) as err:
        _load(ds_root, tmp_path)
    message = str(err.value)
    assert f"{ds_root / LABEL}:2:" in message and "Fix:" in message  # file, line number, fix

    ds = _load(ds_root, tmp_path, strict=False)  # Ultralytics marks the image corrupt and skips it
    assert ds["train"].num_rows == 3 and "train_00000.jpg" not in ds["train"]["file_name"]
    assert ds.conversion_report.counts["bad_label"] == 1


def test_slightly_out_of_range_is_clipped_when_not_strict(ds_root, tmp_path):
    _set_line(ds_root, "0 0.5 1.005 0.2 0.2", number=1)
    with pytest.raises(DatasetFormatError, match=r":1: coordinates outside"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)
    row = ds["train"][0]
    assert row["file_name"] == "train_00000.jpg" and ds.conversion_report.counts["clipped_coordinates"] == 1
    y, h = row["objects"]["bbox"][0][1], row["objects"]["bbox"][0][3]
    assert abs((y + h / 2) - 48) < 1e-3  # cy clipped to 1.0


def test_duplicate_rows_kept_strict_removed_otherwise(ds_root, tmp_path):
    label = ds_root / LABEL
    first = label.read_text().splitlines()[0]
    label.write_text(f"{first}\n{first}\n")
    assert len(_load(ds_root, tmp_path)["train"][0]["objects"]["id"]) == 2
    ds = _load(ds_root, tmp_path, strict=False)
    assert len(ds["train"][0]["objects"]["id"]) == 1 and ds.conversion_report.counts["duplicate_labels"] == 1


def test_segment_row_mixing_box_and_polygon(tmp_path):
    make_yolo_dataset(tmp_path / "seg", "segment", splits={"train": 3, "val": 1}, backgrounds=0)
    root = tmp_path / "seg"
    _set_line(root, "0 0.5 0.5 0.2 0.2", number=1)
    with pytest.raises(DatasetFormatError, match=r"train_00000.txt:1: 5 fields, a segment label needs"):
        load_yolo_dataset(root / "data.yaml", task="segment", cache_dir=tmp_path / "cache")


def test_pose_row_with_wrong_keypoint_count(tmp_path):
    make_yolo_dataset(tmp_path / "pose", "pose", splits={"train": 3, "val": 1}, backgrounds=0)
    root = tmp_path / "pose"
    _set_line(root, "0 0.5 0.5 0.2 0.2 0.5 0.5 2", number=1)
    with pytest.raises(DatasetFormatError, match=r":1: 8 fields, a pose label needs 17 fields"):
        load_yolo_dataset(root / "data.yaml", cache_dir=tmp_path / "cache")


def test_label_without_image(ds_root, tmp_path):
    (ds_root / "labels/train/ghost.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DatasetFormatError, match=r"ghost.txt: label file without an image.*Fix:"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)
    assert ds["train"].num_rows == 4 and ds.conversion_report.counts["label_without_image"] == 1


def test_image_without_label_is_background(ds_root, tmp_path):
    (ds_root / LABEL).unlink()
    ds = _load(ds_root, tmp_path)
    assert ds["train"][0]["objects"]["id"] == [] and ds.conversion_report.backgrounds["train"] == 1


def test_corrupt_image(ds_root, tmp_path):
    (ds_root / "images/train/train_00001.jpg").write_bytes(b"this is not an image")
    with pytest.raises(DatasetFormatError, match=r"train_00001.jpg: corrupt or unreadable image.*Fix:"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)
    assert ds["train"].num_rows == 3 and ds.conversion_report.counts["corrupt_image"] == 1


def test_truncated_images(ds_root, tmp_path):
    jpg = ds_root / "images/train/train_00001.jpg"
    jpg.write_bytes(jpg.read_bytes()[:-200])
    with pytest.raises(DatasetFormatError, match=r"train_00001.jpg: truncated JPEG.*Fix:"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)  # kept byte for byte; Ultralytics would re-encode it
    assert ds["train"].num_rows == 4 and ds.conversion_report.counts["truncated_jpeg"] == 1

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (9, 9, 9)).save(buffer, "PNG")
    with pytest.raises(DatasetFormatError, match="corrupt or unreadable"):
        read_image_header(buffer.getvalue()[:-20], "cut.png")


def test_duplicate_image_stems(ds_root, tmp_path):
    Image.new("RGB", (64, 48)).save(ds_root / "images/train/train_00002.png")
    with pytest.raises(DatasetFormatError, match=r"duplicate image stem 'train_00002'.*Fix:"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)
    assert ds["train"].num_rows == 4 and ds.conversion_report.counts["duplicate_image"] == 1


def test_unsupported_image_format(ds_root, tmp_path):
    Image.new("RGB", (64, 48)).save(ds_root / "images/train/anim.gif")
    with pytest.raises(DatasetFormatError, match=r"anim.gif: unsupported image format.*Fix:"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)
    assert ds["train"].num_rows == 4 and ds.conversion_report.counts["unsupported_format"] == 1

    buffer = io.BytesIO()  # a GIF disguised as .jpg
    Image.new("RGB", (64, 48)).save(buffer, "GIF")
    with pytest.raises(DatasetFormatError, match=r"GIF is not supported by Ultralytics"):
        read_image_header(buffer.getvalue(), "fake.jpg")


def test_tiny_image_rejected():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 40)).save(buffer, "PNG")
    with pytest.raises(DatasetFormatError, match="at least 10"):
        read_image_header(buffer.getvalue(), "tiny.png")


def _edit_yaml(root: Path, **changes) -> None:
    data = yaml.safe_load((root / "data.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    (root / "data.yaml").write_text(yaml.safe_dump(data))


def test_yaml_without_names(ds_root, tmp_path):
    _edit_yaml(ds_root, names=None)
    with pytest.raises(DatasetFormatError, match=r"data.yaml: no 'names'. Fix:"):
        _load(ds_root, tmp_path)
    _edit_yaml(ds_root, nc=3)
    assert read_metadata(_load(ds_root, tmp_path, strict=False)).names == ["class_0", "class_1", "class_2"]


def test_yaml_names_not_contiguous(ds_root, tmp_path):
    _edit_yaml(ds_root, names={0: "a", 2: "c"})
    with pytest.raises(DatasetFormatError, match="not 0..1"):
        _load(ds_root, tmp_path)


def test_yaml_missing_split_path(ds_root, tmp_path):
    _edit_yaml(ds_root, val="images/nowhere")
    with pytest.raises(DatasetFormatError, match=re.escape("split 'val' path") + r".*does not exist. Fix:"):
        _load(ds_root, tmp_path)
    ds = _load(ds_root, tmp_path, strict=False)
    assert list(ds) == ["train"] and ds.conversion_report.counts["missing_split"] == 1
    _edit_yaml(ds_root, val=None)
    with pytest.raises(DatasetFormatError, match=r"split key\(s\) \['val'\] missing"):
        _load(ds_root, tmp_path)


def test_list_file_with_missing_image(tmp_path):
    make_yolo_dataset(tmp_path / "ds", "detect", layout="lists", splits={"train": 3, "val": 1})
    listing = tmp_path / "ds/train.txt"
    listing.write_text(listing.read_text() + "./images/train/gone.jpg\n")
    with pytest.raises(DatasetFormatError, match=r"train.txt:4: listed image ./images/train/gone.jpg does not exist"):
        load_yolo_dataset(tmp_path / "ds/data.yaml", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_header_size_is_the_displayed_size(fmt, orientation):
    """width/height follow the EXIF orientation exactly as datasets' decoder (and cv2) show the image."""
    import datasets

    img = Image.new("RGB", (40, 20))
    exif = img.getexif()
    exif[274] = orientation
    buffer = io.BytesIO()
    if fmt == "TIFF":
        img.save(buffer, fmt, tiffinfo={274: orientation})
    else:
        img.save(buffer, fmt, exif=exif.tobytes())
    header = read_image_header(buffer.getvalue(), f"rotated.{fmt.lower()}")
    decoded = datasets.Image().decode_example({"bytes": buffer.getvalue(), "path": None})
    assert (header.width, header.height) == decoded.size == ((20, 40) if orientation in (6, 8) else (40, 20))


def test_bad_task_and_shard_arguments(ds_root, tmp_path):
    with pytest.raises(ValueError, match="task must be one of"):
        _load(ds_root, tmp_path, task="panoptic")
    with pytest.raises(ValueError, match="shard_index and num_shards"):
        _load(ds_root, tmp_path, shard_index=3, num_shards=3)
