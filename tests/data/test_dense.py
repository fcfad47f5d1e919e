"""Semantic-segmentation (``masks_dir``) and depth datasets: load, validate, round trip, card, Hub, CLI.

The layouts are Ultralytics 8.4's (``cityscapes8.yaml``, ``depth8.yaml``); Ultralytics' own ``SemanticDataset`` and
``DepthDataset`` read our exports, so "round trip" means both byte-identical files and Ultralytics agreeing.
"""

from __future__ import annotations

import io
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from PIL import Image

from tests.data_factory import DEPTH_SCALE, SEMANTIC_NAMES, make_dense_dataset, make_yolo_dataset
from tests.helpers import HUB_WARNINGS, image_bytes
from yolo_transformers.cards.dataset_card import dataset_stats, generate_dataset_card
from yolo_transformers.cli import main
from yolo_transformers.data import load_yolo_dataset, read_metadata, to_yolo_folder
from yolo_transformers.data.dense import decode_depth, decode_mask
from yolo_transformers.data.samples import save_samples_grid
from yolo_transformers.errors import DatasetFormatError
from yolo_transformers.hub import pull_dataset, push_dataset

_TARGET_DIR = {"semantic": "masks", "depth": "depth"}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_semantic_dataset_is_not_read_as_detection(tmp_path):
    """Regression: a ``masks_dir`` dataset used to load as detection with zero objects, its masks dropped."""
    data_yaml = make_dense_dataset(tmp_path / "sem", "semantic")
    ds = load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    assert read_metadata(ds).task == "semantic" and read_metadata(ds).names == SEMANTIC_NAMES
    assert "objects" not in ds["train"].features and ds["train"].features["annotation"] == datasets.Image()
    row = ds["train"].with_format("arrow")[:1]
    mask_file = data_yaml.parent / "masks" / "train" / row["annotation"][0].as_py()["path"]
    assert row["annotation"][0].as_py()["bytes"] == mask_file.read_bytes()
    ids = decode_mask(mask_file.read_bytes(), "m")
    assert set(np.unique(ids)) <= {0, 1, 2, 3, 255} and (ids[0] == 255).all()  # the generator's ignore frame


@pytest.mark.parametrize("task,depth_format", [("semantic", "png"), ("depth", "png"), ("depth", "npy")])
def test_round_trip_byte_identical_and_ultralytics_reads_export(tmp_path, task, depth_format):
    source = make_dense_dataset(tmp_path / "src", task, depth_format=depth_format, masks_dir="sem_masks"
                                if task == "semantic" else "masks")
    ds = load_yolo_dataset(source, cache_dir=tmp_path / "cache")
    assert {k: len(v) for k, v in ds.items()} == {"train": 6, "val": 3}
    if depth_format == "npy":
        assert ds["train"].features["depth_map"] == datasets.Value("binary")

    out_yaml = to_yolo_folder(ds, tmp_path / "out")
    written = yaml.safe_load(out_yaml.read_text())
    assert written["task"] == task
    assert image_bytes(out_yaml.parent / "images") == image_bytes(source.parent / "images")
    src_targets = source.parent / ("sem_masks" if task == "semantic" else "depth")
    assert _files(out_yaml.parent / _TARGET_DIR[task]) == _files(src_targets)  # masks/depth maps byte-identical
    if task == "semantic":
        assert written["masks_dir"] == "masks" and written["names"] == dict(enumerate(SEMANTIC_NAMES))
    else:
        assert written["depth_scale"] == DEPTH_SCALE

    from ultralytics.data.dataset import DepthDataset, SemanticDataset
    from ultralytics.data.utils import check_det_dataset

    data = check_det_dataset(str(out_yaml))
    kind = SemanticDataset if task == "semantic" else DepthDataset
    theirs = kind(img_path=data["train"], data=data, imgsz=64, augment=False, cache=False, task=task)
    assert len(theirs) == 6  # Ultralytics finds every mask / depth map of the export
    i = theirs.im_files.index(str(out_yaml.parent / "images" / "train" / "train_00001.jpg"))
    if task == "semantic":
        value = ds["train"].with_format("arrow")[1:2]["annotation"][0].as_py()
        np.testing.assert_array_equal(theirs.load_mask(i), decode_mask(value["bytes"], "m"))
    else:
        value = ds["train"].with_format("arrow")[1:2]["depth_map"][0].as_py()
        np.testing.assert_allclose(theirs._load_depth(i), decode_depth(value, DEPTH_SCALE), atol=1e-6)

    again = load_yolo_dataset(out_yaml, cache_dir=tmp_path / "cache")
    assert read_metadata(again).task == task and again["val"].num_rows == 3


