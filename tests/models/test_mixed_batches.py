"""Batches of images of different sizes give exactly the results each image gets alone, for every task.

A pipeline preprocesses each image alone (its own minimal letterbox) and ``torch.cat``s them; the model runs the
images grouped by letterbox shape and pads the outputs back into one batch with each image's own ``input_size``
(``processing.batching``), so every image sees the input it sees alone. Compared here against each image alone:
same labels and count, boxes and keypoints within 0.5 px (the object-detection pipeline truncates boxes to ints:
within 1 there, 0.5 px checked on the processor's float boxes), scores within 1e-4, masks and maps equal.
Models: the trained tiny detector and the trained tiny task models (real detections).
"""

from __future__ import annotations

import io

import datasets
import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModel, pipeline
from transformers.pipelines.base import pad_collate_fn

PIPELINE_TASKS = {"detect": "object-detection", "obb": "object-detection", "segment": "image-segmentation",
                  "semantic": "image-segmentation", "depth": "depth-estimation", "classify": "image-classification"}
#: Thresholds at which the trained tiny models find objects in their validation images.
THRESHOLDS = {"detect": 0.25, "obb": 0.05, "segment": 1e-3, "pose": 1e-4}
POST_PROCESS = {"detect": "post_process_object_detection", "obb": "post_process_oriented_object_detection",
                "segment": "post_process_instance_segmentation", "pose": "post_process_pose_estimation"}


def _mixed_sizes(path) -> list[Image.Image]:
    """Landscape, portrait, wide and small versions of one photo: their minimal letterboxes differ."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    return [image, image.resize((width // 2, height)), image.resize((width, height // 3)),
            image.crop((0, 0, width // 2, height // 2)), image.resize((width // 3, height // 3 * 2))]


@pytest.fixture(scope="module")
def task_folder(trained_task_checkpoint, trained_task_images, converted_task_model, converted_tiny_detector,
                shapes_images):
    """``task_folder(task)`` -> (converted model folder, one image the model detects things in)."""

    def make(task: str):
        if task == "detect":
            return str(converted_tiny_detector), shapes_images[0]
        images = trained_task_images(task)[:2]
        return str(converted_task_model(trained_task_checkpoint(task), images=images).output_dir), images[0]

    return make


def _letterbox_shapes(folder: str, images: list[Image.Image]) -> set[tuple[int, int]]:
    processor = AutoImageProcessor.from_pretrained(folder)
    return {tuple(processor(images=image)["pixel_values"].shape[-2:]) for image in images}


def _same_pipeline_results(task: str, alone, batched) -> None:
    if task in ("detect", "obb"):
        assert [d["label"] for d in alone] == [d["label"] for d in batched]
        for a, b in zip(alone, batched):
            assert a["score"] == pytest.approx(b["score"], abs=1e-4)
            assert max(abs(a["box"][k] - b["box"][k]) for k in a["box"]) <= 1  # ints: 0.5 px and truncation
    elif task in ("segment", "semantic"):
        assert [d["label"] for d in alone] == [d["label"] for d in batched]
        for a, b in zip(alone, batched):
            assert np.array_equal(np.asarray(a["mask"]), np.asarray(b["mask"]))
    elif task == "depth":
        torch.testing.assert_close(batched["predicted_depth"], alone["predicted_depth"], rtol=1e-4, atol=1e-5)
    else:
        assert [d["label"] for d in alone] == [d["label"] for d in batched]
        assert [d["score"] for d in alone] == pytest.approx([d["score"] for d in batched], abs=1e-4)


@pytest.mark.parametrize("task", ["detect", "obb", "segment", "semantic", "depth", "classify"])
def test_pipeline_on_images_of_different_sizes_equals_each_image_alone(task, task_folder):
    folder, photo = task_folder(task)
    images = _mixed_sizes(photo)
    if task not in ("depth", "classify"):  # those processors give every image one shape (stretch / centre crop)
        assert len(_letterbox_shapes(folder, images)) >= 3  # the batch really mixes letterbox shapes
    kwargs = {"threshold": THRESHOLDS[task]} if task in THRESHOLDS else {}
    runner = pipeline(PIPELINE_TASKS[task], model=folder)
    batched = runner(images, batch_size=4, **kwargs)
    assert len(batched) == len(images)
    for image, found in zip(images, batched):
        _same_pipeline_results(task, runner(image, **kwargs), found)
    if task in ("detect", "obb", "segment"):
        assert sum(len(found) for found in batched) >= len(images)  # real detections were compared


def _collated(processor, images: list[Image.Image]) -> dict:
    """What a pipeline hands the model: each image preprocessed alone, then transformers' ``pad_collate_fn``."""
    return pad_collate_fn(None, processor)([dict(processor(images=image)) for image in images])


def _sliced(outputs, index: int) -> dict:
    """Image ``index`` of batched outputs, as a pipeline slices them before post-processing."""
    return {key: value[index:index + 1] for key, value in outputs.items()}


