"""Ultralytics' training augmentation for segment, pose, obb, semantic, depth and classify rows.

Parity: under the same random draws, every augmented sample (pixels and labels: masks, keypoints, rotated boxes,
class maps, depth maps) equals what Ultralytics' own training dataset of the task (``YOLODataset(task=...)``,
``SemanticDataset``, ``DepthDataset``, ``ClassificationDataset``, ``augment=True``, default hyper-parameters,
``cache="ram"``) makes from the same generated YOLO folder. So the labels follow the image exactly as they do in
Ultralytics (keypoints through ``flip_idx``, rotated boxes through ``preserve_obb`` and ``xyxyxyxy2xywhr``, masks and
maps warped with the image).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.data_factory import FLIP_IDX, make_yolo_dataset
from tests.training.test_task_transforms import _config
from yolo_transformers.data import load_yolo_dataset, read_metadata
from yolo_transformers.training.augmentation import AugmentationSchedule, seeded_draws
from yolo_transformers.training.classify_augmentation import AugmentedClassificationDataset
from yolo_transformers.training.task_augmentation import AugmentedTaskDataset
from yolo_transformers.training.task_transform import TaskTransform
from yolo_transformers.training.transforms import collate_for, training_dataset

SIZE = 96
SEED = 5


def _folder(root: Path, task: str) -> Path:
    """A generated PNG dataset of ``task`` (PNG: cv2 and PIL decode the same pixels); the semantic one remaps its
    mask ids through a ``label_mapping`` (shape classes rotate, background stays, 0 -> 0)."""
    data_yaml = make_yolo_dataset(root / task, task, image_format="png", image_size=(96, 72), backgrounds=0,
                                  splits={"train": 10, "val": 2}, seed=2)
    if task == "semantic":
        import yaml

        spec = yaml.safe_load(data_yaml.read_text())
        data_yaml.write_text(yaml.safe_dump({**spec, "label_mapping": {1: 2, 2: 3, 3: 1}}, sort_keys=False))
    return data_yaml


def _ultralytics_dataset(task: str, source: Path, copy: Path):
    """Ultralytics' own augmented training dataset of ``task`` over a copy of ``source``."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data.dataset import ClassificationDataset, DepthDataset, SemanticDataset, YOLODataset

    root = Path(shutil.copytree(source if task == "classify" else source.parent, copy))  # label caches land there
    if task == "classify":
        return ClassificationDataset(str(root / "train"), args=get_cfg(overrides={"imgsz": SIZE}), augment=True)
    import yaml

    data = {**yaml.safe_load((root / "data.yaml").read_text()), "channels": 3}
    dataset_class = {"semantic": SemanticDataset, "depth": DepthDataset}.get(task, YOLODataset)
    return dataset_class(img_path=str(root / "images" / "train"), imgsz=SIZE, augment=True, hyp=get_cfg(), data=data,
                         cache="ram", task=task)


@pytest.mark.parametrize("task", ["segment", "pose", "obb", "semantic", "depth", "classify"])
def test_samples_equal_ultralytics_training_dataset_under_the_same_draws(task, tmp_path):
    source = _folder(tmp_path, task)
    rows = load_yolo_dataset(source, cache_dir=tmp_path / "c")["train"]
    theirs = _ultralytics_dataset(task, source, tmp_path / "copy")
    if task == "classify":
        ours = AugmentedClassificationDataset(rows, SIZE, seed=SEED)
        position = {Path(f).name: i for i, (f, *_) in enumerate(theirs.samples)}
        for index, name in enumerate(rows["file_name"]):
            with seeded_draws(SEED, 0, index):
                expected = theirs[position[Path(name).name]]
            sample = ours[index]
            assert torch.equal(sample["pixel_values"], expected["img"]), name
            assert int(sample["labels"]) == expected["cls"], name
        return
    ours = AugmentedTaskDataset(rows, SIZE, task=task, seed=SEED)
    objects = 0
    for index in range(len(rows)):
        with seeded_draws(SEED, 0, index):
            expected = theirs[index]
        sample = ours[index]
        assert torch.equal(sample["pixel_values"], expected["img"].float() / 255), index
        labels = sample["labels"]
        if task == "semantic":
            assert torch.equal(labels, expected["semantic_mask"].long()), index
            assert set(labels.unique().tolist()) <= {0, 1, 2, 3, 255}, index
            continue
        if task == "depth":
            assert torch.equal(labels, expected["depth"][0]), index
            continue
        assert torch.equal(labels["class_labels"], expected["cls"].reshape(-1).long()), index
        width = 5 if task == "obb" else 4
        torch.testing.assert_close(labels["boxes"], expected["bboxes"].reshape(-1, width), atol=1e-4, rtol=0)
        objects += len(labels["boxes"])
        if task == "pose":
            torch.testing.assert_close(labels["keypoints"], expected["keypoints"], atol=1e-4, rtol=0)
        if task == "segment":  # Ultralytics' overlap map (objects by decreasing area), split into one mask each
            merged = (labels["masks"] * torch.arange(1, len(labels["masks"]) + 1).view(-1, 1, 1)).sum(0)
            assert labels["masks"].sum(0).max() <= 1, index
            assert torch.equal(merged, expected["masks"][0].long()), index
    assert task in ("semantic", "depth") or objects > 2 * len(rows)  # mosaic: more than the 1-3 objects of one image


