"""Hostile checkpoints (attack classes 1-3): nothing in a pickle runs, no allocation exceeds the file, and
converting leaves no process-wide state changed."""

from __future__ import annotations

import copy
import pickle
import resource

import dill
import pytest
import torch

from yolo_transformers import CheckpointError, UnsafeCheckpointError
from yolo_transformers.convert import convert_checkpoint
from yolo_transformers.convert.checkpoint import load_checkpoint
from tests.security.corpus import (Reduce, bytes8_bomb_pickle, marker_activation, memo_bomb_pickle, raw_archive,
                                   save_with, shared_list_bomb, stride_bomb, touch_command, trusted_checkpoint)
from tests.security.guards import assert_same_process_state, snapshot_process_state


class CustomBlock(torch.nn.Module):
    """A module class outside Ultralytics and torch, as a custom training fork would pickle."""


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ 1: no code runs
def _constructor_call_payload(tiny_detector_pt, marker):
    """``DetectionModel(cfg)`` with an activation string that Ultralytics' constructor evaluates."""
    from ultralytics.nn.tasks import DetectionModel

    cfg = copy.deepcopy(trusted_checkpoint(tiny_detector_pt)["model"].yaml)
    cfg["activation"] = marker_activation(marker)
    return Reduce(DetectionModel, cfg)


