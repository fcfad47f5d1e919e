"""Hostile datasets (attack classes 8-10): an exported YOLO folder holds only checked keys, image bytes and names
inside it, and a refused dataset leaves nothing behind."""

from __future__ import annotations

import datasets
import pytest
import yaml

from tests.data_factory import make_yolo_dataset
from tests.helpers import HUB_WARNINGS
from yolo_transformers.data import load_yolo_dataset, to_yolo_folder
from yolo_transformers.data.metadata import YoloMetadata, attach_metadata, read_metadata
from yolo_transformers.errors import DatasetFormatError
from yolo_transformers.hub import pull_dataset

pytestmark = HUB_WARNINGS


@pytest.fixture
def clean(tmp_path) -> datasets.DatasetDict:
    source = make_yolo_dataset(tmp_path / "src", "detect", splits={"train": 3, "val": 2})
    return load_yolo_dataset(source, cache_dir=tmp_path / "cache")


def _with_metadata(dataset: datasets.DatasetDict, **changes) -> datasets.DatasetDict:
    meta = read_metadata(dataset)
    hostile = YoloMetadata(**{**meta.__dict__, **changes})
    return datasets.DatasetDict({k: v.cast(attach_metadata(v.features, hostile)) for k, v in dataset.items()})


def _assert_nothing_written(parent, name: str) -> None:
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{name}.")]  # no temporary folder left


def test_data_yaml_holds_only_known_keys(clean, tmp_path, marker, monkeypatch):
    payload = f"import pathlib; pathlib.Path({str(marker)!r}).touch()"
    hostile = _with_metadata(clean, extra={"download": payload, "path": "/etc", "kpt_names": {"0": ["a"]},
                                           "channels": 3, "val": "https://attacker.example/x.zip"})
    data_yaml = to_yolo_folder(hostile, tmp_path / "out")
    content = yaml.safe_load(data_yaml.read_text())
    assert set(content) == {"train", "val", "names", "task", "kpt_names", "channels"}
    assert content["val"] == "images/val" and content["kpt_names"] == {0: ["a"]}
    assert "attacker" not in data_yaml.read_text() and "pathlib" not in data_yaml.read_text()
    import ultralytics.data.utils as data_utils
    from ultralytics.data.utils import check_det_dataset

    monkeypatch.setattr(data_utils, "check_font", lambda *a, **k: None)  # it fetches a font, whatever the yaml says
    assert check_det_dataset(str(data_yaml), autodownload=True)["nc"] == len(content["names"])  # runs nothing


@pytest.mark.parametrize("field", ["task", "kpt_shape", "flip_idx"])
def test_malformed_metadata_values_are_refused_before_writing(field, clean, tmp_path):
    changes = {"task": {"task": "detect; rm -rf /"},
               "kpt_shape": {"task": "pose", "kpt_shape": [10**9, 3]},
               "flip_idx": {"task": "pose", "kpt_shape": [2, 3], "flip_idx": [0, 99]}}[field]
    with pytest.raises(DatasetFormatError):
        to_yolo_folder(_with_metadata(clean, **changes), tmp_path / "out")
    _assert_nothing_written(tmp_path, "out")


def test_class_names_must_be_short_strings():
    """ClassLabel names are authoritative and always strings; the check also covers metadata built by hand."""
    from yolo_transformers.data.export_checks import checked_yaml_fields

    for names in (["ok", 3], ["x" * 10_000], []):
        with pytest.raises(DatasetFormatError, match="class names"):
            checked_yaml_fields(YoloMetadata(task="detect", names=names))


def test_images_come_from_bytes_only(clean, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 private file of the user")
    train = clean["train"].cast_column("image", datasets.Image(decode=False))
    rows = train.to_list()
    rows[0]["image"] = {"bytes": None, "path": str(secret)}
    hostile = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows, features=train.features),
                                    "val": clean["val"]})
    with pytest.raises(DatasetFormatError, match="no bytes, only a path"):
        to_yolo_folder(hostile, tmp_path / "out")
    _assert_nothing_written(tmp_path, "out")
    assert not any(p.read_bytes() == secret.read_bytes() for p in tmp_path.rglob("*.jpg") if p != secret)


@pytest.mark.parametrize("split", ["../../escaped", "/abs", "a/../../b", "..", "", "val\n", "c:evil"])
def test_split_names_cannot_leave_the_output(split, clean, tmp_path):
    hostile = datasets.DatasetDict({"train": clean["train"], split: clean["val"]})
    with pytest.raises(DatasetFormatError, match="split name"):
        to_yolo_folder(hostile, tmp_path / "work" / "out")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "work").exists()


@pytest.mark.parametrize("name", ["../../escaped.jpg", "/etc/passwd.jpg", "a/../../b.jpg", ".hidden.jpg",
                                  "x\x00.jpg", "dir\\..\\..\\e.jpg"])
def test_file_names_cannot_leave_the_output(name, clean, tmp_path):
    train = clean["train"].map(lambda row, i: {"file_name": name if i == 0 else row["file_name"]},
                               with_indices=True)
    with pytest.raises(DatasetFormatError, match="file_name"):
        to_yolo_folder(datasets.DatasetDict({"train": train}), tmp_path / "out")
    _assert_nothing_written(tmp_path, "out")
    assert not (tmp_path / "escaped.jpg").exists() and not (tmp_path.parent / "escaped.jpg").exists()


@pytest.mark.parametrize("class_name", ["..", "../up", ".hidden", "a/b", "tab\there"])
def test_class_folder_names_are_checked(class_name, tmp_path):
    from yolo_transformers.data.export_checks import class_folder

    with pytest.raises(DatasetFormatError, match="class name"):
        class_folder(class_name)


def test_pulled_hostile_dataset_writes_only_checked_keys(hub_server, hub_repo_name, clean, tmp_path, marker):
    """Through the Hub: metadata in the Parquet schema names a download script; the pull drops it."""
    repo_id = hub_repo_name()
    hostile = _with_metadata(clean, extra={"download": f"__import__('os').system('touch {marker}')",
                                           "path": "../../outside"})
    hostile.push_to_hub(repo_id, token=hub_server.token("alice"))
    data_yaml = pull_dataset(repo_id, tmp_path / "pulled", token=hub_server.token("alice"))
    content = yaml.safe_load(data_yaml.read_text())
    assert "download" not in content and "path" not in content
    assert data_yaml.resolve().is_relative_to((tmp_path / "pulled").resolve())