def test_pose_flip_reorders_keypoints_through_flip_idx(tmp_path):
    rows = load_yolo_dataset(_folder(tmp_path, "pose"), cache_dir=tmp_path / "c")["train"]
    still = {"mosaic": 0.0, "translate": 0.0, "scale": 0.0, "hsv_h": 0.0, "hsv_s": 0.0, "hsv_v": 0.0}
    plain = AugmentedTaskDataset(rows, SIZE, task="pose", hyperparameters={**still, "fliplr": 0.0})
    mirrored = AugmentedTaskDataset(rows, SIZE, task="pose", hyperparameters={**still, "fliplr": 1.0})
    for index in range(len(rows)):
        a, b = plain[index], mirrored[index]
        assert torch.equal(b["pixel_values"], a["pixel_values"].flip(-1))
        expected = a["labels"]["keypoints"][:, FLIP_IDX].clone()  # left and right keypoints swap places ...
        expected[..., 0] = 1 - expected[..., 0]  # ... and mirrored (Ultralytics mirrors unlabelled ones too)
        torch.testing.assert_close(b["labels"]["keypoints"], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("task", ["segment", "obb", "classify", "depth"])
def test_reproducible_with_the_seed_and_the_process_generators_untouched(task, tmp_path):
    rows = load_yolo_dataset(_folder(tmp_path, task), cache_dir=tmp_path / "c")["train"]
    meta = read_metadata(rows)
    config = _config(task, meta.names, meta.kpt_shape)
    first, again, other = (training_dataset(config, rows, image_size=SIZE, seed=s)[0] for s in (1, 1, 2))
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    expected = (random.Random(123).random(), np.random.RandomState(123).rand(),
                torch.rand(1, generator=torch.Generator().manual_seed(123)).item())
    samples = [first[i] for i in range(4)]
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    for index, sample in enumerate(samples):
        repeat = again[index]
        assert torch.equal(sample["pixel_values"], repeat["pixel_values"])
        assert str(sample["labels"]) == str(repeat["labels"])
    assert not all(torch.equal(s["pixel_values"], other[i]["pixel_values"]) for i, s in enumerate(samples))
    first.set_epoch(1, 100)
    assert not torch.equal(first[0]["pixel_values"], samples[0]["pixel_values"])  # a new epoch draws anew


@pytest.mark.parametrize("task", ["segment", "pose", "obb", "semantic", "depth", "classify"])
def test_augmentation_is_off_with_one_argument_and_batches_feed_the_loss(task, tmp_path):
    from yolo_transformers.auto import model_class_for_task

    rows = load_yolo_dataset(_folder(tmp_path, task), cache_dir=tmp_path / "c")["train"]
    meta = read_metadata(rows)
    config = _config(task, meta.names, meta.kpt_shape)
    augmented, schedule = training_dataset(config, rows, image_size=SIZE, augment=True)
    plain, none = training_dataset(config, rows, image_size=SIZE, augment=False)
    assert none == [] and isinstance(schedule[0], AugmentationSchedule) and schedule[0].dataset is augmented
    letterboxed = TaskTransform(config, _processor(config), image_size=SIZE, metadata=meta)(rows[:1])
    assert torch.equal(plain[0]["pixel_values"], letterboxed["pixel_values"][0])
    assert not torch.equal(augmented[0]["pixel_values"], letterboxed["pixel_values"][0])
    batch = collate_for(config)([augmented[i] for i in range(4)])
    torch.manual_seed(0)
    loss = model_class_for_task(task)(config)(pixel_values=batch["pixel_values"], labels=batch["labels"]).loss
    assert torch.isfinite(loss) and loss > 0


def _processor(config):
    from yolo_transformers.image_processing_auto import processor_for_config

    return processor_for_config(config)


def test_bad_pose_metadata_and_labels_raise_typed_errors_naming_the_fix(tmp_path):
    from dataclasses import replace

    from yolo_transformers.errors import DatasetFormatError, UnsupportedTaskError

    rows = load_yolo_dataset(_folder(tmp_path, "pose"), cache_dir=tmp_path / "c")["train"]
    meta = read_metadata(rows)
    with pytest.raises(DatasetFormatError, match="needs 'kpt_shape'.*Fix: add kpt_shape to data.yaml"):
        AugmentedTaskDataset(rows, SIZE, task="pose", metadata=replace(meta, kpt_shape=None))
    wrong = AugmentedTaskDataset(rows, SIZE, task="pose", metadata=replace(meta, kpt_shape=[5, 3], flip_idx=[]))
    with pytest.raises(DatasetFormatError, match=r"row \d+: keypoints do not fit kpt_shape \[5, 3\]"):
        wrong[0]
    with pytest.raises(UnsupportedTaskError, match="not 'classify'.*training_dataset"):
        AugmentedTaskDataset(rows, SIZE, task="classify")
