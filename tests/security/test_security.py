"""Nothing a config or checkpoint says may run code: hostile inputs are refused before they execute."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from yolo_transformers import UnsafeCheckpointError, UnsafeConfigError, YoloConfig, YoloForObjectDetection
from yolo_transformers.convert.checkpoint import load_checkpoint
from yolo_transformers.convert import convert_checkpoint


class _RunsShell:
    """Pickles to ``os.system(command)``: unpickling it runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class CustomBlock(torch.nn.Module):
    """A module class outside Ultralytics and torch, as a custom training fork would pickle."""


@pytest.fixture
def hostile_config_folder(converted_tiny_detector, tmp_path):
    folder = tmp_path / "hostile"
    shutil.copytree(converted_tiny_detector, folder)
    return folder


def _edit_config(folder: Path, edit) -> None:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def test_activation_expression_is_refused_and_never_runs(hostile_config_folder, tmp_path):
    marker = tmp_path / "pwned-by-activation"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or __import__('torch').nn.SiLU()"
    _edit_config(hostile_config_folder, lambda c: c["architecture"].update(activation=payload))
    with pytest.raises(UnsafeConfigError, match="activation") as error:
        YoloForObjectDetection.from_pretrained(hostile_config_folder)
    assert "config.json" in str(error.value)
    assert not marker.exists()
    with pytest.raises(UnsafeConfigError):
        YoloConfig.from_pretrained(hostile_config_folder)
    assert not marker.exists()


@pytest.mark.parametrize("module", ["os.system", "__import__('os').system", "torchvision.ops.nms", "nn.Module",
                                    "eval"])
def test_unknown_module_names_are_refused(module, hostile_config_folder):
    _edit_config(hostile_config_folder, lambda c: c["architecture"]["backbone"][0].__setitem__(2, module))
    with pytest.raises(UnsafeConfigError, match="module"):
        YoloForObjectDetection.from_pretrained(hostile_config_folder)


def test_allowed_activation_still_builds(hostile_config_folder):
    _edit_config(hostile_config_folder, lambda c: c["architecture"].update(activation="nn.LeakyReLU(0.1)"))
    model = YoloForObjectDetection.from_pretrained(hostile_config_folder)
    assert isinstance(model.model.model[0].act, torch.nn.LeakyReLU)


def test_checkpoint_calling_os_system_is_refused_before_it_runs(tiny_detector_pt, tmp_path):
    marker = tmp_path / "pwned-by-pickle"
    ckpt = torch.load(tiny_detector_pt, map_location="cpu", weights_only=False)  # our own fixture, trusted
    ckpt["train_args"] = {"imgsz": 128, "note": _RunsShell(f"touch {marker}")}
    hostile = tmp_path / "hostile.pt"
    torch.save(ckpt, hostile)
    with pytest.raises(UnsafeCheckpointError, match=r"(posix|os)\.system") as error:
        load_checkpoint(hostile)
    assert "Nothing was run" in str(error.value)
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError):
        convert_checkpoint(hostile, tmp_path / "out")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_custom_module_needs_trust_flag(tiny_detector_pt, tmp_path, caplog):
    ckpt = torch.load(tiny_detector_pt, map_location="cpu", weights_only=False)
    ckpt["extra"] = CustomBlock()
    custom = tmp_path / "custom.pt"
    torch.save(ckpt, custom)
    with pytest.raises(UnsafeCheckpointError, match="CustomBlock"):
        load_checkpoint(custom)
    with caplog.at_level("WARNING"):
        source = load_checkpoint(custom, trust_checkpoint=True)
    assert "trust-checkpoint" in caplog.text
    assert source.task == "detect"
