"""from_coco: COCO instances JSON → DatasetDict (same schema as YOLO data) → YOLO folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.data_factory import CLASS_NAMES, KPT_SHAPE, make_coco_dataset
from yolo_transformers.data import from_coco, load_yolo_dataset, read_metadata, to_yolo_folder
from yolo_transformers.errors import DatasetFormatError


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_from_coco_and_export(tmp_path, task):
    ann_file, images = make_coco_dataset(tmp_path / "coco", task)
    coco = json.loads(ann_file.read_text())
    ds = from_coco(ann_file, images, cache_dir=tmp_path / "cache")
    train = ds["train"]
    meta = read_metadata(ds)
    assert meta.task == task and meta.names == CLASS_NAMES and meta.source_format == "coco"
    assert meta.extra["coco_category_ids"] == [1, 3, 7]
    assert train["image_id"] == [im["id"] for im in coco["images"]]
    assert ds.conversion_report.counts["crowd_annotation"] == 1 and ds.conversion_report.backgrounds["train"] == 1

    anns = [a for a in coco["annotations"] if not a["iscrowd"]]
    objects = [o for row in train["objects"] for o in zip(row["id"], row["category"], row["bbox"])]
    assert [o[0] for o in objects] == [a["id"] for a in anns]
    assert [o[1] for o in objects] == [{1: 0, 3: 1, 7: 2}[a["category_id"]] for a in anns]
    np.testing.assert_allclose([o[2] for o in objects], [a["bbox"] for a in anns], atol=1e-4)
    if task == "pose":
        assert meta.kpt_shape == KPT_SHAPE
        expected = np.reshape(anns[0]["keypoints"], (-1, 3))
        np.testing.assert_allclose(train[0]["objects"]["keypoints"][0], expected, atol=1e-4)

    out = to_yolo_folder(ds, tmp_path / "yolo")
    if task == "pose":
        assert yaml.safe_load(out.read_text())["kpt_names"][1] == ["p0", "p1", "p2", "p3"]
    back = load_yolo_dataset(out, cache_dir=tmp_path / "cache")
    assert read_metadata(back).task == task
    assert back["train"]["file_name"] == train["file_name"]
    for a, b in zip(back["train"]["objects"], train["objects"]):
        np.testing.assert_allclose(a["bbox"], b["bbox"], atol=1e-3)
        assert a["category"] == b["category"]
    raw = (images / train[0]["file_name"]).read_bytes()
    assert (tmp_path / "yolo/images/train" / train[0]["file_name"]).read_bytes() == raw


def test_from_coco_errors(tmp_path):
    ann_file, images = make_coco_dataset(tmp_path / "coco", "detect")
    coco = json.loads(ann_file.read_text())
    coco["annotations"][0]["category_id"] = 42
    ann_file.write_text(json.dumps(coco))
    with pytest.raises(DatasetFormatError, match="category_id 42 is not in 'categories'.*Fix:"):
        from_coco(ann_file, images, cache_dir=tmp_path / "cache")
    ds = from_coco(ann_file, images, strict=False, cache_dir=tmp_path / "cache")
    assert ds.conversion_report.counts["unknown_category"] == 1

    coco["annotations"][0]["category_id"] = 1
    ann_file.write_text(json.dumps(coco))
    (images / coco["images"][1]["file_name"]).unlink()
    with pytest.raises(DatasetFormatError, match="000001.jpg: .*No such file.*Fix: add the image"):
        from_coco(ann_file, images, cache_dir=tmp_path / "cache")
    ds = from_coco(ann_file, images, strict=False, cache_dir=tmp_path / "cache")
    assert ds["train"].num_rows == len(coco["images"]) - 1 and ds.conversion_report.counts["corrupt_image"] == 1
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DatasetFormatError, match="not a COCO instances file"):
        from_coco(tmp_path / "bad.json", images)
