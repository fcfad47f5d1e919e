"""``evaluate`` and ``yolo-hf eval``: COCO mAP that agrees with ``ultralytics`` ``val`` on the same weights and data."""

from __future__ import annotations

import json
import logging

import pytest

from tests.fixtures.tiny_detector import IMAGE_SIZE
from yolo_transformers import YoloForObjectDetection, evaluate
from yolo_transformers.errors import DatasetFormatError
from yolo_transformers.training.evaluation import record_metrics, ultralytics_metrics

# Settings used on both sides (the shapes images are 128x128 and so is imgsz, so the letterbox is the identity on
# both sides and the network sees identical pixels):
#   Ultralytics: YOLO(pt).val(data=data.yaml, split="val", imgsz=128, batch=8, conf=0.001, iou=0.7, max_det=300,
#                rect=False, plots=False, device="cpu")  -- its own AP (101-point, trapezoid), multi-label NMS.
#                rect=False matters: YOLO.val() defaults to rect=True, whose batch shapes add half a stride of
#                padding (128 -> 160 px input), which changes the predictions themselves.
#   Ours:        evaluate(model, load_yolo_dataset(...)["validation"], batch_size=8, conf_threshold=0.001, iou_threshold=0.7,
#                max_det=300)  -- same detections (multi-label NMS), pycocotools COCOeval with maxDets=300.
SETTINGS = {"imgsz": IMAGE_SIZE, "batch": 8, "conf": 0.001, "iou": 0.7, "max_det": 300}


@pytest.fixture(scope="module")
def ultralytics_val(tiny_detector_pt, shapes_dataset, tmp_path_factory) -> dict[str, float]:
    from ultralytics import YOLO

    results = YOLO(str(tiny_detector_pt)).val(
        data=str(shapes_dataset / "data.yaml"), split="val", rect=False, plots=False, device="cpu",
        verbose=False, project=str(tmp_path_factory.mktemp("ul-val")), **SETTINGS,
    )  # fmt: skip
    return results.results_dict


@pytest.fixture(scope="module")
def shapes_val(shapes_dataset):
    from yolo_transformers.data import load_yolo_dataset

    return load_yolo_dataset(shapes_dataset)["validation"]


@pytest.fixture(scope="module")
def our_metrics(converted_tiny_detector, shapes_val) -> dict[str, float]:
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    return evaluate(model, shapes_val, batch_size=SETTINGS["batch"], conf_threshold=SETTINGS["conf"],
                    iou_threshold=SETTINGS["iou"], max_det=SETTINGS["max_det"])  # fmt: skip


def test_map_matches_ultralytics_val(our_metrics, ultralytics_val):
    ours, theirs = ultralytics_metrics(our_metrics), ultralytics_val
    logging.getLogger(__name__).info("ours %s, ultralytics %s", ours, theirs)
    assert theirs["metrics/mAP50-95(B)"] > 0.5  # a really trained detector, not a degenerate comparison
    assert abs(ours["metrics/mAP50-95(B)"] - theirs["metrics/mAP50-95(B)"]) <= 0.005
    # mAP50 rests on 32 boxes: COCO's step sampling vs Ultralytics' trapezoid shows more there
    assert abs(ours["metrics/mAP50(B)"] - theirs["metrics/mAP50(B)"]) <= 0.01
    # same detections, same matching, same max-F1 operating point
    assert abs(ours["metrics/precision(B)"] - theirs["metrics/precision(B)"]) <= 0.005
    assert abs(ours["metrics/recall(B)"] - theirs["metrics/recall(B)"]) <= 0.005


def test_metrics_are_coco_keys_in_unit_range(our_metrics):
    assert set(our_metrics) == {"mAP50-95", "mAP50", "mAP75", "precision", "recall"}
    assert all(0.0 <= value <= 1.0 for value in our_metrics.values())
    assert our_metrics["mAP50"] >= our_metrics["mAP75"] >= our_metrics["mAP50-95"] - 0.2


def test_dataset_dict_and_folder_pick_the_validation_split(converted_tiny_detector, our_metrics, shapes_dataset):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    from_folder = evaluate(model, shapes_dataset, batch_size=16)
    assert from_folder == pytest.approx(our_metrics, abs=1e-6)  # batch 16 vs 8: float32 noise only
    with pytest.raises(DatasetFormatError, match="no split 'test'"):
        evaluate(model, {"train": None}, split="test")


def test_nothing_detected_gives_zeros(converted_tiny_detector, shapes_val, caplog):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    with caplog.at_level(logging.WARNING):
        metrics = evaluate(model, shapes_val.select(range(2)), conf_threshold=1.0)
    assert metrics == {"mAP50-95": 0.0, "mAP50": 0.0, "mAP75": 0.0, "precision": 0.0, "recall": 0.0}
    assert "detected nothing" in caplog.text


def test_record_metrics_feeds_the_model_card(converted_tiny_detector, our_metrics):
    from yolo_transformers.cards.model_card import card_metadata

    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    stored = record_metrics(model, our_metrics, dataset="alice/shapes", split="val")
    assert stored["metrics/mAP50-95(B)"] == our_metrics["mAP50-95"]
    results = {r.metric_type: r.metric_value for r in card_metadata(model.config, model_name="m").eval_results}
    assert results["mAP50-95"] == pytest.approx(our_metrics["mAP50-95"], abs=1e-5)


def test_cli_eval_prints_the_metrics(converted_tiny_detector, our_metrics, shapes_dataset, capsys):
    from yolo_transformers.cli import main

    assert main(["eval", str(converted_tiny_detector), str(shapes_dataset / "data.yaml"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == pytest.approx(our_metrics, abs=1e-9)

    assert main(["eval", str(converted_tiny_detector), str(shapes_dataset), "--split", "val"]) == 0
    table = capsys.readouterr().out
    assert "mAP50-95" in table and f"{our_metrics['mAP50-95']:.4f}" in table and "images     16" in table
