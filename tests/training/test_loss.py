"""``forward(labels=...)``: Ultralytics' own loss, same numbers and gradients as ``DetectionModel.loss(batch)``."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import take_gradients, ultralytics_training_loss
from yolo_transformers import YoloConfig, YoloForObjectDetection, YoloImageProcessor
from yolo_transformers.errors import DatasetFormatError
from yolo_transformers.loss.targets import detection_batch
from yolo_transformers.loss.yolo_loss import get_criterion, training_hyperparameters
from yolo_transformers.training import EndToEndLossSchedule, collate_fn, coco_target


def _assert_same_gradients(ours: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    """Equal up to float32 noise: 1e-4 of each tensor's largest gradient (labels travel through pixel units)."""
    assert ours.keys() == reference.keys()
    for name, grad in ours.items():
        scale = float(reference[name].abs().max()) or 1.0
        torch.testing.assert_close(grad, reference[name], rtol=1e-3, atol=1e-4 * scale,
                                   msg=lambda message, name=name: f"{name}: {message}")


def _yolo_label_batch(images: list[Path]) -> dict[str, torch.Tensor]:
    """Ultralytics' batch read straight from the YOLO ``.txt`` labels (normalized xywh, the dataloader's layout)."""
    rows = []
    for index, image in enumerate(images):
        label = image.parents[2] / "labels" / image.parent.name / (image.stem + ".txt")
        for line in label.read_text().split("\n"):
            if line.strip():
                rows.append([index, *map(float, line.split())])
    table = torch.tensor(rows)
    return {"batch_idx": table[:, 0], "cls": table[:, 1:2], "bboxes": table[:, 2:6]}


@pytest.fixture(scope="module")
def e2e_model() -> YoloForObjectDetection:
    """A randomly initialised 2-class YOLO26n: dual-branch end-to-end head, Ultralytics' ``E2ELoss``."""
    from ultralytics.nn.tasks import yaml_model_load

    architecture = yaml_model_load("yolo26n.yaml")
    architecture["nc"] = 2
    torch.manual_seed(0)
    return YoloForObjectDetection(YoloConfig(architecture=architecture, stride=[8, 16, 32], image_size=64))


def test_loss_equals_ultralytics_on_processor_labels(converted_tiny_detector, shapes_images):
    """Labels made by the processor from COCO boxes give Ultralytics' loss on its own .txt labels, to float noise."""
    from PIL import Image

    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector).train()
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    images = shapes_images[:4]
    targets = []
    for index, path in enumerate(images):  # COCO boxes in pixels, from the YOLO labels
        batch = _yolo_label_batch([path])
        xywh = batch["bboxes"].numpy() * 128
        xywh[:, :2] -= xywh[:, 2:] / 2
        targets.append(coco_target(index, {"bbox": xywh.tolist(), "category": batch["cls"].view(-1).long().tolist()}))
    samples = []
    for path, target in zip(images, targets):
        features = processor(images=Image.open(path), annotations=[target])
        samples.append({"pixel_values": features["pixel_values"][0], "labels": features["labels"][0]})
    inputs = collate_fn(samples)
    state = copy.deepcopy(model.state_dict())  # BatchNorm statistics move in train mode: start both from the same

    ours = model(**inputs)
    ours.loss.backward()
    our_grads = take_gradients(model)

    model.load_state_dict(state)
    reference, items = ultralytics_training_loss(model, {"img": inputs["pixel_values"], **_yolo_label_batch(images)})
    reference.backward()
    reference_grads = take_gradients(model)

    assert ours.loss.shape == ()
    assert ours.loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert set(ours.loss_dict) == {"box", "cls", "dfl"}
    for name, key in (("box", "box_loss"), ("cls", "cls_loss"), ("dfl", "dfl_loss")):
        assert ours.loss_dict[name].item() == pytest.approx(items[key].item(), rel=1e-5)
    # the documented scale: what Ultralytics' trainer back-propagates = batch size x the per-image components
    assert ours.loss.item() == pytest.approx(4 * sum(v.item() for v in ours.loss_dict.values()), rel=1e-5)
    _assert_same_gradients(our_grads, reference_grads)