def _semantic(tmp_path: Path) -> Path:
    return make_dense_dataset(tmp_path / "sem", "semantic", splits={"train": 3, "val": 2})


def test_mask_with_unknown_class_names_file_and_values(tmp_path):
    data_yaml = _semantic(tmp_path)
    bad = data_yaml.parent / "masks" / "train" / "train_00001.png"
    mask = np.asarray(Image.open(bad)).copy()
    mask[5, 5] = 9
    Image.fromarray(mask).save(bad)
    with pytest.raises(DatasetFormatError, match=r"train_00001\.png: mask ids \[9\] are not class ids 0\.\.3"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    lenient = load_yolo_dataset(data_yaml, strict=False, cache_dir=tmp_path / "cache")
    assert lenient["train"].num_rows == 2 and lenient.conversion_report.counts["bad_target"] == 1
    # label_mapping (Cityscapes-style raw ids) is applied before the check, like Ultralytics
    spec = yaml.safe_load(data_yaml.read_text())
    data_yaml.write_text(yaml.safe_dump({**spec, "label_mapping": {9: "ignore_label"}}))
    assert load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")["train"].num_rows == 3


@pytest.mark.parametrize("problem,message", [
    ("missing", r"train_00000\.png: mask missing for its image"),
    ("size", r"train_00000\.png: mask is 32x48, its image 64x48"),
    ("rgb", r"train_00000\.png: mask mode RGB is not a single-channel"),
])
def test_bad_masks_are_refused_with_the_file(tmp_path, problem, message):
    data_yaml = _semantic(tmp_path)
    mask = data_yaml.parent / "masks" / "train" / "train_00000.png"
    if problem == "missing":
        mask.unlink()
    elif problem == "size":
        Image.new("L", (32, 48)).save(mask)
    else:
        Image.new("RGB", (64, 48)).save(mask)
    with pytest.raises(DatasetFormatError, match=message):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")


def test_bad_depth_maps_and_keys_are_refused(tmp_path):
    data_yaml = make_dense_dataset(tmp_path / "d", "depth", splits={"train": 2, "val": 1})
    depth = data_yaml.parent / "depth" / "train" / "train_00000.png"
    Image.new("L", (64, 48)).save(depth)  # 8-bit: not a depth PNG
    with pytest.raises(DatasetFormatError, match=r"train_00000\.png: depth map is PNG mode L, not a 16-bit"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    Image.fromarray(np.ones((48, 32), np.uint16)).save(depth)
    with pytest.raises(DatasetFormatError, match=r"train_00000\.png: depth map 32x48 does not match the aspect"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    np.save(depth.with_suffix(".npy"), np.ones((48, 64), np.float32))
    depth.unlink()
    with pytest.raises(DatasetFormatError, match=r"mix \.png and \.npy"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    spec = yaml.safe_load(data_yaml.read_text())
    data_yaml.write_text(yaml.safe_dump({**spec, "depth_scale": -1}))
    with pytest.raises(DatasetFormatError, match=r"data\.yaml: depth_scale -1 must be a positive number"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    data_yaml.write_text(yaml.safe_dump({**spec, "masks_dir": "../../etc", "task": "semantic"}))
    with pytest.raises(DatasetFormatError, match=r"masks_dir '\.\./\.\./etc' must be one folder name"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")


def test_unknown_dataset_kind_is_refused(tmp_path):
    data_yaml = make_yolo_dataset(tmp_path / "x", "detect", splits={"train": 2, "val": 1})
    spec = yaml.safe_load(data_yaml.read_text())
    data_yaml.write_text(yaml.safe_dump({**spec, "task": "panoptic"}))
    with pytest.raises(DatasetFormatError, match=r"task 'panoptic' is not a dataset kind this package reads"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    # images plus an annotation folder we do not know, and no label file at all: refused, not zero objects
    data_yaml.write_text(yaml.safe_dump(spec))
    (data_yaml.parent / "labels").rename(data_yaml.parent / "instances")
    with pytest.raises(DatasetFormatError, match=r"folder\(s\) \['instances'\] beside images/: this dataset kind is"):
        load_yolo_dataset(data_yaml, cache_dir=tmp_path / "cache")
    forced = load_yolo_dataset(data_yaml, task="detect", cache_dir=tmp_path / "cache")  # the user's explicit choice
    assert sum(len(o["id"]) for o in forced["train"]["objects"]) == 0


@pytest.mark.parametrize("task", ["semantic", "depth"])
def test_card_and_sample_grid_overlay(tmp_path, task):
    ds = load_yolo_dataset(make_dense_dataset(tmp_path / task, task), cache_dir=tmp_path / "cache")
    card = generate_dataset_card(ds, repo_id="me/dense")
    assert card.data.task_categories == [{"semantic": "image-segmentation", "depth": "depth-estimation"}[task]]
    assert "annotated object" not in card.text and "| train | 6 |" in card.text
    stats = dataset_stats(ds)
    if task == "semantic":
        assert card.data.task_ids == ["semantic-segmentation"] and stats.instances["train"][0] == 6
        assert "`annotation` | Image" in card.text and "yolo semantic train" in card.text
    else:
        assert "PNG value / 1000 = metres" in card.text and "`depth_map`" in card.text

    plain = tmp_path / "plain"
    to_yolo_folder(ds, plain)
    grid = Image.open(save_samples_grid(ds, tmp_path / "grid.png")).convert("RGB")
    first = Image.open(plain / "images" / "train" / "train_00000.jpg").convert("RGB")
    # the overlay changes the picture: the first tile (scaled 4x, at the grid's 4-pixel gap) differs from the image
    tile = np.asarray(grid)[4:4 + 192, 4:4 + 256].astype(int)
    raw = np.asarray(first.resize((256, 192), Image.BILINEAR)).astype(int)
    assert np.abs(tile - raw).mean() > 20


@pytest.mark.parametrize("task", ["semantic", "depth"])
@HUB_WARNINGS
def test_push_load_pull_round_trip(hub_server, hub_repo_name, tmp_path, task):
    token = hub_server.token("alice")
    source = make_dense_dataset(tmp_path / "src", task)
    repo_id = hub_repo_name()
    push_dataset(source, repo_id, token=token, cache_dir=tmp_path / "cache")

    loaded = datasets.load_dataset(repo_id, token=token)
    meta = read_metadata(loaded)
    assert meta.task == task and {k: len(v) for k, v in loaded.items()} == {"train": 6, "val": 3}
    if task == "semantic":  # the Hub convention: the mask decodes as a PIL image of class ids
        assert np.asarray(loaded["train"][0]["annotation"]).shape == (48, 64)
    else:
        assert decode_depth(loaded["train"][0]["depth_map"], DEPTH_SCALE).max() == pytest.approx(4.0, abs=0.05)

    data_yaml = pull_dataset(repo_id, tmp_path / "pulled", token=token)
    assert image_bytes(data_yaml.parent / "images") == image_bytes(source.parent / "images")
    assert _files(data_yaml.parent / _TARGET_DIR[task]) == _files(source.parent / _TARGET_DIR[task])


def test_cli_convert_semantic(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    source = make_dense_dataset(tmp_path / "src", "semantic")
    assert main(["dataset", "convert", str(source), "--output", str(tmp_path / "arrow")]) == 0
    assert "saved train 6, val 3 images" in capsys.readouterr().out
    loaded = datasets.load_from_disk(str(tmp_path / "arrow"))
    assert read_metadata(loaded).task == "semantic"
    raw = loaded["val"].with_format("arrow")[:1]["annotation"][0].as_py()["bytes"]
    assert raw == (source.parent / "masks" / "val" / "val_00000.png").read_bytes()
    assert Image.open(io.BytesIO(raw)).mode == "L"
