"""Hostile Hub repos (attack classes 6-7): only model.safetensors is ever loaded, and a pulled ``.pt`` carries no
dataset URL or path for Ultralytics to follow."""

from __future__ import annotations

import io
import json

import pytest
import torch
from transformers import pipeline

from tests.helpers import HUB_WARNINGS
from tests.security.corpus import Reduce, touch_command
from yolo_transformers import WeightsError, YoloForObjectDetection
from yolo_transformers.errors import HubError
from yolo_transformers.hub import download_model, upload_model

pytestmark = HUB_WARNINGS


def _upload(hub_server, repo_id: str, files: dict[str, bytes]) -> None:
    api = hub_server.api("alice")
    api.create_repo(repo_id, exist_ok=True)
    from huggingface_hub import CommitOperationAdd

    api.create_commit(repo_id, [CommitOperationAdd(name, io.BytesIO(data)) for name, data in files.items()],
                      commit_message="hostile")


@pytest.fixture
def pickle_only_repo(hub_server, hub_repo_name, converted_tiny_detector, marker):
    """A repo with a valid config.json and only a pytorch_model.bin whose pickle would touch the marker."""
    import os

    repo_id = hub_repo_name()
    buffer = io.BytesIO()
    torch.save({"weights": Reduce(os.system, touch_command(marker))}, buffer)
    _upload(hub_server, repo_id, {"config.json": (converted_tiny_detector / "config.json").read_bytes(),
                                  "preprocessor_config.json":
                                      (converted_tiny_detector / "preprocessor_config.json").read_bytes(),
                                  "pytorch_model.bin": buffer.getvalue()})
    return repo_id


def test_from_pretrained_of_a_pickle_only_repo_is_a_typed_error(pickle_only_repo):
    with pytest.raises(WeightsError, match=r"model\.safetensors.*pytorch_model\.bin|pytorch_model\.bin.*never"):
        YoloForObjectDetection.from_pretrained(pickle_only_repo)
    with pytest.raises(WeightsError):
        YoloForObjectDetection.from_pretrained(pickle_only_repo, use_safetensors=False)


def test_pipeline_of_a_pickle_only_repo_is_a_typed_error(pickle_only_repo):
    import yolo_transformers  # noqa: F401 - registers the model type

    # transformers' pipeline re-raises each model class's error inside one ValueError: ours is quoted in it
    with pytest.raises(ValueError, match=r"WeightsError: .* has no model\.safetensors: only safetensors"):
        pipeline("object-detection", model=pickle_only_repo)


def test_download_model_of_a_pickle_only_repo_is_a_typed_error(pickle_only_repo, tmp_path):
    with pytest.raises(HubError, match="safetensors"):
        download_model(pickle_only_repo, local_dir=tmp_path / "out")
    with pytest.raises(HubError, match="safetensors"):
        download_model(pickle_only_repo, format="ultralytics", local_dir=tmp_path / "pt")
    assert not (tmp_path / "out").exists() and not (tmp_path / "pt").exists()  # nothing half-written
    assert [p.name for p in tmp_path.iterdir()] == []


def test_pulled_checkpoint_carries_no_dataset_url_or_path(hub_server, hub_repo_name, converted_tiny_detector,
                                                          tmp_path, marker):
    """train_args of a repo's config.json name an attacker's dataset: the .pt written for Ultralytics drops them."""
    folder = tmp_path / "hostile"
    import shutil

    shutil.copytree(converted_tiny_detector, folder)
    config = json.loads((folder / "config.json").read_text())
    config["train_args"] = {**config.get("train_args", {}), "data": "https://attacker.example/evil.zip",
                            "project": "../../outside", "save_dir": "/etc", "model": "https://attacker.example/m.pt",
                            "single_cls": "yes"}
    config["architecture"]["yaml_file"] = "https://attacker.example/model.yaml"
    (folder / "config.json").write_text(json.dumps(config))
    repo_id = hub_repo_name()
    upload_model(folder, repo_id, token=hub_server.token("alice"))
    checkpoint = download_model(repo_id, format="ultralytics", local_dir=tmp_path / "pulled")
    assert checkpoint.parent == tmp_path / "pulled"
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)  # our own output
    assert ckpt["train_args"] == {"imgsz": config["image_size"], "task": "detect"}
    assert "yaml_file" not in ckpt["model"].yaml
    text = checkpoint.read_bytes()
    assert b"attacker.example" not in text and b"/etc" not in text and b"outside" not in text
    from ultralytics import YOLO

    yolo = YOLO(str(checkpoint))
    assert yolo.overrides.get("data") is None  # Ultralytics' default: nothing to download or run
