"""``evaluate`` / ``yolo-hf eval`` for segment, pose, obb, classify, semantic and depth against Ultralytics ``val``.

Each task's tiny model (really trained, cached: ``tests/fixtures/tiny_tasks.py``) is converted and evaluated on the
validation split of the generated dataset it learned from, loaded with ``load_yolo_dataset``. Settings, both sides:

- Ultralytics: ``YOLO(best.pt).val(data=data.yaml, imgsz=<training imgsz>, rect=False, batch=8, device="cpu")``,
  every other argument at its default (conf 0.001, obb 0.01; iou 0.7; max_det 300);
- ours: ``evaluate(model, dataset["val"], image_size=<same imgsz>, batch_size=8)``, defaults likewise.

The images are 96x72 and imgsz is 96 (64 for the classifier, which resizes and centre-crops on both sides), so
both sides letterbox them identically; every figure must agree within 0.005.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.tiny_tasks import TRAINED, trained_task_data
from yolo_transformers.auto import model_class_for_task
from yolo_transformers.cli import main
from yolo_transformers.compat import keep_torch_threads
from yolo_transformers.data import load_yolo_dataset
from yolo_transformers.training import evaluate, record_metrics

#: What Ultralytics reports per task (its results_dict without "metrics/" and "fitness").
EXPECTED_KEYS = {
    "segment": {f"{m}({k})" for m in ("precision", "recall", "mAP50", "mAP50-95") for k in "BM"},
    "pose": {f"{m}({k})" for m in ("precision", "recall", "mAP50", "mAP50-95") for k in "BP"},
    "obb": {f"{m}(B)" for m in ("precision", "recall", "mAP50", "mAP50-95")},
    "classify": {"accuracy_top1", "accuracy_top5"},
    "semantic": {"mIoU", "pixel_acc"},
    "depth": {"delta1", "delta2", "delta3", "abs_rel", "rmse", "silog"},
}
#: The headline figure of each task, which must be clearly above zero for the comparison to mean anything.
HEADLINE = {"segment": "mAP50(M)", "pose": "mAP50(P)", "obb": "mAP50-95(B)", "classify": "accuracy_top1",
            "semantic": "mIoU", "depth": "delta1"}


@pytest.fixture(scope="module")
def converted(converted_task_model, trained_task_checkpoint):
    def load(task: str):
        result = converted_task_model(trained_task_checkpoint(task))
        folder = result if not hasattr(result, "output_dir") else result.output_dir
        return folder

    return load


@pytest.mark.parametrize("task", sorted(EXPECTED_KEYS))
def test_metrics_match_ultralytics_val(task, converted, trained_task_checkpoint, tmp_path):
    from ultralytics import YOLO

    imgsz = TRAINED[task][1]
    data = trained_task_data(task)
    folder = converted(task)
    model = model_class_for_task(task).from_pretrained(folder)
    dataset = load_yolo_dataset(data, cache_dir=tmp_path / "cache")

    ours = evaluate(model, dataset["val"], image_size=imgsz, batch_size=8)
    with keep_torch_threads():  # Ultralytics' select_device would leave torch's thread count changed for later tests
        theirs = YOLO(str(trained_task_checkpoint(task))).val(
            data=str(data), imgsz=imgsz, rect=False, batch=8, device="cpu", plots=False, verbose=False, workers=0,
            project=str(tmp_path / "runs"),
        ).results_dict

    assert set(ours) == EXPECTED_KEYS[task]
    assert ours[HEADLINE[task]] > 0.05
    for key, value in ours.items():
        assert value == pytest.approx(theirs[f"metrics/{key}"], abs=0.005), key

    stored = record_metrics(model, ours, dataset=str(data), split="val")
    assert stored == {f"metrics/{k}": v for k, v in ours.items()}


def test_cli_eval_any_task_and_card(converted, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    folder = converted("semantic")
    assert main(["eval", str(folder), str(trained_task_data("semantic")), "--json", "--imgsz", "96"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == EXPECTED_KEYS["semantic"] and 0 < printed["mIoU"] <= 1

    from yolo_transformers.cards import generate_model_card

    model = model_class_for_task("semantic").from_pretrained(folder)
    record_metrics(model, printed, dataset="me/shapes-semantic", split="val")
    card = generate_model_card(model.config, repo_id="me/semantic")
    reported = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert reported["mIoU"] == pytest.approx(printed["mIoU"], abs=1e-5)
    assert reported["pixel_acc"] == pytest.approx(printed["pixel_acc"], abs=1e-5)


def test_evaluate_refuses_a_dataset_of_another_task(converted, tmp_path):
    from yolo_transformers.errors import DatasetFormatError

    model = model_class_for_task("depth").from_pretrained(converted("depth"))
    dataset = load_yolo_dataset(trained_task_data("semantic"), cache_dir=tmp_path / "cache")
    with pytest.raises(DatasetFormatError, match=r"evaluating a depth model needs 'image' and 'depth_map'"):
        evaluate(model, dataset["val"])
