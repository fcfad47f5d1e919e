"""``forward(labels=...)`` of the task models: Ultralytics' own loss, same numbers and gradients as ``network.loss``."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from tests.helpers import take_gradients, ultralytics_training_loss
from yolo_transformers import YoloConfig
from yolo_transformers.errors import DatasetFormatError
from yolo_transformers.loss.yolo_loss import LOSS_NAMES
from yolo_transformers.auto import model_class_for_task

SIZE = 64


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Tiny 64-px networks: one intra-op thread is fastest and immune to other processes' load."""


def _model(model_yaml: str, task: str, nc: int = 2, **extra):
    from ultralytics.nn.tasks import yaml_model_load

    architecture = yaml_model_load(model_yaml)
    architecture["nc"] = nc
    architecture.update(extra)
    torch.manual_seed(0)
    config = YoloConfig(architecture=architecture, task=task, stride=[8, 16, 32], image_size=SIZE)
    return model_class_for_task(task)(config).train()


def _compare(model, pixel_values, labels, batch, names):
    """Our loss == Ultralytics' loss (rel 1e-5), same loss items, and the same non-empty gradients."""
    state = copy.deepcopy(model.state_dict())  # BatchNorm statistics move in train mode: start both from the same
    ours = model(pixel_values, labels=labels)
    ours.loss.backward()
    our_grads = take_gradients(model)
    model.load_state_dict(state)
    reference, items = ultralytics_training_loss(model, {"img": pixel_values, **batch})
    reference.backward()
    reference_grads = take_gradients(model)

    assert ours.loss.shape == ()
    assert math.isfinite(ours.loss.item()) and ours.loss.item() > 0
    assert ours.loss.item() == pytest.approx(reference.item(), rel=1e-5)
    names = names or {key: LOSS_NAMES[key] for key in items}
    assert set(ours.loss_dict) == set(names.values())
    for key, name in names.items():
        assert ours.loss_dict[name].item() == pytest.approx(items[key].item(), rel=1e-5, abs=1e-7)
    assert our_grads and our_grads.keys() == reference_grads.keys()
    for name, grad in our_grads.items():
        scale = float(reference_grads[name].abs().max()) or 1.0
        torch.testing.assert_close(grad, reference_grads[name], rtol=1e-3, atol=1e-4 * scale)
    assert any(float(g.abs().sum()) > 0 for g in our_grads.values())
    return ours


def _pixels(seed: int = 1) -> torch.Tensor:
    return torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


BOXES = [torch.tensor([[0.3, 0.3, 0.25, 0.25], [0.6, 0.55, 0.5, 0.375]]), torch.tensor([[0.5, 0.5, 0.5, 0.5]])]
CLASSES = [torch.tensor([0, 1]), torch.tensor([1])]


