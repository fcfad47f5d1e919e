"""``YoloImageProcessor(images, annotations=...)``: COCO targets through Ultralytics' letterbox, and batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo_transformers import YoloImageProcessor
from yolo_transformers.errors import DatasetFormatError
from yolo_transformers.training import DetectionTransform, coco_target, collate_fn


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)


def _ultralytics_letterbox(image_rgb: np.ndarray, boxes_xywh: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Ultralytics' own ``LetterBox`` (square, full padding) on an image and its normalized xywh labels."""
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.instance import Instances

    height, width = image_rgb.shape[:2]
    normalized = boxes_xywh / np.array([width, height, width, height])
    normalized[:, :2] += normalized[:, 2:] / 2
    labels = {
        "img": np.ascontiguousarray(image_rgb[..., ::-1]),
        "instances": Instances(normalized.astype(np.float32), bbox_format="xywh", normalized=True),
        "cls": np.zeros((len(boxes_xywh), 1)),
    }
    out = LetterBox(new_shape=(size, size), auto=False, scaleup=True)(labels=labels)
    return out["img"][..., ::-1], out["instances"].bboxes  # RGB image, xyxy pixels in the padded input


@pytest.mark.parametrize(("height", "width"), [(100, 200), (300, 120), (128, 128)])
def test_labels_follow_ultralytics_letterbox(height, width):
    image = _image(height, width)
    boxes = np.array([[10.0, 5.0, 40.0, 30.0], [width * 0.5, height * 0.4, width * 0.3, height * 0.5]])
    target = {"image_id": 3, "annotations": [{"bbox": b.tolist(), "category_id": c, "area": float(b[2] * b[3]),
                                              "iscrowd": 0} for b, c in zip(boxes, (1, 0))]}  # fmt: skip
    processor = YoloImageProcessor(image_size=128)

    features = processor(images=image, annotations=[target])
    expected_image, expected_xyxy = _ultralytics_letterbox(image, boxes, 128)

    pixels = (features["pixel_values"][0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(pixels, expected_image)
    label = features["labels"][0]
    assert label["class_labels"].tolist() == [1, 0]
    assert label["size"].tolist() == [128, 128] and label["orig_size"].tolist() == [height, width]
    assert label["image_id"].tolist() == [3]
    cx, cy, w, h = (label["boxes"] * 128).unbind(-1)
    ours = torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), -1).numpy()
    np.testing.assert_allclose(ours, expected_xyxy, atol=1e-3)


def test_annotations_force_one_square_input_size_and_clip():
    processor = YoloImageProcessor(image_size=64)  # minimal_padding=True by default: inference pads less
    assert processor(images=_image(32, 64))["pixel_values"].shape[-2:] == (32, 64)
    target = {"image_id": 0, "annotations": [
        {"bbox": [50.0, 20.0, 30.0, 30.0], "category_id": 0},  # crosses the right and bottom edges: clipped
        {"bbox": [70.0, 5.0, 10.0, 10.0], "category_id": 1},  # outside the image: dropped
        {"bbox": [0.0, 0.0, 10.0, 10.0], "category_id": 1, "iscrowd": 1},  # crowd: dropped (as Ultralytics' labels)
    ]}  # fmt: skip
    features = processor(images=_image(32, 64), annotations=target)
    assert features["pixel_values"].shape[-2:] == (64, 64)
    label = features["labels"][0]
    assert label["class_labels"].tolist() == [0]
    # x 50..64 (clipped), y 20..32 (clipped) in the original; letterbox: scale 1, 16 px of padding on top
    torch.testing.assert_close(label["boxes"], torch.tensor([[57 / 64, (16 + 26) / 64, 14 / 64, 12 / 64]]))
    assert label["area"].tolist() == [14 * 12]


