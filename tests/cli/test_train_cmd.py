"""``yolo-hf train``: re-head to the dataset's classes, train with ``Trainer``, evaluate, save, push (local Hub)."""

from __future__ import annotations

import pytest
import torch
from huggingface_hub import ModelCard

from tests.fixtures.reheaded_detector import NEW_CLASSES, make_new_classes_dataset
from tests.fixtures.tiny_detector import CLASS_NAMES, make_shapes_dataset
from tests.helpers import HUB_WARNINGS
from yolo_transformers import YoloConfig, YoloForObjectDetection, evaluate
from yolo_transformers.cli import main
from yolo_transformers.hub import push_dataset

pytestmark = HUB_WARNINGS


def test_train_reheads_to_the_data_and_pushes_a_card_with_its_metrics(
    converted_tiny_detector, tmp_path, hub_server, hub_repo_name, capsys
):
    data_yaml = make_new_classes_dataset(tmp_path / "data", train=16, val=8, seed=5)
    repo_id, token = hub_repo_name(), hub_server.token("alice")
    before = YoloForObjectDetection.from_pretrained(converted_tiny_detector)

    code = main(["train", str(converted_tiny_detector), str(data_yaml), "--epochs", "1", "--batch", "8",
                 "--classes-from-data", "--output", str(tmp_path / "out"), "--push-to-hub", repo_id, "--token", token])
    out = capsys.readouterr().out

    assert code == 0, out
    assert "re-headed to the dataset's 3 classes: triangle, rectangle, ellipse" in out
    config = YoloConfig.from_pretrained(tmp_path / "out")
    assert config.id2label == dict(enumerate(NEW_CLASSES)) and config.architecture["nc"] == 3
    trained = YoloForObjectDetection.from_pretrained(tmp_path / "out")
    # trained: the shared weights moved away from the pretrained ones
    moved = [k for k, v in before.state_dict().items() if v.is_floating_point() and not torch.equal(v, trained.state_dict()[k])]
    assert len(moved) > 100
    # the metrics it printed and stored are the evaluation of the saved model on the val split
    metrics = evaluate(trained, str(data_yaml), split="val", image_size=config.image_size)
    assert config.metrics["metrics/mAP50-95(B)"] == pytest.approx(metrics["mAP50-95"], abs=1e-6)
    assert f"mAP50-95   {metrics['mAP50-95']:.4f}" in out
    assert config.train_args["data"] == str(data_yaml) and config.train_args["split"] == "validation"

    card = ModelCard(hub_server.files(repo_id)["README.md"].decode())
    reported = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert reported["mAP50-95"] == pytest.approx(metrics["mAP50-95"], abs=1e-5)
    pushed = YoloForObjectDetection.from_pretrained(repo_id, token=token)
    assert pushed.config.id2label == dict(enumerate(NEW_CLASSES))
    for key, tensor in trained.state_dict().items():
        assert torch.equal(pushed.state_dict()[key], tensor), key


def test_train_refuses_other_classes_without_classes_from_data(converted_tiny_detector, tmp_path, capsys):
    data_yaml = make_new_classes_dataset(tmp_path / "data", train=4, val=2, seed=6)
    code = main(["train", str(converted_tiny_detector), str(data_yaml), "--epochs", "1", "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert "--classes-from-data" in err and "triangle" in err
    assert not (tmp_path / "o" / "model.safetensors").exists()


def test_train_takes_an_ultralytics_pt_and_a_hub_dataset(tiny_detector_pt, tmp_path, hub_server, hub_repo_name, capsys):
    data_yaml = make_shapes_dataset(tmp_path / "shapes", train=8, val=4, seed=9)
    dataset_id, token = hub_repo_name(), hub_server.token("alice")
    push_dataset(data_yaml, dataset_id, token=token, cache_dir=tmp_path / "cache")

    code = main(["train", str(tiny_detector_pt), dataset_id, "--epochs", "1", "--batch", "4",
                 "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out

    assert code == 0, out
    assert "converting" in out
    config = YoloConfig.from_pretrained(tmp_path / "out")
    assert config.id2label == dict(enumerate(CLASS_NAMES))
    assert config.train_args["data"] == dataset_id and config.train_args["split"] in {"val", "validation"}
    assert 0 <= config.metrics["metrics/mAP50-95(B)"] <= 1


@pytest.mark.parametrize("task", ["classify", "semantic", "pose"])
def test_train_augments_other_tasks_and_records_their_metrics(task, converted_task_model, tmp_path, capsys, caplog):
    from tests.fixtures.tiny_tasks import trained_task_checkpoint, trained_task_data

    from yolo_transformers.auto import model_class_for_task

    folder = converted_task_model(trained_task_checkpoint(task)).output_dir
    with caplog.at_level("INFO", logger="yolo_transformers.training.transforms"):
        code = main(["train", str(folder), str(trained_task_data(task)), "--epochs", "1", "--batch", "8",
                     "--imgsz", "64", "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    augmented = {"classify": "AugmentedClassificationDataset"}.get(task, "AugmentedTaskDataset")
    assert f"training {task!r} with Ultralytics' augmentation" in caplog.text and augmented in caplog.text

    assert code == 0, out
    config = YoloConfig.from_pretrained(tmp_path / "out")
    metric = {"classify": "metrics/accuracy_top1", "semantic": "metrics/mIoU", "pose": "metrics/mAP50-95(P)"}[task]
    assert config.task == task and metric in config.metrics, config.metrics
    trained = model_class_for_task(task).from_pretrained(tmp_path / "out")
    before = model_class_for_task(task).from_pretrained(folder)
    moved = [k for k, v in before.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, trained.state_dict()[k])]
    assert moved, "one epoch of yolo-hf train left every weight as it was"
