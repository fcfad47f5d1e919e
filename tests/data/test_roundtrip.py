"""YOLO folder → DatasetDict → YOLO folder, for every task: bytes identical, labels within 1e-6."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml

from tests.data_factory import CLASS_NAMES, FLIP_IDX, KPT_SHAPE, make_yolo_dataset
from tests.helpers import assert_labels_close, image_bytes, yolo_labels
from yolo_transformers.data import features_for_task, load_yolo_dataset, read_metadata, to_yolo_folder
from yolo_transformers.errors import DatasetFormatError

TASKS = ["detect", "segment", "pose", "obb"]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("made")
    return {task: make_yolo_dataset(root / task, task, backgrounds=2) for task in [*TASKS, "classify"]}


@pytest.mark.parametrize("task", TASKS)
def test_roundtrip_detection_tasks(made, task, tmp_path):
    data_yaml = made[task]
    ds = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    assert list(ds) == ["train", "validation"]  # the Hub's split names; data.yaml says val
    meta = read_metadata(ds)
    assert meta.task == task and meta.names == CLASS_NAMES and meta.source_format == "yolo"
    assert ds["train"].features["objects"]["category"].feature.names == CLASS_NAMES
    assert ds.conversion_report.backgrounds["train"] == 2 and ds.conversion_report.ok

    raw = ds["train"].with_format("arrow")[:1]["image"][0].as_py()
    src = data_yaml.parent / "images" / "train" / raw["path"]
    assert raw["bytes"] == src.read_bytes()  # stored exactly as on disk

    out_yaml = to_yolo_folder(ds, tmp_path / "out")
    assert out_yaml == tmp_path / "out" / "data.yaml"
    assert image_bytes(tmp_path / "out" / "images") == image_bytes(data_yaml.parent / "images")
    assert_labels_close(yolo_labels(tmp_path / "out"), yolo_labels(data_yaml.parent))
    written = yaml.safe_load(out_yaml.read_text())
    assert written["names"] == dict(enumerate(CLASS_NAMES)) and written["task"] == task
    if task == "pose":
        assert written["kpt_shape"] == KPT_SHAPE and written["flip_idx"] == FLIP_IDX

    again = load_yolo_dataset(out_yaml, cache_dir=tmp_path / "cache")  # YAML's task: key settles obb vs segment
    assert read_metadata(again).task == task and again["train"].num_rows == ds["train"].num_rows


def test_absolute_pixel_schema(made, tmp_path):
    ds = load_yolo_dataset(made["detect"], cache_dir=tmp_path / "cache")
    line = (made["detect"].parent / "labels/train/train_00000.txt").read_text().split("\n")[0].split()
    cx, cy, w, h = (float(v) for v in line[1:])
    row = ds["train"][0]
    assert (row["width"], row["height"]) == (64, 48) and row["file_name"] == "train_00000.jpg"
    expected = [(cx - w / 2) * 64, (cy - h / 2) * 48, w * 64, h * 48]
    np.testing.assert_allclose(row["objects"]["bbox"][0], expected, atol=1e-4)
    assert row["objects"]["category"][0] == int(line[0])
    assert ds["train"].features["image"] == datasets.Image()
    assert isinstance(ds["train"].features["objects"]["bbox"], datasets.List)


def test_roundtrip_classify(made, tmp_path):
    ds = load_yolo_dataset(made["classify"], cache_dir=tmp_path / "cache")
    assert read_metadata(ds).task == "classify" and ds["train"].features["label"].names == CLASS_NAMES
    out = to_yolo_folder(ds, tmp_path / "out")
    assert out == tmp_path / "out"
    original = {k: v for k, v in image_bytes(made["classify"]).items()}
    exported = {k: v for k, v in image_bytes(out).items()}
    assert exported == original  # same split/class/file layout, same bytes
    again = load_yolo_dataset(out, cache_dir=tmp_path / "cache")
    assert again["validation"]["label"] == ds["validation"]["label"]


def test_list_files_and_bare_folder(tmp_path):
    data_yaml = make_yolo_dataset(tmp_path / "lists", "detect", layout="lists")
    ds = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    assert ds["train"].num_rows == 6 and ds["train"][0]["file_name"] == "train/train_00000.jpg"
    out = to_yolo_folder(ds, tmp_path / "out")
    assert (tmp_path / "out/images/train/train/train_00000.jpg").is_file()
    assert (tmp_path / "out/labels/train/train/train_00000.txt").is_file()
    assert load_yolo_dataset(out, cache_dir=tmp_path / "cache")["train"].num_rows == 6

    data_yaml.unlink()
    for f in (tmp_path / "lists").glob("*.txt"):
        f.unlink()
    bare = load_yolo_dataset(tmp_path / "lists", cache_dir=tmp_path / "cache")  # images/<split> without YAML
    assert sorted(bare) == ["train", "validation"] and read_metadata(bare).names == ["class_0", "class_1", "class_2"]


def test_num_proc_and_shards_give_identical_rows(tmp_path):
    data_yaml = make_yolo_dataset(tmp_path / "ds", "segment", splits={"train": 9, "val": 2})
    full = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "c1")
    parallel = load_yolo_dataset(data_yaml, num_proc=2, cache_dir=tmp_path / "c2")
    parts = [load_yolo_dataset(data_yaml, shard_index=i, num_shards=3, cache_dir=tmp_path / "c3") for i in range(3)]
    joined = datasets.concatenate_datasets([p["train"] for p in parts])
    reference = full["train"].with_format("arrow")[:]
    assert parallel["train"].with_format("arrow")[:].equals(reference)
    assert joined.with_format("arrow")[:].equals(reference)
    ids = [i for objects in full["train"]["objects"] for i in objects["id"]]
    assert ids and len(set(ids)) == len(ids)
    assert read_metadata(parallel).task == "segment"  # metadata kept on concatenated shards

    only_val = load_yolo_dataset(data_yaml, splits=["val"], cache_dir=tmp_path / "c4")
    assert list(only_val) == ["validation"]  # asked for by its data.yaml name
    assert list(load_yolo_dataset(data_yaml, splits=["validation"], cache_dir=tmp_path / "c4")) == ["validation"]
    with pytest.raises(DatasetFormatError, match=r"no split\(s\) \['holdout'\]"):
        load_yolo_dataset(data_yaml, splits=["holdout"], cache_dir=tmp_path / "c4")


def test_export_hub_style_dataset(tmp_path):
    """A cppe-5-like dataset from elsewhere: no file_name, int areas, one split, list-of-dicts objects."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (100, 50), (10, 20, 30)).save(buffer, "PNG")
    features = datasets.Features(
        {
            "image_id": datasets.Value("int64"),
            "image": datasets.Image(),
            "width": datasets.Value("int32"),
            "height": datasets.Value("int32"),
            "objects": datasets.List(
                {"bbox": datasets.List(datasets.Value("float32")), "category": datasets.ClassLabel(names=["a", "b"])}
            ),
        }
    )
    row = {"image_id": 7, "image": {"bytes": buffer.getvalue(), "path": None}, "width": 100, "height": 50,
           "objects": [{"bbox": [10.0, 5.0, 20.0, 10.0], "category": 1}, {"bbox": [90.0, 0.0, 20.0, 10.0], "category": 0}]}
    ds = datasets.Dataset.from_list([row], features=features)
    data_yaml = to_yolo_folder(ds, tmp_path / "out")
    written = yaml.safe_load(data_yaml.read_text())
    assert written["train"] == "images/train" and written["names"] == {0: "a", 1: "b"}
    assert "val" not in written  # no validation split: not silently pointed at the training images
    assert data_yaml.read_text().startswith("# This dataset has no validation split (splits: train)")
    assert (tmp_path / "out/images/train/000000000007.png").read_bytes() == buffer.getvalue()
    label = (tmp_path / "out/labels/train/000000000007.txt").read_text().split("\n")
    assert label[0] == "1 0.2 0.2 0.2 0.2"
    assert label[1] == "0 0.95 0.1 0.1 0.2"  # box sticking out of the image is clipped to it: x 90..100


