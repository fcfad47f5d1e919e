"""Re-heading: ``from_pretrained(..., id2label=..., ignore_mismatched_sizes=True)`` / ``num_labels=`` for every task.

The class-dependent layers are rebuilt for the new class count and initialised as Ultralytics initialises a fresh
network of that class count (the detection heads' prior biases compared with Ultralytics' own), every other
tensor is kept bit for bit, transformers reports the re-initialised keys, ``architecture.nc`` follows, and the
result round-trips through ``save_pretrained``/``from_pretrained`` into a pipeline that speaks the new names.
"""

from __future__ import annotations

import copy
import logging
import math

import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModel, pipeline
from transformers.pipelines import SUPPORTED_TASKS

from yolo_transformers import ConfigError, WeightsError, YoloConfig, YoloForObjectDetection
from yolo_transformers.network.architecture import network_class_for_task
from yolo_transformers.tasks import task_spec

NEW_NAMES = {0: "cat", 1: "dog", 2: "bird", 3: "fish", 4: "horse"}
NEW_IDS = {name: i for i, name in NEW_NAMES.items()}

TASK_MODELS = [
    ("detect", "yolov8n.yaml"), ("detect", "yolo26n.yaml"), ("segment", "yolo11n-seg.yaml"),
    ("pose", "yolo11n-pose.yaml"), ("obb", "yolo11n-obb.yaml"), ("classify", "yolo11n-cls.yaml"),
    ("semantic", "yolo26n-sem.yaml"),
]


def _ultralytics_network(config: YoloConfig, nc: int) -> torch.nn.Module:
    """A fresh Ultralytics network of ``nc`` classes, initialised by Ultralytics' own constructor."""
    architecture = copy.deepcopy(config.architecture)
    architecture["nc"] = nc
    with torch.random.fork_rng(devices=[]):
        return network_class_for_task(config.task)(architecture, ch=config.num_channels, nc=nc, verbose=False)


@pytest.mark.parametrize(("task", "model_yaml"), TASK_MODELS)
def test_reheading_rebuilds_only_the_class_layers_the_ultralytics_way(
    task, model_yaml, converted_task_model, small_image, tmp_path, caplog
):
    folder = converted_task_model(model_yaml).output_dir
    old = AutoModel.from_pretrained(folder)
    assert old.config.task == task and old.config.num_labels != len(NEW_NAMES)
    with caplog.at_level(logging.WARNING, logger="transformers.modeling_utils"):
        model, info = AutoModel.from_pretrained(
            folder, id2label=NEW_NAMES, label2id=NEW_IDS, ignore_mismatched_sizes=True, output_loading_info=True
        )
    assert model.config.id2label == NEW_NAMES and model.config.label2id == NEW_IDS
    assert model.config.architecture["nc"] == len(NEW_NAMES) and model.config.num_labels == len(NEW_NAMES)

    # exactly the tensors whose shape depends on the class count were re-initialised, and reported as such
    old_state, new_state = old.state_dict(), model.state_dict()
    assert old_state.keys() == new_state.keys()
    resized = {key for key in new_state if new_state[key].shape != old_state[key].shape}
    assert resized and {key for key, *_ in info["mismatched_keys"]} == resized
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert "MISMATCH" in caplog.text and "Reinit due to size mismatch" in caplog.text
    for key in new_state.keys() - resized:
        assert torch.equal(new_state[key], old_state[key]), key

    # the re-initialised layers are what Ultralytics' constructor makes for that class count
    reference = _ultralytics_network(model.config, len(NEW_NAMES)).state_dict()
    for key in resized:
        ours, theirs = new_state[key], reference[key.removeprefix("model.")]
        assert ours.shape == theirs.shape, key
        if ours.ndim == 1 and torch.all(theirs == theirs[0]):  # a prior bias (Detect.bias_init): a constant
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6, msg=key)
        else:  # PyTorch's default init (kaiming_uniform a=sqrt(5), uniform bias): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            weight = new_state[key.rsplit(".", 1)[0] + ".weight"]
            bound = 1 / math.sqrt(weight.shape[1] * math.prod(weight.shape[2:]))
            assert theirs.abs().max() <= bound and ours.abs().max() <= bound, key
            assert ours.std() > 0.3 * bound / math.sqrt(3) and not torch.equal(ours, theirs), key
    if task not in {"classify", "semantic"}:  # the Detect family: class biases carry the 0.01-objects prior
        head = model.model.model[-1]
        expected = math.log(5 / len(NEW_NAMES) / (640 / float(head.stride[0])) ** 2)
        assert torch.allclose(head.cv3[0][-1].bias, torch.full((len(NEW_NAMES),), expected))

    # save -> load -> pipeline with the new names
    model.save_pretrained(tmp_path / "reheaded")
    AutoImageProcessor.from_pretrained(folder).save_pretrained(tmp_path / "reheaded")
    old.config.__class__.from_pretrained(folder)  # the source folder is untouched
    reloaded = AutoModel.from_pretrained(tmp_path / "reheaded")
    assert reloaded.config.id2label == NEW_NAMES and reloaded.config.architecture["nc"] == len(NEW_NAMES)
    for key, tensor in new_state.items():
        assert torch.equal(reloaded.state_dict()[key], tensor), key
    tag = task_spec(task).pipeline_tag
    if tag in SUPPORTED_TASKS:
        runner = pipeline(tag, model=str(tmp_path / "reheaded"))
        kwargs = {"threshold": 0.0} if tag in {"object-detection", "image-segmentation"} and task != "semantic" else {}
        if tag == "image-classification":
            kwargs = {"top_k": 5}
        outputs = runner(Image.open(small_image), **kwargs)
        labels = {output["label"] for output in outputs}
        assert labels and labels <= set(NEW_NAMES.values()), labels


