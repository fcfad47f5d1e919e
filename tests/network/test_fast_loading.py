"""The pieces that make ``from_pretrained`` fast: the safetensors map, the head clone and the quiet config repr."""

from __future__ import annotations

import copy
import json
import logging
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file
from ultralytics.nn.modules import head as ultralytics_head

from yolo_transformers import WeightsError, YoloConfig, YoloForObjectDetection
from yolo_transformers.compat import fast_head_copies
from yolo_transformers.network.module_clone import clone_module
from yolo_transformers.network.safetensors_map import map_safetensors
from yolo_transformers.network.architecture import build_network


def test_map_equals_safetensors_load_file(converted_tiny_detector):
    path = converted_tiny_detector / "model.safetensors"
    expected = load_file(str(path))
    mapped = map_safetensors(path)
    assert mapped.keys() == expected.keys()
    for name, tensor in expected.items():
        assert mapped[name].dtype == tensor.dtype and mapped[name].shape == tensor.shape, name
        assert torch.equal(mapped[name], tensor), name
    pointers = [t.untyped_storage().data_ptr() for t in mapped.values() if t.numel()]
    assert len(set(pointers)) == len(pointers)  # one storage per tensor: save_pretrained sees no shared weights


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.bool, torch.uint16,
                                   torch.float8_e4m3fn])
def test_map_reads_every_dtype(tmp_path, dtype):
    tensors = {"a": torch.arange(24).reshape(2, 3, 4).to(dtype), "scalar": torch.tensor(3).to(dtype),
               "empty": torch.zeros(0, 5, dtype=dtype)}  # fmt: skip
    save_file(tensors, str(tmp_path / "t.safetensors"))
    mapped = map_safetensors(tmp_path / "t.safetensors")
    for name, tensor in tensors.items():
        assert mapped[name].dtype == dtype and torch.equal(mapped[name], tensor), name


def test_writing_a_mapped_tensor_leaves_the_file_alone(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"w": torch.ones(1000)}, str(path))
    before = path.read_bytes()
    mapped = map_safetensors(path)
    mapped["w"].zero_()
    assert path.read_bytes() == before
    assert torch.equal(map_safetensors(path)["w"], torch.ones(1000))


def test_map_reads_misaligned_tensors(tmp_path):
    """A writer other than safetensors' own may leave a float32 tensor at an odd offset: it is copied, not viewed."""
    header = {"flag": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
              "w": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]}}  # fmt: skip
    header_bytes = json.dumps(header).encode()
    path = tmp_path / "odd.safetensors"
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + b"\x07" + struct.pack("<2f", 1.5, -2.0))
    mapped = map_safetensors(path)
    assert mapped["flag"].tolist() == [7] and mapped["w"].tolist() == [1.5, -2.0]


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x01\x00", "truncated or corrupt"),
        (struct.pack("<Q", 10**9) + b"{}", "header length"),
        (struct.pack("<Q", 4) + b"[1]\x20", "not an object"),
        (struct.pack("<Q", 2) + b"{]", "unreadable header"),
    ],
)
def test_map_refuses_damaged_headers(tmp_path, payload, message):
    path = tmp_path / "model.safetensors"
    path.write_bytes(payload)
    with pytest.raises(WeightsError, match=message) as error:
        map_safetensors(path)
    assert str(path) in str(error.value)


def test_map_refuses_size_mismatch_and_truncation(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(WeightsError, match=r"'w' holds 8 bytes, but F32 of shape \[3\] needs 12"):
        map_safetensors(path)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(WeightsError, match=r"is truncated: tensor 'w'"):
        map_safetensors(path)


def _write_header(path, header: dict, data: bytes) -> None:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


@pytest.mark.parametrize(
    "header, message",
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, "'b' overlaps"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [8, 4]}}, "non-negative integers"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0.5, 8.5]}}, "non-negative integers"),
        ({"w": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 8]}}, "needs"),
        ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, "dtype 'C64'.*not support"),
        ({"w": {"shape": [1], "data_offsets": [0, 8]}}, "unreadable header entry"),
    ],
)  # fmt: skip
def test_map_refuses_inconsistent_entries(tmp_path, header, message):
    path = tmp_path / "model.safetensors"
    _write_header(path, header, bytes(16))
    with pytest.raises(WeightsError, match=message) as error:
        map_safetensors(path)
    assert str(path) in str(error.value)