@pytest.mark.parametrize("task", ["detect", "obb", "segment", "pose"])
def test_each_image_of_a_mixed_batch_post_processes_to_its_own_results(task, task_folder):
    folder, photo = task_folder(task)
    images = _mixed_sizes(photo)
    model, processor = AutoModel.from_pretrained(folder).eval(), AutoImageProcessor.from_pretrained(folder)
    post = getattr(processor, POST_PROCESS[task])
    threshold = THRESHOLDS[task]
    with torch.no_grad():
        batch = model(**_collated(processor, images))
        shapes = [tuple(processor(images=image)["pixel_values"].shape[-2:]) for image in images]
        assert batch["input_size"].tolist() == [list(shape) for shape in shapes]
        found = 0
        for index, image in enumerate(images):
            size = [image.size[::-1]]
            alone = post(model(**processor(images=image)), threshold=threshold, target_sizes=size)[0]
            batched = post(_sliced(batch, index), threshold=threshold, target_sizes=size)[0]
            assert batched["labels"].tolist() == alone["labels"].tolist()
            torch.testing.assert_close(batched["scores"], alone["scores"], rtol=0, atol=1e-4)
            torch.testing.assert_close(batched["boxes"], alone["boxes"], rtol=0, atol=0.5)
            if task == "pose":
                torch.testing.assert_close(batched["keypoints"], alone["keypoints"], rtol=0, atol=0.5)
            if task == "segment":
                for ours, theirs in zip(batched["masks"], alone["masks"]):
                    assert (ours & theirs).sum() / (ours | theirs).sum() >= 0.99
            found += len(alone["labels"])
    assert found >= len(images)


def test_padded_anchors_never_become_detections_even_at_threshold_zero(task_folder):
    folder, photo = task_folder("detect")
    images = _mixed_sizes(photo)
    model, processor = AutoModel.from_pretrained(folder).eval(), AutoImageProcessor.from_pretrained(folder)
    with torch.no_grad():
        batch = model(**_collated(processor, images))
        padded_images = 0
        for index, image in enumerate(images):
            size, unlimited = [image.size[::-1]], {"iou_threshold": 1.0, "max_det": 10**6}
            own = model(**processor(images=image))
            padded_images += own["logits"].shape[1] < batch["logits"].shape[1]
            alone = processor.post_process_object_detection(own, 0.0, size, **unlimited)[0]
            batched = processor.post_process_object_detection(_sliced(batch, index), 0.0, size, **unlimited)[0]
            assert len(batched["scores"]) == len(alone["scores"]) <= own["logits"].shape[1]
            torch.testing.assert_close(batched["boxes"], alone["boxes"], rtol=0, atol=0.5)
    assert padded_images >= 3  # most images had padded anchors that could have been selected


def test_semantic_and_prototype_maps_are_cut_to_each_image(task_folder):
    for task, field in (("semantic", "logits"), ("segment", "proto_masks")):
        folder, photo = task_folder(task)
        images = _mixed_sizes(photo)
        model, processor = AutoModel.from_pretrained(folder).eval(), AutoImageProcessor.from_pretrained(folder)
        with torch.no_grad():
            batch = model(**_collated(processor, images))
            sizes = {tuple(s) for s in batch["input_size"].tolist()}
            assert len(sizes) >= 3 and batch["padded_input_size"][0].tolist() == [max(s[0] for s in sizes),
                                                                                  max(s[1] for s in sizes)]
            for index, image in enumerate(images):
                alone = model(**processor(images=image))[field][0]
                height, width = alone.shape[-2:]
                torch.testing.assert_close(batch[field][index, :, :height, :width], alone, rtol=1e-4, atol=1e-4)
                assert not batch[field][index, :, height:].any() and not batch[field][index, :, :, width:].any()


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
    assert len(batched) == len(real)
    for image, found in zip(KeyDataset(real, "image"), batched):
        _same_pipeline_results("detect", detector(image, threshold=0.25), found)
    assert sum(len(found) for found in batched) >= len(real)


def test_onnx_runtime_model_on_images_of_different_sizes_equals_each_image_alone(converted_tiny_detector,
                                                                                 shapes_images, tmp_path):
    model = AutoModel.from_pretrained(converted_tiny_detector).eval()
    processor = AutoImageProcessor.from_pretrained(converted_tiny_detector)
    model.export(tmp_path, format="onnx", processor=processor, images=shapes_images[:1])
    detector = pipeline("object-detection", model=str(tmp_path), model_kwargs={"runtime": "onnx"})
    images = _mixed_sizes(shapes_images[0])
    batched = detector(images, batch_size=4, threshold=0.25)
    for image, found in zip(images, batched):
        _same_pipeline_results("detect", detector(image, threshold=0.25), found)
    assert sum(len(found) for found in batched) >= len(images)