def _box_masks(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Binary masks filling each normalized cxcywh box, at ``size`` (distinct areas: no sorting ties)."""
    masks = torch.zeros(len(boxes), size, size)
    for i, (cx, cy, w, h) in enumerate((boxes * size).tolist()):
        masks[i, round(cy - h / 2) : round(cy + h / 2), round(cx - w / 2) : round(cx + w / 2)] = 1
    return masks


@pytest.mark.parametrize("model_yaml", ["yolov8n-seg.yaml", "yolo26n-seg.yaml"])
def test_instance_segmentation_loss_equals_ultralytics(model_yaml):
    model = _model(model_yaml, "segment")
    pixel_values = _pixels()
    # Ultralytics' overlap batch at 1/4 resolution: per image, objects sorted by decreasing area, index i + 1
    low = [_box_masks(b, SIZE // 4) for b in BOXES]
    full = [m.repeat_interleave(4, 1).repeat_interleave(4, 2) for m in low]  # ours: input-resolution masks
    labels = [{"class_labels": c, "boxes": b, "masks": m} for c, b, m in zip(CLASSES, BOXES, full)]
    order = [torch.tensor([1, 0]), torch.tensor([0])]
    masks, sem = [], []
    for m, o, c in zip(low, order, CLASSES):
        merged = torch.zeros(SIZE // 4, SIZE // 4)
        for i, j in enumerate(o.tolist()):
            merged = torch.maximum(merged, m[j] * (i + 1))
        masks.append(merged)
        sem.append(torch.where(merged > 0, c[o][(merged.long() - 1).clamp_min(0)].float(), 0.0))
    batch = {
        "batch_idx": torch.tensor([0.0, 0.0, 1.0]),
        "cls": torch.cat([c[o] for c, o in zip(CLASSES, order)]).float().view(-1, 1),
        "bboxes": torch.cat([b[o] for b, o in zip(BOXES, order)]),
        "masks": torch.stack(masks),
        "sem_masks": torch.stack(sem),
    }
    ours = _compare(model, pixel_values, labels, batch, None)  # box, seg, cls, dfl (YOLO26: l1), sem
    assert ours.loss_dict["seg"] > 0


def test_instance_segmentation_loss_without_overlap_masks():
    """``overlap_mask=False``: per-object masks in batch order, as Ultralytics' dataloader then builds them."""
    model = _model("yolo11n-seg.yaml", "segment")
    model.config.train_args = {"overlap_mask": False}
    low = [_box_masks(b, SIZE // 4) for b in BOXES]
    full = [m.repeat_interleave(4, 1).repeat_interleave(4, 2) for m in low]
    labels = [{"class_labels": c, "boxes": b, "masks": m} for c, b, m in zip(CLASSES, BOXES, full)]
    batch = {
        "batch_idx": torch.tensor([0.0, 0.0, 1.0]),
        "cls": torch.cat(CLASSES).float().view(-1, 1),
        "bboxes": torch.cat(BOXES),
        "masks": torch.cat(low),
        "sem_masks": torch.zeros(2, SIZE // 4, SIZE // 4),  # read by YOLO26's semantic branch only
    }
    ours = _compare(model, _pixels(), labels, batch, None)
    assert ours.loss_dict["seg"] > 0


@pytest.mark.parametrize("model_yaml", ["yolo11n-pose.yaml", "yolo26n-pose.yaml"])
def test_pose_loss_equals_ultralytics(model_yaml):
    model = _model(model_yaml, "pose", nc=1, kpt_shape=[4, 3])
    g = torch.Generator().manual_seed(2)
    labels = []
    for boxes in BOXES:
        xy = boxes[:, None, :2] + (torch.rand(len(boxes), 4, 2, generator=g) - 0.5) * boxes[:, None, 2:]
        visible = torch.tensor([2.0, 2.0, 1.0, 0.0]).expand(len(boxes), 4)[..., None]
        keypoints = torch.cat((xy, visible), -1)
        labels.append({"class_labels": torch.zeros(len(boxes)), "boxes": boxes, "keypoints": keypoints})
    batch = {
        "batch_idx": torch.tensor([0.0, 0.0, 1.0]),
        "cls": torch.zeros(3, 1),
        "bboxes": torch.cat(BOXES),
        "keypoints": torch.cat([label["keypoints"] for label in labels]),
    }
    ours = _compare(model, _pixels(), labels, batch, None)  # box, pose, kobj, cls, dfl (YOLO26: l1, rle)
    assert ours.loss_dict["pose"] > 0


@pytest.mark.parametrize("model_yaml", ["yolov8n-obb.yaml", "yolo26n-obb.yaml"])
def test_obb_loss_equals_ultralytics(model_yaml):
    model = _model(model_yaml, "obb")
    angles = [torch.tensor([0.3, -0.2]), torch.tensor([1.0])]
    labels = [{"class_labels": c, "boxes": torch.cat((b, a[:, None]), 1)} for c, b, a in zip(CLASSES, BOXES, angles)]
    batch = {
        "batch_idx": torch.tensor([0.0, 0.0, 1.0]),
        "cls": torch.cat(CLASSES).float().view(-1, 1),
        "bboxes": torch.cat([label["boxes"] for label in labels]),
    }
    _compare(model, _pixels(), labels, batch, None)  # box, cls, dfl (YOLO26: l1), angle


def test_classification_loss_equals_ultralytics():
    model = _model("yolo11n-cls.yaml", "classify", nc=3)
    labels = torch.tensor([2, 0])
    ours = _compare(model, _pixels(), labels, {"cls": labels}, {"loss": "cls"})
    assert ours.loss.item() == pytest.approx(torch.nn.functional.cross_entropy(ours.logits, labels).item(), rel=1e-5)


def test_semantic_segmentation_loss_equals_ultralytics():
    model = _model("yolo26n-sem.yaml", "semantic", nc=3)
    labels = torch.randint(0, 3, (2, SIZE, SIZE), generator=torch.Generator().manual_seed(3))
    labels[0, :4] = 255  # ignored pixels
    _compare(model, _pixels(), labels, {"semantic_mask": labels},
             {"ce_loss": "ce", "dice_loss": "dice", "aux_loss": "aux"})


def test_depth_loss_equals_ultralytics():
    model = _model("yolo26n-depth.yaml", "depth", nc=1)
    depth = torch.rand(2, SIZE, SIZE, generator=torch.Generator().manual_seed(4)) * 10 + 0.5
    depth[1, :8] = 0  # invalid pixels
    _compare(model, _pixels(), depth, {"depth": depth}, {"dlog_loss": "dlog", "dgrad_loss": "dgrad"})


def test_task_labels_are_validated():
    model = _model("yolo11n-cls.yaml", "classify", nc=3)
    with pytest.raises(DatasetFormatError):
        model(_pixels(), labels=torch.tensor([0.5, 1.0]))
    seg = _model("yolov8n-seg.yaml", "segment")
    with pytest.raises(DatasetFormatError):
        seg(_pixels(), labels=[{"class_labels": CLASSES[0], "boxes": BOXES[0]}] * 2)  # no masks
    obb = _model("yolov8n-obb.yaml", "obb")
    with pytest.raises(DatasetFormatError):
        obb(_pixels(), labels=[{"class_labels": c, "boxes": b} for c, b in zip(CLASSES, BOXES)])  # no angle


def test_no_labels_no_loss():
    model = _model("yolo11n-cls.yaml", "classify", nc=3).eval()
    with torch.no_grad():
        outputs = model(_pixels())
    assert outputs.loss is None and outputs.loss_dict is None
    assert len(outputs.to_tuple()) == 1


@pytest.mark.parametrize(
    ("model_yaml", "task", "labels", "message"),
    [
        ("yolov8n-obb.yaml", "obb",
         [{"class_labels": [0], "boxes": [[0.5, 0.5, 0.2, 0.1, 0.3]]},
          {"class_labels": [1, 7], "boxes": [[0.5, 0.5, 0.2, 0.1, 0.0]] * 2}],
         r"labels\[1\] has class id 7, outside the model's 2 classes"),
        ("yolo11n-cls.yaml", "classify", torch.tensor([0, 5]), r"labels\[1\] has class id 5, outside the model's 2"),
        ("yolo26n-sem.yaml", "semantic", torch.cat((torch.zeros(1, SIZE, SIZE), torch.full((1, SIZE, SIZE), 4.0))).long(),
         r"labels\[1\] has class id 4, outside the model's 2 classes"),
    ],
)
def test_class_ids_outside_the_model_raise_a_typed_error(model_yaml, task, labels, message):
    model = _model(model_yaml, task)
    with pytest.raises(DatasetFormatError, match=message):
        model(torch.rand(2, 3, SIZE, SIZE), labels=labels)
