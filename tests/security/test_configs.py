"""Hostile ``config.json`` files (attack classes 4-5): nothing a config says runs, downloads or exhausts memory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from yolo_transformers import ConfigError, UnsafeConfigError, YoloConfig, YoloForObjectDetection


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


# ------------------------------------------------------------------- 4: layers that reach the network or disk
@pytest.mark.parametrize("layer", [
    ["TorchVision", [768, "convnext_tiny", "DEFAULT", True, 2, True]],  # downloads + unpickles torchvision weights
    ["Index", [768, 4]],
    ["WorldDetect", [2, 512, True]],
    ["RTDETRDecoder", [2]],
])
def test_layers_that_load_files_or_models_are_refused_offline(layer, hostile_config_folder, monkeypatch, marker):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(marker.parent))  # a poisoned torch.hub cache would live here
    _edit_config(hostile_config_folder, lambda c: c["architecture"]["backbone"].insert(0, [-1, 1, *layer]))
    with pytest.raises(UnsafeConfigError, match=layer[0]) as error:
        YoloForObjectDetection.from_pretrained(hostile_config_folder)
    assert "not an allowed Ultralytics layer" in str(error.value)
    assert not any(marker.parent.rglob("*.pth"))


def test_every_allowed_layer_has_a_reason():
    from yolo_transformers.network.architecture import ALLOWED_LAYERS

    assert "TorchVision" not in ALLOWED_LAYERS and "Conv" in ALLOWED_LAYERS
    assert all(isinstance(reason, str) and "no file, network or eval" in reason for reason in ALLOWED_LAYERS.values())


# -------------------------------------------------------------------------- 5: resource exhaustion
@pytest.mark.parametrize("bomb", ["width", "depth", "repeats", "nc", "channels-arg", "scales", "rows", "combined"])
def test_resource_bombs_are_refused_before_allocating(bomb, hostile_config_folder):
    import resource

    def edit(config):
        arch = config["architecture"]
        scale = arch.get("scale")
        if bomb == "width":
            arch["width_multiple"] = 1e6
        elif bomb == "depth":
            arch["depth_multiple"] = 1e6
        elif bomb == "repeats":
            arch["backbone"][2][1] = 10**9
        elif bomb == "nc":
            arch["nc"] = 10**9
        elif bomb == "channels-arg":
            arch["backbone"][0][3][0] = 10**7
        elif bomb == "scales":
            arch["scales"] = {scale or "n": [1.0, 1.0, 10**9]}
            arch["scale"] = scale or "n"
        elif bomb == "rows":
            arch["backbone"] = arch["backbone"] + [[-1, 1, "Conv", [16, 3, 1]]] * 5000
        else:  # every number in bounds, the product is not: ~1.2 G parameters per row
            arch.pop("scales", None)
            arch["width_multiple"], arch["depth_multiple"] = 1.0, 1.0
            arch["backbone"] = arch["backbone"][:2] + [[-1, 8, "C2f", [8192, True]]] * 6 + arch["backbone"][2:]

    _edit_config(hostile_config_folder, edit)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with pytest.raises(ConfigError):
        YoloForObjectDetection.from_pretrained(hostile_config_folder)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before < 512


def test_official_architectures_up_to_x_scale_are_within_the_limits():
    """Every served official model.yaml, at every scale it defines, passes (limits documented in the README)."""
    import yaml
    from ultralytics.cfg import ROOT

    from yolo_transformers.network.architecture import validate_architecture
    from yolo_transformers.network.limits import MAX_ACTIVATIONS, MAX_PARAMETERS, check_resources

    checked = 0
    for name in ("v8/yolov8.yaml", "v8/yolov8-seg.yaml", "v8/yolov8-pose.yaml", "v8/yolov8-obb.yaml",
                 "v8/yolov8-cls.yaml", "11/yolo11.yaml", "26/yolo26.yaml", "26/yolo26-sem.yaml",
                 "26/yolo26-depth.yaml", "v5/yolov5-p6.yaml", "v6/yolov6.yaml", "v9/yolov9e-seg.yaml",
                 "v10/yolov10x.yaml", "12/yolo12.yaml", "v3/yolov3-spp.yaml"):
        base = yaml.safe_load((ROOT / "cfg" / "models" / name).read_text())
        base.setdefault("nc", 80)
        for scale in list(base.get("scales") or [None]):
            architecture = {**base, **({"scale": scale} if scale else {})}
            validate_architecture(architecture)
            parameters, activations = check_resources(architecture, 3)
            assert parameters < MAX_PARAMETERS / 4 and activations < MAX_ACTIVATIONS / 2, (name, scale)
            checked += 1
    assert checked >= 40
