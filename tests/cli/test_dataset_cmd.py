"""``yolo-hf dataset convert / push / pull`` and the ``conversion/publish_dataset.py`` recipe."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import datasets
import pytest

from tests.data_factory import make_yolo_dataset
from tests.helpers import REPO_ROOT, assert_labels_close, image_bytes, yolo_labels
from yolo_transformers.cli import main
from yolo_transformers.data import read_metadata

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")

_RECIPE = REPO_ROOT / "conversion" / "publish_dataset.py"


@pytest.fixture
def source(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))  # conversion cache per test
    return make_yolo_dataset(tmp_path / "src", "pose", splits={"train": 5, "val": 2})


def test_help_lists_commands_and_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["dataset", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "yolo-hf dataset push coco8/data.yaml" in out
    for command in ("convert", "push", "pull"):
        with pytest.raises(SystemExit):
            main(["dataset", command, "--help"])
        assert "examples:" in capsys.readouterr().out
    assert main(["dataset"]) == 2


def test_convert_saves_arrow(source, tmp_path, capsys):
    assert main(["dataset", "convert", str(source), "--output", str(tmp_path / "arrow")]) == 0
    assert "saved train 5, validation 2 images" in capsys.readouterr().out
    loaded = datasets.load_from_disk(str(tmp_path / "arrow"))
    assert {k: len(v) for k, v in loaded.items()} == {"train": 5, "validation": 2}
    assert read_metadata(loaded).kpt_shape == [4, 3]

    assert main(["dataset", "convert", str(source), "--output", str(tmp_path / "arrow")]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["dataset", "convert", str(source), "--output", str(tmp_path / "arrow"), "--overwrite"]) == 0


def test_convert_bad_data_is_a_one_line_error_and_lenient_prints_counts(source, tmp_path, capsys):
    label = source.parent / "labels" / "train" / "train_00001.txt"
    label.write_text("7 0.5 0.5 0.2 0.2" + " 0.5" * 12 + "\n")
    assert main(["dataset", "convert", str(source), "--output", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("yolo-hf dataset: error: ") and "train_00001.txt" in err[0]
    assert not (tmp_path / "a").exists()

    assert main(["dataset", "convert", str(source), "--output", str(tmp_path / "a"), "--lenient"]) == 0
    assert "lenient conversion skipped or clipped: " in capsys.readouterr().out


def test_push_and_pull(hub_server, hub_repo_name, source, tmp_path, capfd):
    token = hub_server.token("alice")
    repo_id = hub_repo_name()

    assert main(["dataset", "push", str(source), "--repo", repo_id, "--token", token, "--tag", "v1",
                 "--license", "mit", "--private"]) == 0
    out = capfd.readouterr()
    assert f"{hub_server.endpoint}/datasets/{repo_id}" in out.out and "tagged v1" in out.out
    assert token not in out.out + out.err
    assert hub_server.repo(repo_id, repo_type="dataset").private

    assert main(["dataset", "pull", "--repo", repo_id, "--output", str(tmp_path / "pulled"), "--revision", "v1",
                 "--token", token]) == 0
    out = capfd.readouterr()
    assert out.out.strip() == str((tmp_path / "pulled" / "data.yaml").resolve()) and token not in out.out + out.err
    assert image_bytes(tmp_path / "pulled" / "images") == image_bytes(source.parent / "images")
    assert_labels_close(yolo_labels(tmp_path / "pulled"), yolo_labels(source.parent))

    assert main(["dataset", "pull", "--repo", repo_id, "--output", str(tmp_path / "bob"),
                 "--token", hub_server.token("bob")]) == 1
    assert "not found, or private" in capfd.readouterr().err


def test_push_lenient_prints_counts_and_strict_pushes_nothing(hub_server, hub_repo_name, source, capfd):
    (source.parent / "labels" / "val" / "val_00000.txt").write_text("0 1.5 0.5 0.2 0.2" + " 0.5" * 12 + "\n")
    repo_id = hub_repo_name()
    token = hub_server.token("alice")
    with hub_server.capture_requests() as seen:
        assert main(["dataset", "push", str(source), "--repo", repo_id, "--token", token]) == 1
    assert seen == [] and "val_00000.txt" in capfd.readouterr().err

    assert main(["dataset", "push", str(source), "--repo", repo_id, "--token", token, "--lenient"]) == 0
    out = capfd.readouterr().out
    assert "lenient conversion skipped or clipped: " in out and token not in out


def test_publish_dataset_recipe(hub_server, hub_repo_name, tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("publish_dataset", _RECIPE)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    # coco8's layout (images/{train,val}, labels/{train,val}) with class ids among COCO's 80
    root = make_yolo_dataset(tmp_path / "coco8", "detect", splits={"train": 4, "val": 4}).parent
    (root / "data.yaml").unlink()  # the real zip has no YAML: names come from ultralytics/cfg/datasets/coco8.yaml
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))

    assert recipe.main(["--dataset", "coco8", "--help-download"]) == 0
    assert capsys.readouterr().out.strip().endswith("coco8.zip")
    assert recipe.main(["--dataset", "coco8", "--root", str(root), "--dry-run", str(tmp_path / "preview")]) == 0
    assert "| 0 | person |" in (tmp_path / "preview" / "README.md").read_text()

    repo_id = hub_repo_name()
    assert recipe.main(["--dataset", "coco8", "--root", str(root), "--repo", repo_id, "--license", "cc-by-4.0",
                        "--token", hub_server.token("alice")]) == 0
    files = hub_server.files(repo_id, repo_type="dataset")
    assert "samples.png" in files and b"license: cc-by-4.0" in files["README.md"]
    assert read_metadata(datasets.load_dataset(repo_id, token=hub_server.token("alice"))).names[:2] == [
        "person", "bicycle"]
