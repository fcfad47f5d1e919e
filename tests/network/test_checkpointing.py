"""``gradient_checkpointing_enable()`` on every task model: same loss, gradients and BatchNorm statistics."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.helpers import take_gradients
from yolo_transformers import YoloConfig
from yolo_transformers.auto import model_class_for_task

SIZE = 64

TASK_MODELS = [("yolov8n.yaml", "detect", {}), ("yolo11n-seg.yaml", "segment", {}),
               ("yolo11n-pose.yaml", "pose", {"kpt_shape": [4, 3]}), ("yolov8n-obb.yaml", "obb", {}),
               ("yolo11n-cls.yaml", "classify", {}), ("yolo26n-sem.yaml", "semantic", {}),
               ("yolo26n-depth.yaml", "depth", {})]


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Tiny 64-px networks: one intra-op thread is fastest and immune to other processes' load."""


def _model(model_yaml: str, task: str, extra: dict):
    from ultralytics.nn.tasks import yaml_model_load

    architecture = {**yaml_model_load(model_yaml), "nc": 2, **extra}
    torch.manual_seed(0)
    config = YoloConfig(architecture=architecture, task=task, stride=[8, 16, 32], image_size=SIZE)
    return model_class_for_task(task)(config).train()


def _scalar(outputs) -> torch.Tensor:
    """A loss-like scalar that reads every output tensor of the forward."""
    tensors = [v for v in outputs.values() if torch.is_tensor(v) and v.is_floating_point()]
    return sum((t.float() ** 2).mean() for t in tensors)


@pytest.mark.parametrize(("model_yaml", "task", "extra"), TASK_MODELS, ids=[t for _, t, _ in TASK_MODELS])
def test_checkpointing_gives_the_same_gradients_and_statistics(model_yaml, task, extra):
    plain = _model(model_yaml, task, extra)
    checkpointed = copy.deepcopy(plain)
    checkpointed.gradient_checkpointing_enable()
    assert checkpointed.is_gradient_checkpointing and not plain.is_gradient_checkpointing
    pixel_values = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))

    layer = checkpointed.model.model[1]
    forward, calls = layer.forward, []

    def counted(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    layer.forward = counted  # (torch's recomputation skips module hooks, so count the forward itself)
    loss = _scalar(checkpointed(pixel_values=pixel_values))
    loss.backward()
    del layer.forward
    reference = _scalar(plain(pixel_values=pixel_values))
    reference.backward()

    assert len(calls) == 2  # the layer ran again in the backward pass: its activations were not kept
    torch.testing.assert_close(loss, reference, rtol=1e-6, atol=0)
    ours, theirs = take_gradients(checkpointed), take_gradients(plain)
    assert ours and ours.keys() == theirs.keys()
    for name, grad in theirs.items():
        torch.testing.assert_close(ours[name], grad, rtol=1e-5, atol=1e-6 * float(grad.abs().max() or 1.0))
    for (name, buffer), (_, expected) in zip(checkpointed.named_buffers(), plain.named_buffers()):
        assert torch.equal(buffer, expected), name  # BatchNorm statistics updated once, not twice

    checkpointed.gradient_checkpointing_disable()
    assert not checkpointed.is_gradient_checkpointing
