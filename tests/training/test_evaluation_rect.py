"""``evaluate(rect=True)`` reproduces the default ``yolo val`` (rectangular batches), ``rect=False`` its square mode.

The tiny detector's validation images are stretched to mixed aspect ratios (YOLO labels are normalized, so they
stay exact), so the rectangular batches really differ from the square letterbox.
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from yolo_transformers import YoloForObjectDetection, evaluate
from yolo_transformers.data import load_yolo_dataset
from yolo_transformers.processing.rect_batches import rect_batches

_SIZES = [(128, 128), (96, 160), (160, 96), (128, 200), (200, 140), (72, 128), (128, 72), (150, 150)]
SETTINGS = {"imgsz": 128, "batch": 16, "conf": 0.001, "iou": 0.7, "max_det": 300}


@pytest.fixture(scope="module")
def mixed_dataset(shapes_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    (root / "images" / "val").mkdir(parents=True)
    shutil.copytree(shapes_dataset / "labels" / "val", root / "labels" / "val")
    for index, image_file in enumerate(sorted((shapes_dataset / "images" / "val").glob("*.png"))):
        height, width = _SIZES[index % len(_SIZES)]
        cv2.imwrite(str(root / "images" / "val" / image_file.name), cv2.resize(cv2.imread(str(image_file)), (width, height)))
    (root / "data.yaml").write_text("train: images/val\nval: images/val\nnames:\n  0: rectangle\n  1: ellipse\n")
    return root


def _ultralytics_map(tiny_detector_pt, mixed_dataset, tmp_path, **options) -> float:
    from ultralytics import YOLO

    results = YOLO(str(tiny_detector_pt)).val(
        data=str(mixed_dataset / "data.yaml"), split="val", plots=False, device="cpu", verbose=False,
        project=str(tmp_path), **SETTINGS, **options,
    )  # fmt: skip
    return float(results.box.map)


def test_rect_batches_are_ultralytics_batch_shapes(mixed_dataset):
    from ultralytics.data.dataset import YOLODataset

    theirs = YOLODataset(img_path=str(mixed_dataset / "images" / "val"), imgsz=128, batch_size=5, rect=True,
                         stride=32, pad=0.5, augment=False, data={"names": {0: "a", 1: "b"}, "channels": 3})  # fmt: skip
    files = sorted((mixed_dataset / "images" / "val").glob("*.png"))
    sizes = [cv2.imread(str(f)).shape[:2] for f in files]
    ours = rect_batches(sizes, 128, 32, 5)
    assert [tuple(s) for s in theirs.batch_shapes.tolist()] == [shape for _, shape in ours]
    assert len({shape for _, shape in ours}) > 1  # the mixed sizes give several shapes
    order = [str(files[i]) for indices, _ in ours for i in indices]
    assert order == [str(f) for f in theirs.im_files]


@pytest.mark.parametrize("rect", [True, False])
def test_evaluate_matches_yolo_val_in_both_modes(rect, tiny_detector_pt, converted_tiny_detector, mixed_dataset,
                                                 tmp_path):  # fmt: skip
    theirs = _ultralytics_map(tiny_detector_pt, mixed_dataset, tmp_path, **({} if rect else {"rect": False}))
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    ours = evaluate(model, load_yolo_dataset(mixed_dataset / "data.yaml")["val"], batch_size=SETTINGS["batch"],
                    image_size=SETTINGS["imgsz"], rect=rect)["mAP50-95"]  # fmt: skip
    other = evaluate(model, load_yolo_dataset(mixed_dataset / "data.yaml")["val"], batch_size=SETTINGS["batch"],
                     image_size=SETTINGS["imgsz"], rect=not rect)["mAP50-95"]  # fmt: skip
    assert theirs > 0.3
    assert abs(ours - theirs) <= 0.005, (ours, theirs, other)
    assert ours != other  # the two modes run different inputs (160-px squares vs per-batch rectangles)
