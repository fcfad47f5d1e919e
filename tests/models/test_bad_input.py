"""Bad input gets a typed error that names the file and the fix."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from yolo_transformers import (
    CheckpointError,
    ConfigError,
    TaskMismatchError,
    UnsupportedTaskError,
    WeightsError,
    YoloForObjectDetection,
)
from yolo_transformers.convert import convert_checkpoint


@pytest.fixture
def folder(converted_tiny_detector, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(converted_tiny_detector, copy)
    return copy


def _rewrite_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def test_checkpoint_path_does_not_exist(tmp_path):
    with pytest.raises(CheckpointError, match=r"missing\.pt: no such file"):
        convert_checkpoint(tmp_path / "missing.pt")


def test_file_that_is_not_a_checkpoint(tmp_path):
    bogus = tmp_path / "notes.pt"
    bogus.write_text("these are my notes, not weights")
    with pytest.raises(CheckpointError, match=r"notes\.pt is not a PyTorch checkpoint"):
        convert_checkpoint(bogus)


def test_torch_file_that_is_not_an_ultralytics_model(tmp_path):
    state = tmp_path / "resnet_state.pt"
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}}, state)
    with pytest.raises(CheckpointError, match=r"resnet_state\.pt .*not an Ultralytics checkpoint.*best\.pt"):
        convert_checkpoint(state)


def test_truncated_safetensors(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(WeightsError, match=r"model\.safetensors is truncated"):
        YoloForObjectDetection.from_pretrained(folder)


def test_config_missing_fields(folder):
    _rewrite_config(folder, lambda c: c.pop("architecture"))
    with pytest.raises(ConfigError, match=r"config\.json has no 'architecture'"):
        YoloForObjectDetection.from_pretrained(folder)


@pytest.mark.parametrize(
    "field, value, message",
    [("stride", "8,16,32", "stride"), ("image_size", "large", "image_size"), ("max_det", 2.5, "max_det"),
     ("task", "tracking", "task")],
)
def test_config_wrong_types(folder, field, value, message):
    _rewrite_config(folder, lambda c: c.__setitem__(field, value))
    with pytest.raises(ConfigError, match=message) as error:
        YoloForObjectDetection.from_pretrained(folder)
    assert "config.json" in str(error.value)


def test_folder_without_weights(folder):
    (folder / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"has no model\.safetensors.*yolo_transformers\.convert"):
        YoloForObjectDetection.from_pretrained(folder)


def test_weights_that_do_not_fit_the_config(folder):
    def more_classes(config):
        config["architecture"]["nc"] = 5
        config["id2label"] = {str(i): f"c{i}" for i in range(5)}
        config["label2id"] = {f"c{i}": i for i in range(5)}

    _rewrite_config(folder, more_classes)
    with pytest.raises(WeightsError, match="do not fit config.json"):
        YoloForObjectDetection.from_pretrained(folder)


def test_ultralytics_pt_given_to_from_pretrained(tiny_detector_pt):
    with pytest.raises(CheckpointError, match="Convert it first"):
        YoloForObjectDetection.from_pretrained(tiny_detector_pt)


def test_classification_checkpoint_given_to_detection_class(yaml_checkpoint, folder):
    from ultralytics.nn.tasks import yaml_model_load

    def classification(config):
        config["task"] = "classify"
        config["architecture"] = yaml_model_load("yolo11n-cls.yaml")
        config["stride"] = [1]

    _rewrite_config(folder, classification)
    with pytest.raises(TaskMismatchError, match="'classify'.*YoloForObjectDetection"):
        YoloForObjectDetection.from_pretrained(folder)
    checkpoint = yaml_checkpoint("yolo11n-cls.yaml")
    try:
        convert_checkpoint(checkpoint, verify=False)
    except UnsupportedTaskError as error:  # until the classification class is registered
        assert "classify" in str(error)