def test_cache_is_reused(tmp_path, monkeypatch):
    data_yaml = make_yolo_dataset(tmp_path / "ds", "detect")
    first = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    import yolo_transformers.data.cache as cache

    monkeypatch.setattr(cache, "write_chunk", lambda job: pytest.fail("cache not reused"))
    second = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    assert second["train"].with_format("arrow")[:].equals(first["train"].with_format("arrow")[:])
    assert second.conversion_report.images == first.conversion_report.images
    (data_yaml.parent / "labels/train/train_00000.txt").write_text("0 0.5 0.5 0.1 0.1\n")  # changed: not reused
    monkeypatch.undo()
    third = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    assert len(third["train"][0]["objects"]["id"]) == 1


def test_metadata_survives_save_parquet_and_card_yaml(made, tmp_path):
    ds = load_yolo_dataset(made["pose"], cache_dir=tmp_path / "cache")
    ds.save_to_disk(tmp_path / "saved")
    assert read_metadata(datasets.load_from_disk(tmp_path / "saved")).flip_idx == FLIP_IDX

    ds["train"].to_parquet(tmp_path / "train.parquet")  # what push_to_hub uploads
    loaded = datasets.load_dataset("parquet", data_files=str(tmp_path / "train.parquet"), split="train")
    meta = read_metadata(loaded)
    assert (meta.task, meta.kpt_shape, meta.flip_idx, meta.names) == ("pose", KPT_SHAPE, FLIP_IDX, CLASS_NAMES)

    # push_to_hub writes the features into the card's YAML, and load_dataset reads them back from there
    card = datasets.info.DatasetInfosDict({"default": ds["train"].info})
    from huggingface_hub import DatasetCardData

    card_data = DatasetCardData()
    card.to_dataset_card_data(card_data)
    back = datasets.info.DatasetInfosDict.from_dataset_card_data(yaml.safe_load(yaml.safe_dump(card_data.to_dict())))
    assert back["default"].features == ds["train"].features
    assert back["default"].features["image_id"].id == ds["train"].features["image_id"].id

    stripped = loaded.cast(features_for_task("pose", CLASS_NAMES))  # metadata dropped: inferred instead
    stripped.info.description = ""
    assert read_metadata(stripped).kpt_shape == KPT_SHAPE


def test_overwrite_protection(made, tmp_path):
    ds = load_yolo_dataset(made["detect"], cache_dir=tmp_path / "cache")
    target = tmp_path / "out"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        to_yolo_folder(ds, target)
    assert (target / "precious.txt").read_text() == "keep me"
    to_yolo_folder(ds, target, overwrite=True)
    assert not (target / "precious.txt").exists() and (target / "data.yaml").is_file()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileExistsError):
        to_yolo_folder(ds, tmp_path / "afile", overwrite=True)
