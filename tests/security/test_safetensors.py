"""Malformed ``model.safetensors`` headers (attack class 14): always a WeightsError naming the file, never a bare
TypeError/RuntimeError, and nothing allocated from the declared shapes."""

from __future__ import annotations

import json
import shutil
import struct

import pytest

from tests.helpers import HUB_WARNINGS
from yolo_transformers import WeightsError, YoloForObjectDetection


def _write(path, header: object, data: bytes = b"\x00" * 16) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


HEADERS = {
    "dtype-list": {"w": {"dtype": ["F32"], "shape": [2], "data_offsets": [0, 8]}},
    "dtype-dict": {"w": {"dtype": {"F32": 1}, "shape": [2], "data_offsets": [0, 8]}},
    "huge-zero-shape": {"w": {"dtype": "F32", "shape": [0, 2**70], "data_offsets": [0, 0]}},
    "huge-dims": {"w": {"dtype": "F32", "shape": [1] * 64, "data_offsets": [0, 4]}},
    "float-shape": {"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}},
    "bool-offsets": {"w": {"dtype": "F32", "shape": [2], "data_offsets": [False, True]}},
    "entry-is-list": {"w": [1, 2, 3]},
    "entry-is-string": {"w": "F32"},
    "shape-is-string": {"w": {"dtype": "F32", "shape": "22", "data_offsets": [0, 8]}},
    "offsets-beyond-file": {"w": {"dtype": "F32", "shape": [2**20], "data_offsets": [0, 2**22]}},
    "not-an-object": [1, 2, 3],
    "missing-fields": {"w": {"dtype": "F32"}},
}


@pytest.mark.parametrize("case", sorted(HEADERS))
def test_malformed_headers_raise_weights_error(case, converted_tiny_detector, tmp_path):
    folder = tmp_path / case
    shutil.copytree(converted_tiny_detector, folder)
    _write(folder / "model.safetensors", HEADERS[case])
    with pytest.raises(WeightsError, match="model.safetensors"):
        YoloForObjectDetection.from_pretrained(folder)


@pytest.mark.parametrize("raw", [b"\xff" * 8, struct.pack("<Q", 10**18) + b"{}", struct.pack("<Q", 2) + b"[" * 2,
                                 struct.pack("<Q", 40000) + b"[" * 40000])
def test_unparsable_headers_raise_weights_error(raw, converted_tiny_detector, tmp_path):
    folder = tmp_path / "raw"
    shutil.copytree(converted_tiny_detector, folder)
    (folder / "model.safetensors").write_bytes(raw)
    with pytest.raises(WeightsError):
        YoloForObjectDetection.from_pretrained(folder)


@HUB_WARNINGS
def test_malformed_header_from_the_hub_is_a_weights_error(hub_server, hub_repo_name, converted_tiny_detector):
    import io

    from huggingface_hub import CommitOperationAdd

    repo_id = hub_repo_name()
    api = hub_server.api("alice")
    api.create_repo(repo_id)
    raw = json.dumps(HEADERS["dtype-list"]).encode()
    files = {"config.json": (converted_tiny_detector / "config.json").read_bytes(),
             "model.safetensors": struct.pack("<Q", len(raw)) + raw + b"\x00" * 16}
    api.create_commit(repo_id, [CommitOperationAdd(n, io.BytesIO(d)) for n, d in files.items()], commit_message="x")
    with pytest.raises(WeightsError, match="model.safetensors"):
        YoloForObjectDetection.from_pretrained(repo_id)
