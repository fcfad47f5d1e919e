"""``evaluate`` on YOLO26 agrees with ``yolo val`` on the same weights and split, with either of its heads.

YOLO26 has two heads. Ultralytics 8.4 validates (and predicts) with the one-to-many head and NMS by default
(``nms=None``), and with the end-to-end (NMS-free) one-to-one head when ``nms=False``: the validator then sets the
head's ``max_det`` to val's (300), so the head keeps its 300 best (anchor, class) pairs, and
``non_max_suppression(end2end=True)`` only keeps those scoring above ``conf`` (0.001). The converter follows the same
default (``end_to_end=None``: the NMS head); ``end_to_end=True`` converts the NMS-free head, which ``evaluate``
selects through the processor's end-to-end top-k. Both sides letterbox the 128 px shapes images to the full square
(``rect=False``), so the network sees identical pixels.
"""

from __future__ import annotations

import logging

import pytest

from tests.fixtures.tiny_detector import IMAGE_SIZE
from yolo_transformers import YoloForObjectDetection, evaluate
from yolo_transformers.training.evaluation import ultralytics_metrics

SETTINGS = {"imgsz": IMAGE_SIZE, "batch": 8, "conf": 0.001, "iou": 0.7, "max_det": 300}
HEADS = {"end-to-end": (True, {"nms": False}), "nms": (None, {})}  # converter end_to_end, Ultralytics val options


@pytest.fixture(scope="module")
def shapes_val(end_to_end_shapes_dataset):
    from yolo_transformers.data import load_yolo_dataset

    return load_yolo_dataset(end_to_end_shapes_dataset)["validation"]


@pytest.mark.parametrize("head", list(HEADS))
def test_evaluate_matches_ultralytics_val_on_yolo26(head, tiny_end_to_end_pt, end_to_end_shapes_dataset, shapes_val,
                                                    tmp_path):
    from ultralytics import YOLO

    from yolo_transformers.convert.converter import convert_checkpoint

    end_to_end, val_options = HEADS[head]
    images = sorted((end_to_end_shapes_dataset / "images" / "val").glob("*.png"))[:2]
    convert_checkpoint(tiny_end_to_end_pt, tmp_path / "converted", end_to_end=end_to_end, verify_images=images)
    model = YoloForObjectDetection.from_pretrained(tmp_path / "converted")
    assert model.config.architecture["end2end"] and model.config.end_to_end == (head == "end-to-end")
    ours = ultralytics_metrics(evaluate(model, shapes_val, batch_size=SETTINGS["batch"], conf_threshold=SETTINGS["conf"],
                                        iou_threshold=SETTINGS["iou"], max_det=SETTINGS["max_det"]))
    theirs = YOLO(str(tiny_end_to_end_pt)).val(
        data=str(end_to_end_shapes_dataset / "data.yaml"), split="val", rect=False, plots=False, device="cpu",
        verbose=False, project=str(tmp_path / "ul-val"), **SETTINGS, **val_options,
    ).results_dict  # fmt: skip
    logging.getLogger(__name__).info("%s head: ours %s, ultralytics %s", head, ours, theirs)
    assert theirs["metrics/mAP50-95(B)"] > 0.2  # a really trained detector, not a degenerate comparison
    assert abs(ours["metrics/mAP50-95(B)"] - theirs["metrics/mAP50-95(B)"]) <= 0.005
    assert abs(ours["metrics/mAP50(B)"] - theirs["metrics/mAP50(B)"]) <= 0.005
    # same detections, same matching, same max-F1 operating point
    assert abs(ours["metrics/precision(B)"] - theirs["metrics/precision(B)"]) <= 0.005
    assert abs(ours["metrics/recall(B)"] - theirs["metrics/recall(B)"]) <= 0.005
