"""``evaluate`` on an end-to-end (NMS-free) YOLO26 detector agrees with ``yolo val`` on the same weights and split.

Ultralytics' validator runs an ``end2end`` model without NMS: it sets the head's ``max_det`` to val's (300), so the
one-to-one head keeps its 300 best (anchor, class) pairs, and ``non_max_suppression(end2end=True)`` only keeps those
scoring above ``conf`` (0.001). ``evaluate`` selects the same pairs through the processor's end-to-end top-k. Both
sides letterbox the 128 px shapes images to the full square (``rect=False``), so the network sees identical pixels.
"""

from __future__ import annotations

import logging

import pytest

from tests.fixtures.tiny_detector import IMAGE_SIZE
from yolo_transformers import YoloForObjectDetection, evaluate
from yolo_transformers.training.evaluation import ultralytics_metrics

SETTINGS = {"imgsz": IMAGE_SIZE, "batch": 8, "conf": 0.001, "iou": 0.7, "max_det": 300}


@pytest.fixture(scope="module")
def converted_end_to_end(tiny_end_to_end_pt, end_to_end_shapes_dataset, tmp_path_factory):
    from yolo_transformers.convert.converter import convert_checkpoint

    images = sorted((end_to_end_shapes_dataset / "images" / "val").glob("*.png"))[:2]
    output = tmp_path_factory.mktemp("yolo26-e2e") / "converted"
    convert_checkpoint(tiny_end_to_end_pt, output, verify_images=images)
    return output


@pytest.fixture(scope="module")
def ultralytics_val(tiny_end_to_end_pt, end_to_end_shapes_dataset, tmp_path_factory) -> dict[str, float]:
    from ultralytics import YOLO

    results = YOLO(str(tiny_end_to_end_pt)).val(
        data=str(end_to_end_shapes_dataset / "data.yaml"), split="val", rect=False, plots=False, device="cpu",
        verbose=False, project=str(tmp_path_factory.mktemp("ul-val-e2e")), **SETTINGS,
    )  # fmt: skip
    return results.results_dict


def test_evaluate_matches_ultralytics_val_on_an_end_to_end_head(converted_end_to_end, end_to_end_shapes_dataset,
                                                                 ultralytics_val):
    from yolo_transformers.data import load_yolo_dataset

    model = YoloForObjectDetection.from_pretrained(converted_end_to_end)
    assert model.config.end_to_end and model.config.architecture["end2end"]  # the NMS-free head is what is evaluated
    dataset = load_yolo_dataset(end_to_end_shapes_dataset)["validation"]
    ours = ultralytics_metrics(evaluate(model, dataset, batch_size=SETTINGS["batch"], conf_threshold=SETTINGS["conf"],
                                        iou_threshold=SETTINGS["iou"], max_det=SETTINGS["max_det"]))
    theirs = ultralytics_val
    logging.getLogger(__name__).info("ours %s, ultralytics %s", ours, theirs)
    assert theirs["metrics/mAP50-95(B)"] > 0.2  # a really trained detector, not a degenerate comparison
    assert abs(ours["metrics/mAP50-95(B)"] - theirs["metrics/mAP50-95(B)"]) <= 0.005
    assert abs(ours["metrics/mAP50(B)"] - theirs["metrics/mAP50(B)"]) <= 0.005
