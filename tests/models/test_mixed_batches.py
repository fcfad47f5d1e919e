"""Pipelines on lists of images of different sizes with ``batch_size=8``, for every task, and over a real split.

A pipeline preprocesses each image alone; its collate then letterboxes the batch to one shared shape, as
Ultralytics' predictor does for a mixed batch (``processing.batching``). Every image of such a batch gets exactly
the input it gets when letterboxed alone to that shape, so the batched results equal the per-image results at that
shape: the same detections, boxes within 0.5 px (the object-detection pipeline truncates boxes to ints: within 1).
"""

from __future__ import annotations

import copy

import io

import datasets
import numpy as np
import pytest
import torch
from PIL import Image
from transformers import pipeline

PIPELINE_TASKS = {"detect": "object-detection", "obb": "object-detection", "segment": "image-segmentation",
                  "semantic": "image-segmentation", "depth": "depth-estimation", "classify": "image-classification"}


def _mixed_sizes(path) -> list[Image.Image]:
    """Landscape, portrait and square versions of one photo: their minimal letterboxes all differ."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    return [image, image.resize((width // 2, height)), image.resize((width, height // 3)),
            image.crop((0, 0, width // 2, height // 2)), image.resize((width // 3, height // 3 * 2))]


def _full_square(folder):
    """The folder's processor, letterboxing every image alone to the full image_size (the batch's shared shape)."""
    from yolo_transformers import YoloConfig
    from yolo_transformers.auto import processor_for_config

    processor = copy.deepcopy(processor_for_config(YoloConfig.from_pretrained(folder)))
    if hasattr(processor, "minimal_padding"):
        processor.minimal_padding = False
    return processor


def _assert_same(task: str, single, batched) -> None:
    """Batched pipeline results equal the image's results alone at the batch's shared letterbox shape."""
    if task in ("detect", "obb"):
        assert [d["label"] for d in single] == [d["label"] for d in batched]
        for a, b in zip(single, batched):
            assert a["score"] == pytest.approx(b["score"], abs=1e-4)
            assert max(abs(a["box"][k] - b["box"][k]) for k in a["box"]) <= 1  # ints: 0.5 px and truncation
    elif task in ("segment", "semantic"):
        assert [d["label"] for d in single] == [d["label"] for d in batched]
        for a, b in zip(single, batched):
            assert (np.asarray(a["mask"]) == np.asarray(b["mask"])).mean() >= 0.999
    elif task == "depth":
        torch.testing.assert_close(single["predicted_depth"], batched["predicted_depth"], rtol=1e-4, atol=1e-5)
    else:
        assert [d["label"] for d in single] == [d["label"] for d in batched]
        assert [d["score"] for d in single] == pytest.approx([d["score"] for d in batched], abs=1e-5)


@pytest.mark.parametrize(
    ("source", "task", "kwargs"),
    [("tiny-detector", "detect", {"threshold": 0.25}), ("yolo11n-obb.yaml", "obb", {"threshold": 1e-4}),
     ("yolo11n-seg.yaml", "segment", {"threshold": 1e-6}), ("yolo26n-sem.yaml", "semantic", {}),
     ("yolo26n-depth.yaml", "depth", {}), ("yolo11n-cls.yaml", "classify", {})],
)
def test_pipeline_batches_images_of_different_sizes(source, task, kwargs, converted_task_model, tiny_detector_pt,
                                                     shapes_images, small_image):
    photo = shapes_images[0] if task == "detect" else small_image
    checkpoint = tiny_detector_pt if source == "tiny-detector" else None
    model = converted_task_model(checkpoint or source, images=[photo] if checkpoint else None)
    folder = str(model.output_dir)
    images = _mixed_sizes(photo)
    batched = pipeline(PIPELINE_TASKS[task], model=folder)(images, batch_size=8, **kwargs)
    alone = pipeline(PIPELINE_TASKS[task], model=folder, image_processor=_full_square(folder))
    assert len(batched) == len(images)
    for image, found in zip(images, batched):
        expected = alone(image, **kwargs)
        if task == "obb":  # random weights: many equal scores, whose order is arbitrary: compare sorted boxes
            order = lambda found: sorted(found, key=lambda d: (d["label"], *d["box"].values()))  # noqa: E731
            expected, found = order(expected), order(found)
        _assert_same(task, expected, found)
    if task in ("detect", "obb"):
        assert sum(len(found) for found in batched) >= len(images)  # real detections were compared


def test_key_dataset_over_a_real_split_of_mixed_sizes(converted_tiny_detector, shapes_dataset, tmp_path):
    from transformers.pipelines.pt_utils import KeyDataset

    from yolo_transformers.data import load_yolo_dataset, to_yolo_folder

    split = load_yolo_dataset(shapes_dataset)["validation"].select(range(8))

    def resize(row, index):  # a real split whose images differ in size: some rows re-encoded at other sizes
        image = row["image"].convert("RGB")
        width, height = image.size
        size = [(width, height), (width, height // 2), (width // 2, height), (width * 3 // 4, height)][index % 4]
        buffer = io.BytesIO()
        image.resize(size).save(buffer, "PNG")
        row["image"] = {"bytes": buffer.getvalue(), "path": f"{row['image_id']}.png"}
        row["width"], row["height"] = size
        return row

    mixed = split.map(resize, with_indices=True)
    folder = to_yolo_folder(datasets.DatasetDict({"train": mixed, "validation": mixed}), tmp_path / "mixed")
    real = load_yolo_dataset(folder, cache_dir=tmp_path / "cache")["validation"]
    assert len({(w, h) for w, h in zip(real["width"], real["height"])}) == 4

    detector = pipeline("object-detection", model=str(converted_tiny_detector))
    batched = list(detector(KeyDataset(real, "image"), batch_size=8, threshold=0.25))
    alone = pipeline("object-detection", model=str(converted_tiny_detector),
                     image_processor=_full_square(converted_tiny_detector))
    assert len(batched) == len(real)
    for image, found in zip(KeyDataset(real, "image"), batched):
        _assert_same("detect", alone(image, threshold=0.25), found)
    assert sum(len(found) for found in batched) >= len(real)
