"""Ultralytics' detection training augmentation over ``datasets`` rows (training/augmentation.py).

Parity: under the same random state, every augmented sample (pixels, boxes, classes) equals what Ultralytics' own
``YOLODataset`` (``augment=True``, default hyper-parameters, ``cache="ram"``) makes from the same YOLO folder.
"""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
import torch

from tests.fixtures.reheaded_detector import NEW_CLASSES, make_new_classes_dataset
from yolo_transformers import YoloConfig, UnsupportedTaskError
from yolo_transformers.data import load_yolo_dataset
from yolo_transformers.training.augmentation import AugmentedDetectionDataset, seeded_draws
from yolo_transformers.training.transforms import DetectionTransform, train_transform_for, training_dataset

SIZE = 128


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_new_classes_dataset(tmp_path_factory.mktemp("aug") / "data", train=24, val=2, seed=3).parent


@pytest.fixture(scope="module")
def rows(folder):
    return load_yolo_dataset(folder / "data.yaml")["train"]


def test_samples_equal_ultralytics_yolodataset_under_the_same_draws(folder, rows, tmp_path):
    from ultralytics.cfg import get_cfg
    from ultralytics.data.dataset import YOLODataset

    copy = shutil.copytree(folder, tmp_path / "copy")  # YOLODataset writes a labels cache next to the labels
    theirs = YOLODataset(img_path=str(copy / "images" / "train"), imgsz=SIZE, augment=True, hyp=get_cfg(),
                         data={"names": dict(enumerate(NEW_CLASSES)), "channels": 3}, cache="ram", task="detect")
    ours = AugmentedDetectionDataset(rows, SIZE, seed=5)
    boxes_seen = 0
    for index in range(len(rows)):
        with seeded_draws(5, 0, index):  # the draws our sample `index` of epoch 0 makes
            expected = theirs[index]
        sample = ours[index]
        assert torch.equal(sample["pixel_values"], expected["img"].float() / 255), index
        assert torch.equal(sample["labels"]["class_labels"], expected["cls"].reshape(-1).long()), index
        torch.testing.assert_close(sample["labels"]["boxes"], expected["bboxes"].reshape(-1, 4), atol=1e-5, rtol=0)
        boxes_seen += len(expected["bboxes"])
    assert boxes_seen > len(rows)  # mosaic: more objects than the 1-3 one image holds, on average


def testseeded_draws_reproducible_and_the_process_generators_untouched(rows):
    first, again, other = (AugmentedDetectionDataset(rows, SIZE, seed=s) for s in (1, 1, 2))
    random.seed(123)
    np.random.seed(123)
    expected_python, expected_numpy = random.Random(123).random(), np.random.RandomState(123).rand()
    samples = [first[i]["pixel_values"] for i in range(4)]
    assert (random.random(), np.random.rand()) == (expected_python, expected_numpy)
    assert all(torch.equal(s, again[i]["pixel_values"]) for i, s in enumerate(samples))
    assert not all(torch.equal(s, other[i]["pixel_values"]) for i, s in enumerate(samples))
    first.set_epoch(1, 100)
    assert not torch.equal(first[0]["pixel_values"], samples[0])  # a new epoch draws anew


def test_close_mosaic_turns_mosaic_off_for_the_last_epochs(rows):
    dataset = AugmentedDetectionDataset(rows, SIZE, seed=0, hyperparameters={"close_mosaic": 2})
    most = max(len(dataset[i]["labels"]["boxes"]) for i in range(len(rows)))
    dataset.set_epoch(7, 10)
    assert not dataset.mosaic_closed
    dataset.set_epoch(8, 10)
    assert dataset.mosaic_closed
    closed = max(len(dataset[i]["labels"]["boxes"]) for i in range(len(rows)))
    assert most > 3 >= closed  # each generated image holds 1-3 objects; a mosaic holds up to 4 images' worth


def test_augmentation_is_off_with_one_argument(rows, converted_tiny_detector):
    config = YoloConfig.from_pretrained(converted_tiny_detector)
    plain, callbacks = training_dataset(config, rows, augment=False)
    augmented, schedule = training_dataset(config, rows, augment=True, seed=0)
    assert callbacks == [] and len(schedule) == 1 and isinstance(augmented, AugmentedDetectionDataset)
    letterboxed = rows.with_transform(DetectionTransform(train_transform_for(config).processor))[0]
    assert torch.equal(plain[0]["pixel_values"], letterboxed["pixel_values"])
    assert not torch.equal(augmented[0]["pixel_values"], letterboxed["pixel_values"])
    with pytest.raises(UnsupportedTaskError, match="training_dataset"):
        train_transform_for(config, augment=True)
    with pytest.raises(ValueError, match="unknown augmentation settings"):
        AugmentedDetectionDataset(rows, SIZE, hyperparameters={"mosiac": 0.5})