def test_end_to_end_head_uses_ultralytics_e2e_loss(e2e_model):
    model = e2e_model.train()
    pixel_values = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    labels = [
        {"class_labels": torch.tensor([0, 1]), "boxes": torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.6, 0.6, 0.3, 0.2]])},
        {"class_labels": torch.tensor([1]), "boxes": torch.tensor([[0.5, 0.5, 0.4, 0.4]])},
    ]
    state = copy.deepcopy(model.state_dict())
    ours = model(pixel_values, labels=labels)
    ours.loss.backward()
    our_grads = take_gradients(model)

    model.load_state_dict(state)
    batch = {"img": pixel_values, **detection_batch(labels, "cpu")}
    reference, items = ultralytics_training_loss(model, batch)
    reference.backward()
    reference_grads = take_gradients(model)

    assert type(get_criterion(model)).__name__ == "E2ELoss"
    assert ours.loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert set(ours.loss_dict) == {"box", "cls", "l1"}  # YOLO26: reg_max=1, no DFL; one-to-one items, as Ultralytics
    assert ours.loss_dict["cls"].item() == pytest.approx(items["cls_loss"].item(), rel=1e-5)
    _assert_same_gradients(our_grads, reference_grads)


@pytest.mark.parametrize("end_to_end", [False, True], ids=["classic-head", "end-to-end-head"])
def test_training_forward_runs_the_head_once_with_the_inference_outputs(end_to_end, e2e_model):
    """With labels, the head's training-form run feeds both the loss and ``logits``/``pred_boxes``: each branch's
    convolutions run once (not a second inference pass), and the outputs equal a label-free forward's."""
    from ultralytics.nn.tasks import yaml_model_load

    if end_to_end:
        model = e2e_model
    else:
        architecture = yaml_model_load("yolov8n.yaml")
        architecture["nc"] = 2
        torch.manual_seed(0)
        model = YoloForObjectDetection(YoloConfig(architecture=architecture, stride=[8, 16, 32], image_size=64))
    model.train()
    head = model.model.model[-1]
    pixel_values = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    labels = [{"class_labels": torch.tensor([0]), "boxes": torch.tensor([[0.4, 0.4, 0.3, 0.2]])},
              {"class_labels": torch.tensor([1]), "boxes": torch.tensor([[0.6, 0.5, 0.2, 0.4]])}]
    runs = {"one2many": 0, "one2one": 0}
    hooks = [head.cv3[0].register_forward_hook(lambda *unused: runs.__setitem__("one2many", runs["one2many"] + 1))]
    if end_to_end:
        hooks.append(head.one2one_cv3[0].register_forward_hook(
            lambda *unused: runs.__setitem__("one2one", runs["one2one"] + 1)))
    state = copy.deepcopy(model.state_dict())
    try:
        with_labels = model(pixel_values, labels=labels)
        counted = dict(runs)
        model.load_state_dict(state)  # BatchNorm statistics moved: the label-free forward starts from the same
        without = model(pixel_values)
    finally:
        for hook in hooks:
            hook.remove()
    assert counted == {"one2many": 1, "one2one": int(end_to_end)}
    assert with_labels.loss is not None and without.loss is None
    torch.testing.assert_close(with_labels.logits, without.logits, rtol=0, atol=0)
    torch.testing.assert_close(with_labels.pred_boxes, without.pred_boxes, rtol=0, atol=0)


def test_end_to_end_schedule_moves_weight_to_one_to_one(e2e_model):
    from types import SimpleNamespace

    schedule = EndToEndLossSchedule()
    schedule.on_train_begin(SimpleNamespace(num_train_epochs=3), None, None, model=e2e_model)
    criterion = get_criterion(e2e_model)
    start = criterion.o2m
    schedule.on_epoch_end(SimpleNamespace(num_train_epochs=3), None, None, model=e2e_model)
    assert criterion.o2m < start and criterion.o2o == pytest.approx(1 - criterion.o2m)