def test_a_class_count_change_without_the_flag_fails_naming_it(converted_tiny_detector):
    with pytest.raises(WeightsError, match=r"ignore_mismatched_sizes.*False") as raised:
        YoloForObjectDetection.from_pretrained(converted_tiny_detector, id2label=NEW_NAMES, label2id=NEW_IDS)
    assert "ignore_mismatched_sizes=True" in str(raised.value)
    with pytest.raises(WeightsError, match="ignore_mismatched_sizes"):
        YoloForObjectDetection.from_pretrained(converted_tiny_detector, num_labels=4)


def test_num_labels_reheads_with_transformers_default_names(converted_tiny_detector, tmp_path):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector, num_labels=4, ignore_mismatched_sizes=True)
    assert model.config.id2label == {i: f"LABEL_{i}" for i in range(4)}
    assert model.config.architecture["nc"] == 4
    assert model.model.model[-1].nc == 4 and model.model.model[-1].cv3[1][-1].out_channels == 4
    model.save_pretrained(tmp_path / "four")
    assert YoloConfig.from_pretrained(tmp_path / "four").architecture["nc"] == 4


def test_same_class_count_renames_without_reinitialising(converted_tiny_detector):
    old = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    names = {0: "box", 1: "blob"}
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector, id2label=names)
    assert model.config.id2label == names and model.config.label2id == {"box": 0, "blob": 1}
    for key, tensor in old.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor), key


def test_bad_new_classes_get_typed_errors(converted_tiny_detector, converted_task_model):
    with pytest.raises(ConfigError, match="class indices"):
        YoloForObjectDetection.from_pretrained(converted_tiny_detector, id2label={1: "a", 2: "b", 3: "c"},
                                               ignore_mismatched_sizes=True)  # fmt: skip
    with pytest.raises(ConfigError, match="repeats a class name"):
        YoloForObjectDetection.from_pretrained(converted_tiny_detector, id2label={0: "a", 1: "a", 2: "c"},
                                               ignore_mismatched_sizes=True)  # fmt: skip
    with pytest.raises(ConfigError, match="inverse"):
        YoloForObjectDetection.from_pretrained(converted_tiny_detector, id2label={0: "a", 1: "b", 2: "c"},
                                               label2id={"a": 1, "b": 0, "c": 2}, ignore_mismatched_sizes=True)
    with pytest.raises(ConfigError, match="has no classes"):
        AutoModel.from_pretrained(converted_task_model("yolo26n-depth.yaml").output_dir, num_labels=3,
                                  ignore_mismatched_sizes=True)  # fmt: skip


def test_a_random_model_starts_from_ultralytics_prior_biases(converted_tiny_detector):
    config = YoloConfig.from_pretrained(converted_tiny_detector)
    model = YoloForObjectDetection(config)
    reference = _ultralytics_network(config, config.num_labels).state_dict()
    head = model.model.model[-1]
    for level in range(len(head.cv3)):
        key = f"model.{len(model.model.model) - 1}.cv3.{level}.2.bias"
        torch.testing.assert_close(model.model.state_dict()[key], reference[key])
        torch.testing.assert_close(head.cv2[level][-1].bias, torch.full_like(head.cv2[level][-1].bias, 2.0))
