"""A detector re-headed to other classes learns them: the cached fine-tune (tests/fixtures/reheaded_detector.py).

The tiny detector knows ``rectangle`` and ``ellipse``; the new dataset has ``triangle``, ``rectangle``,
``ellipse``. ``fine_tune`` (``Trainer``, 10 epochs of 96 images) after ``from_pretrained(..., id2label=...,
ignore_mismatched_sizes=True)`` must reach COCO mAP50-95 >= 0.5 on the new validation set, where the freshly
re-headed model (class layers at their prior) scores near 0.
"""

from __future__ import annotations

import pytest

from tests.fixtures.reheaded_detector import NEW_CLASSES, reheaded_detector
from yolo_transformers import YoloForObjectDetection, evaluate
from yolo_transformers.training.fine_tune import load_for_dataset


@pytest.fixture(scope="module")
def reheaded() -> tuple:
    return reheaded_detector()


def test_the_reheaded_detector_learns_the_new_classes(reheaded, converted_tiny_detector):
    folder, data_yaml = reheaded
    model = YoloForObjectDetection.from_pretrained(folder)
    assert model.config.id2label == dict(enumerate(NEW_CLASSES)) and model.config.architecture["nc"] == 3

    after = evaluate(model, str(data_yaml), split="val")
    untrained = load_for_dataset(YoloForObjectDetection, str(converted_tiny_detector), dict(enumerate(NEW_CLASSES)))
    before = evaluate(untrained, str(data_yaml), split="val")

    assert before["mAP50-95"] < 0.1
    assert after["mAP50-95"] >= 0.5 and after["mAP50"] >= 0.75
    assert model.config.metrics["metrics/mAP50-95(B)"] == pytest.approx(after["mAP50-95"], abs=1e-6)