def test_gradient_step_changes_weights_and_lowers_the_loss(converted_tiny_detector, shapes_images):
    from PIL import Image

    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector).train()
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    image = Image.open(shapes_images[0])
    label = _yolo_label_batch([shapes_images[0]])
    labels = [{"class_labels": 1 - label["cls"].view(-1).long(), "boxes": label["bboxes"]}]  # swapped classes: wrong
    pixel_values = processor(images=image, minimal_padding=False)["pixel_values"]
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    head_weight = model.model.model[-1].cv3[0][-1].weight
    before = head_weight.detach().clone()

    first = model(pixel_values, labels=labels).loss
    first.backward()
    optimizer.step()
    optimizer.zero_grad()
    second = model(pixel_values, labels=labels).loss

    assert not torch.equal(before, head_weight.detach())
    assert second.item() < first.item()


def test_hyperparameters_come_from_train_args_with_ultralytics_defaults(converted_tiny_detector):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    assert training_hyperparameters(None).box == 7.5 and training_hyperparameters(None).dfl == 1.5
    model.config.train_args = {**(model.config.train_args or {}), "box": 1.0}
    assert get_criterion(model).hyp.box == 1.0
    model.config.train_args = None
    assert get_criterion(model).hyp.box == 7.5  # rebuilt when train_args change


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([{"class_labels": torch.tensor([0]), "boxes": torch.tensor([[30.0, 40.0, 10.0, 10.0]])}], "normalized"),
        ([{"class_labels": torch.tensor([0, 1]), "boxes": torch.tensor([[0.5, 0.5, 0.1, 0.1]])}], r"\(N, 4\)"),
        ([{"labels": torch.tensor([0])}], "class_labels"),
        ([], "one per image"),
        ({"class_labels": torch.tensor([0]), "boxes": torch.zeros(1, 4)}, "one per image|list"),
    ],
)
def test_malformed_labels_raise_typed_errors(converted_tiny_detector, labels, message):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    with pytest.raises(DatasetFormatError, match=message):
        model(torch.rand(1, 3, 64, 64), labels=labels)


def test_images_without_objects_train_like_ultralytics(converted_tiny_detector):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector).train()
    labels = [{"class_labels": torch.zeros(0, dtype=torch.long), "boxes": torch.zeros(0, 4)}] * 2
    pixel_values = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    state = copy.deepcopy(model.state_dict())
    ours = model(pixel_values, labels=labels)
    model.load_state_dict(state)
    reference, _ = ultralytics_training_loss(model, {"img": pixel_values, **detection_batch(labels, "cpu")})
    assert ours.loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert np.isfinite(ours.loss.item()) and ours.loss_dict["box"].item() == 0.0


def test_class_id_outside_the_model_names_the_image_and_the_id(converted_tiny_detector, shapes_images):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    bad = model.config.num_labels + 3
    targets = [{"image_id": 11, "annotations": [{"bbox": [10, 10, 20, 20], "category_id": 0}]},
               {"image_id": 42, "annotations": [{"bbox": [5, 5, 30, 30], "category_id": bad}]}]
    features = processor(images=[Image.open(path) for path in shapes_images[:2]], annotations=targets)
    with pytest.raises(DatasetFormatError, match=rf"labels\[1\] \(image_id 42\) has class id {bad}, outside the "
                                                 rf"model's {model.config.num_labels} classes"):
        model(features["pixel_values"], labels=features["labels"])
    with pytest.raises(DatasetFormatError, match=r"labels\[0\] has class id -1"):
        model(torch.rand(1, 3, 64, 64), labels=[{"class_labels": torch.tensor([-1]), "boxes": torch.rand(1, 4)}])