def test_pickle_calling_an_allowlisted_constructor_is_refused(tiny_detector_pt, tmp_path, marker):
    hostile = save_with(tiny_detector_pt, tmp_path / "ctor.pt",
                        lambda c: c.update(model=_constructor_call_payload(tiny_detector_pt, marker), ema=None))
    with pytest.raises(UnsafeCheckpointError, match=r"calls ultralytics\.nn\.tasks\.DetectionModel") as error:
        load_checkpoint(hostile)
    assert "Nothing was run" in str(error.value)
    with pytest.raises(UnsafeCheckpointError):
        convert_checkpoint(hostile, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_constructor_payload_is_live_under_a_class_allowlist(tiny_detector_pt, tmp_path):
    """What the old loader did (torch weights_only + Ultralytics classes allowed) runs the payload: the test above
    is not vacuous."""
    from ultralytics.nn.tasks import DetectionModel

    live_marker = tmp_path / "live"
    hostile = save_with(tiny_detector_pt, tmp_path / "ctor.pt",
                        lambda c: c.update(model=_constructor_call_payload(tiny_detector_pt, live_marker), ema=None))
    with torch.serialization.safe_globals([DetectionModel]):
        loaded = torch.load(hostile, weights_only=True)
    assert live_marker.exists() and isinstance(loaded["model"], DetectionModel)


@pytest.mark.parametrize("payload", ["os.system", "getattr-private", "dill-bytes-type", "protocol0-inst"])
def test_code_named_by_the_pickle_never_runs(payload, tiny_detector_pt, tmp_path, marker):
    import os

    from ultralytics.nn.tasks import DetectionModel

    hostile = tmp_path / f"{payload}.pt"
    if payload == "protocol0-inst":  # INST opcode: calls os.system without a REDUCE
        raw_archive(hostile, f"(S'{touch_command(marker)}'\nios\nsystem\n.".encode())
    else:
        value = {"os.system": Reduce(os.system, touch_command(marker)),
                 "getattr-private": Reduce(getattr, DetectionModel, "__init__"),
                 "dill-bytes-type": Reduce(dill._dill._load_type, "bytes")}[payload]
        save_with(tiny_detector_pt, hostile, lambda c: c["train_args"].update(note=value))
    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint(hostile)
    assert "refused" in str(error.value) or "Nothing was run" in str(error.value)


def test_custom_module_needs_trust_flag(tiny_detector_pt, tmp_path, caplog):
    custom = save_with(tiny_detector_pt, tmp_path / "custom.pt", lambda c: c.update(extra=CustomBlock()))
    with pytest.raises(UnsafeCheckpointError, match="CustomBlock"):
        load_checkpoint(custom)
    with caplog.at_level("WARNING"):
        source = load_checkpoint(custom, trust_checkpoint=True)
    assert "trust-checkpoint" in caplog.text
    assert source.task == "detect"


def test_pickled_network_must_be_what_its_yaml_builds(tiny_detector_pt, tmp_path):
    """A module swapped in the pickle (here an extra layer) cannot hide behind an innocent yaml."""

    def edit(ckpt):
        ckpt["model"].model[0].extra = torch.nn.Conv2d(1, 1, 1)

    altered = save_with(tiny_detector_pt, tmp_path / "altered.pt", edit)
    with pytest.raises(CheckpointError, match=r"differs from what its own architecture"):
        load_checkpoint(altered)


# ---------------------------------------------------------------------------------------- 2: resource bombs
@pytest.mark.parametrize("bomb", ["bytes", "bytearray", "zero-stride", "overlapping-stride", "outside-storage",
                                  "shared-lists"])
def test_allocation_bombs_raise_checkpoint_error(bomb, tiny_detector_pt, tmp_path):
    values = {
        "bytes": lambda: Reduce(bytes, 1 << 40),
        "bytearray": lambda: Reduce(bytearray, 1 << 40),
        "zero-stride": lambda: stride_bomb((1 << 20, 1 << 20), (0, 0)),
        "overlapping-stride": lambda: stride_bomb((1 << 16, 1 << 16), (1, 1)),
        "outside-storage": lambda: stride_bomb((4,), (1 << 40,)),
        "shared-lists": shared_list_bomb,
    }
    hostile = save_with(tiny_detector_pt, tmp_path / f"{bomb}.pt", lambda c: c["train_args"].update(x=values[bomb]()))
    assert hostile.stat().st_size < 16 << 20  # a few MiB of file asking for terabytes
    before = _peak_rss_mib()
    with pytest.raises(CheckpointError):
        load_checkpoint(hostile)
    assert _peak_rss_mib() - before < 512


@pytest.mark.parametrize("make", [memo_bomb_pickle, bytes8_bomb_pickle], ids=["memo-index", "bytes8-length"])
def test_pickle_opcode_bombs_raise_checkpoint_error(make, tmp_path):
    hostile = raw_archive(tmp_path / "bomb.pt", make())
    before = _peak_rss_mib()
    with pytest.raises(CheckpointError):
        load_checkpoint(hostile)
    assert _peak_rss_mib() - before < 512


def test_storage_that_does_not_match_its_member_is_refused(tmp_path):
    """A storage declaring 2**40 floats backed by an 8-byte member."""
    pickled = pickle.dumps(None, protocol=2)  # replaced below by a hand-written persistent id
    pid = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu\x8a\x06\x00\x00\x00\x00\x00\x01tQ."
    raw_archive(tmp_path / "storage.pt", pickled[:2] + pid, {"0": b"\x00" * 8})
    with pytest.raises(CheckpointError, match="declares"):
        load_checkpoint(tmp_path / "storage.pt")


# ----------------------------------------------------------------------------------- 3: process-wide state
def _weights_only_trusts(probe) -> bool:
    """Whether torch's own ``weights_only`` loader (process-wide safe globals) accepts a pickled DetectionModel."""
    try:
        torch.load(probe, weights_only=True)
    except pickle.UnpicklingError:
        return False
    return True


def test_convert_leaves_no_process_state_changed(tiny_detector_pt, shapes_images, tmp_path, process_state):
    from ultralytics.nn.tasks import DetectionModel

    probe = tmp_path / "probe.pt"
    torch.save({"m": DetectionModel.__new__(DetectionModel)}, probe)
    trusted_before = _weights_only_trusts(probe)  # other code in this process may have registered it already
    convert_checkpoint(tiny_detector_pt, tmp_path / "out", verify_images=shapes_images[:1])
    assert_same_process_state(process_state, snapshot_process_state())
    assert _weights_only_trusts(probe) == trusted_before


def test_trusted_convert_leaves_no_process_state_changed(tiny_detector_pt, shapes_images, tmp_path, process_state):
    convert_checkpoint(tiny_detector_pt, tmp_path / "out", verify_images=shapes_images[:1], trust_checkpoint=True)
    assert_same_process_state(process_state, snapshot_process_state())


# ----------------------------------------------------------------- what the stricter reader must still load
@pytest.mark.parametrize("pickler", ["pickle", "dill"])
def test_this_release_checkpoints_load_pickled_with_and_without_dill(pickler, tiny_detector_pt, tmp_path):
    kwargs = {"pickle_module": dill} if pickler == "dill" else {}
    path = save_with(tiny_detector_pt, tmp_path / f"{pickler}.pt", lambda c: None, **kwargs)
    safe = load_checkpoint(path)
    trusted = load_checkpoint(path, trust_checkpoint=True)
    assert safe.train_args == trusted.train_args and safe.names == trusted.names
    ours, theirs = safe.network.state_dict(), trusted.network.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(safe.network(x)[0], trusted.network(x)[0], rtol=0, atol=0)


def test_pickled_attributes_never_size_tensors_but_numerics_reach_the_reference(tiny_detector_pt, tmp_path):
    """An Upsample scale of 1e6 in the pickle is not taken (it would allocate terabytes on the first forward);
    a BatchNorm eps is, so the parity reference computes as pickled and a difference is caught."""
    from yolo_transformers.errors import ParityError

    def edit(ckpt):
        network = ckpt["model"]
        upsample = next(m for m in network.modules() if isinstance(m, torch.nn.Upsample))
        upsample.scale_factor = 1e6
        network.model[0].bn.eps = 0.5

    altered = save_with(tiny_detector_pt, tmp_path / "attrs.pt", edit)
    source = load_checkpoint(altered)
    assert all(m.scale_factor == 2.0 for m in source.network.modules() if isinstance(m, torch.nn.Upsample))
    assert source.network.model[0].bn.eps == 0.5
    with pytest.raises(ParityError):
        convert_checkpoint(altered, tmp_path / "out", verify_images=[])
    assert not (tmp_path / "out").exists()


def test_pickled_architecture_naming_torchvision_is_refused(tiny_detector_pt, tmp_path):
    """The network is rebuilt from the pickled yaml, which is checked like a config.json: a layer that downloads and
    unpickles weights (TorchVision) is refused before anything is built."""

    def edit(ckpt):
        ckpt["model"].yaml["backbone"].insert(0, [-1, 1, "TorchVision", [768, "convnext_tiny", "DEFAULT", True, 2]])

    hostile = save_with(tiny_detector_pt, tmp_path / "torchvision.pt", edit)
    with pytest.raises(UnsafeCheckpointError, match="TorchVision"):
        load_checkpoint(hostile)