def test_numpy_labels_and_empty_annotations():
    processor = YoloImageProcessor(image_size=64)
    features = processor(images=[_image(64, 64)], annotations=[{"image_id": 1, "annotations": []}],
                         return_tensors="np")  # fmt: skip
    assert isinstance(features["labels"][0]["boxes"], np.ndarray)
    assert features["labels"][0]["boxes"].shape == (0, 4)


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ([{"image_id": 0, "annotations": []}] * 2, "2 annotation dicts for 1 images"),
        ([{"image_id": 0}], "COCO detection format"),
        ([{"image_id": 0, "annotations": [{"bbox": [1, 2, 3, 4]}]}], "category_id"),
        ([{"image_id": 0, "annotations": [{"bbox": [1, 2, 3], "category_id": 0}]}], "4 numbers"),
        ([{"image_id": 0, "annotations": [{"bbox": [1, 2, -3, 4], "category_id": 0}]}], "negative"),
    ],
)
def test_malformed_annotations_raise_typed_errors(annotations, message):
    with pytest.raises(DatasetFormatError, match=message):
        YoloImageProcessor(image_size=64)(images=_image(40, 40), annotations=annotations)


def test_transform_and_collate_on_a_hub_schema_dataset():
    import datasets
    from PIL import Image

    rows = {
        "image_id": [0, 1],
        "image": [Image.fromarray(_image(48, 64, 1)), Image.fromarray(_image(64, 32, 2))],
        "objects": [
            {"id": [0], "area": [100.0], "bbox": [[4.0, 4.0, 10.0, 10.0]], "category": [1]},
            {"id": [1, 2], "area": [64.0, 16.0], "bbox": [[0.0, 0.0, 8.0, 8.0], [10.0, 10.0, 4.0, 4.0]],
             "category": [0, 1]},
        ],
    }  # fmt: skip
    dataset = datasets.Dataset.from_dict(rows).with_transform(DetectionTransform(YoloImageProcessor(image_size=64)))
    batch = collate_fn([dataset[0], dataset[1]])
    assert batch["pixel_values"].shape == (2, 3, 64, 64)
    assert [label["class_labels"].tolist() for label in batch["labels"]] == [[1], [0, 1]]
    # 48x64 image, scale 1, 8 px of padding on top: box (4, 4, 10, 10) -> centre (9, 17)
    torch.testing.assert_close(batch["labels"][0]["boxes"], torch.tensor([[9 / 64, 17 / 64, 10 / 64, 10 / 64]]))


def test_collate_refuses_mixed_input_sizes():
    samples = [{"pixel_values": torch.zeros(3, 64, 64), "labels": {}}, {"pixel_values": torch.zeros(3, 32, 64)}]
    with pytest.raises(DatasetFormatError, match="one input size"):
        collate_fn(samples)


def test_coco_target_rejects_mismatched_objects():
    with pytest.raises(DatasetFormatError, match="2 boxes but 1 categories"):
        coco_target(5, {"bbox": [[0, 0, 1, 1], [1, 1, 2, 2]], "category": [0]})


def test_transform_refuses_a_class_id_outside_the_model_naming_the_image():
    import datasets
    from PIL import Image

    rows = {
        "image_id": [3, 8],
        "image": [Image.fromarray(_image(48, 64, 1)), Image.fromarray(_image(64, 32, 2))],
        "objects": [{"bbox": [[4.0, 4.0, 10.0, 10.0]], "category": [1]},
                    {"bbox": [[0.0, 0.0, 8.0, 8.0], [1.0, 1.0, 4.0, 4.0]], "category": [0, 5]}],
    }  # fmt: skip
    transform = DetectionTransform(YoloImageProcessor(image_size=64), num_labels=2)
    dataset = datasets.Dataset.from_dict(rows).with_transform(transform)
    assert dataset[0]["labels"]["class_labels"].tolist() == [1]
    with pytest.raises(DatasetFormatError, match=r"image 8: class id 5 is outside the model's classes: the model has 2"):
        dataset[1]
    with pytest.raises(DatasetFormatError, match=r"image 4: class id -1 .*must not be negative"):
        coco_target(4, {"bbox": [[0, 0, 1, 1]], "category": [-1]})