def test_map_refuses_deeply_nested_headers(tmp_path):
    path = tmp_path / "model.safetensors"
    nested = ("[" * 100000 + "]" * 100000).encode()
    path.write_bytes(struct.pack("<Q", len(nested)) + nested)
    with pytest.raises(WeightsError, match="unreadable header"):
        map_safetensors(path)


def test_clone_module_is_an_independent_deep_copy():
    from ultralytics.nn.modules.conv import Conv, DWConv

    original = torch.nn.Sequential(Conv(8, 16, 3), DWConv(16, 16, 3), torch.nn.Conv2d(16, 4, 1))
    original[0].bn.running_mean.uniform_()
    original[2].weight.requires_grad_(False)
    original[0].note = {"nested": [1, 2]}  # a mutable attribute goes through copy.deepcopy
    clone = clone_module(original)
    reference = copy.deepcopy(original)
    assert [type(m) for m in clone.modules()] == [type(m) for m in reference.modules()]
    for (name, value), (_, expected) in zip(clone.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(value, expected), name
    assert not clone[2].weight.requires_grad and clone[0].conv.weight.requires_grad
    x = torch.rand(1, 8, 12, 12)
    assert torch.equal(clone.eval()(x), reference.eval()(x))
    clone[0].conv.weight.data.zero_()
    clone[0].note["nested"].append(3)
    assert original[0].conv.weight.abs().sum() > 0 and original[0].note == {"nested": [1, 2]}
    assert clone[0].bn.running_mean.data_ptr() != original[0].bn.running_mean.data_ptr()


def test_clone_module_keeps_ties_and_leaf_tensors_like_deepcopy():
    tied = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4))
    tied[1].weight = tied[0].weight
    tied.scale = torch.ones(3, requires_grad=True)  # a tensor attribute, not a parameter
    clone = clone_module(tied)
    assert clone[0].weight is clone[1].weight and clone[0].weight is not tied[0].weight
    assert clone.scale.is_leaf and clone.scale.requires_grad and clone.scale is not tied.scale


def test_fast_head_copies_nests_without_deadlock():
    with fast_head_copies(), fast_head_copies():
        assert ultralytics_head.copy is not copy
    assert ultralytics_head.copy is copy


def test_fast_head_copies_builds_the_same_end_to_end_head():
    """YOLO26's one-to-one branch, built with the fast clone, has Ultralytics' structure; the patch is undone."""
    from ultralytics.nn.tasks import DetectionModel

    config = YoloConfig(architecture=DetectionModel("yolo26n.yaml", verbose=False).yaml, stride=[8.0, 16.0, 32.0])
    reference_head = DetectionModel("yolo26n.yaml", verbose=False).model[-1]
    head = build_network(config.architecture, "detect", config.stride).model[-1]
    assert ultralytics_head.copy is copy
    for branch in ("one2one_cv2", "one2one_cv3"):
        ours, theirs = getattr(head, branch), getattr(reference_head, branch)
        assert [type(m) for m in ours.modules()] == [type(m) for m in theirs.modules()]
        assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
        assert {id(p) for p in ours.parameters()}.isdisjoint(id(p) for p in head.cv2.parameters())
    with pytest.raises(RuntimeError, match="boom"), fast_head_copies():
        raise RuntimeError("boom")
    assert ultralytics_head.copy is copy


def test_config_repr_is_complete_outside_loading(converted_tiny_detector, caplog):
    config = YoloConfig.from_pretrained(converted_tiny_detector)
    assert '"architecture"' in repr(config) and repr(config).startswith("YoloConfig {")
    with caplog.at_level(logging.INFO, logger="transformers.configuration_utils"):
        YoloConfig.from_pretrained(converted_tiny_detector)
    assert any('"architecture"' in record.getMessage() for record in caplog.records)  # INFO log still has it all


def test_loaded_model_is_in_eval_mode_with_its_stored_dtype(converted_tiny_detector):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    assert not any(module.training for module in model.modules())
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    half = YoloForObjectDetection.from_pretrained(converted_tiny_detector, dtype=torch.float16)
    assert {p.dtype for p in half.parameters()} == {torch.float16} and half.dtype == torch.float16
    assert half.model.model[-1].stride.dtype == torch.float16  # cast like Ultralytics' model.half()
