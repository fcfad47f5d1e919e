"""``download_model`` and ``from_pretrained`` against the local Hub: parity with Ultralytics, pins, privacy, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import (
    HUB_WARNINGS,
    MODEL_FILES,
    REPO_ROOT,
    assert_same_detections,
    detections_ours,
    detections_ultralytics,
)
from yolo_transformers import YoloForObjectDetection, YoloImageProcessor
from yolo_transformers.errors import HubError
from yolo_transformers.hub import download_model, upload_model

pytestmark = HUB_WARNINGS


def test_pushed_checkpoint_pulls_into_transformers_and_ultralytics_with_identical_detections(
    pushed_checkpoint, tiny_detector_pt, shapes_images, tmp_path
):
    repo_id = pushed_checkpoint.repo_id
    model = YoloForObjectDetection.from_pretrained(repo_id).eval()  # straight from the Hub, public repo
    processor = YoloImageProcessor.from_pretrained(repo_id)
    folder = download_model(repo_id)
    checkpoint = download_model(repo_id, format="ultralytics", local_dir=tmp_path)

    assert {p.name for p in folder.iterdir()} == MODEL_FILES | {"README.md"}  # only what a model needs
    assert checkpoint == tmp_path / f"{repo_id.split('/')[1]}.pt" and checkpoint.is_file()
    for image in shapes_images[:3]:
        ours = detections_ours(model, processor, image)
        assert_same_detections(ours, detections_ultralytics(checkpoint, image))
        assert_same_detections(ours, detections_ultralytics(tiny_detector_pt, image))  # and the original .pt

    cached = download_model(repo_id, format="ultralytics")  # default: next to the HF cache, keyed by commit
    assert cached.parent.name == pushed_checkpoint.commit_oid
    assert download_model(repo_id, format="ultralytics") == cached


def test_pinned_pulls_by_tag_branch_and_sha(hub_server, hub_repo_name, converted_tiny_detector, model_variants):
    repo_id = hub_repo_name()
    token = hub_server.token("alice")
    v1 = upload_model(converted_tiny_detector, repo_id, token=token, tag="v1.0")
    branch = upload_model(model_variants(10), repo_id, token=token, revision="candidate")
    v2 = upload_model(model_variants(11), repo_id, token=token)

    def weights(path: Path) -> dict[str, torch.Tensor]:
        return load_file(path / "model.safetensors")

    expected = {
        "v1.0": converted_tiny_detector, v1.commit_oid: converted_tiny_detector,
        "candidate": model_variants(10), branch.commit_oid: model_variants(10),
        "main": model_variants(11),
    }
    for revision, source in expected.items():
        folder = download_model(repo_id, revision=revision)
        assert (folder / "model.safetensors").read_bytes() == (source / "model.safetensors").read_bytes(), revision
    assert download_model(repo_id).name == v2.commit_oid

    pinned = YoloForObjectDetection.from_pretrained(repo_id, revision="v1.0", token=token)
    reference = weights(converted_tiny_detector)
    for key, value in pinned.state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=0)
    assert YoloForObjectDetection.from_pretrained(repo_id, revision=branch.commit_oid).config.task == "detect"
    with pytest.raises(HubError, match="revision 'nope' not found"):
        download_model(repo_id, revision="nope")


def test_private_repo_is_readable_only_with_its_owners_token(hub_server, hub_repo_name, converted_tiny_detector):
    repo_id = hub_repo_name(prefix="private-detector")
    alice = hub_server.token("alice")
    upload_model(converted_tiny_detector, repo_id, token=alice, private=True)
    assert hub_server.api("alice").model_info(repo_id).private

    # Refusals first: once alice has pulled, huggingface_hub would serve this machine's cache to anyone.
    with pytest.raises(HubError, match="not found, or private") as as_bob:
        download_model(repo_id, token=hub_server.token("bob"))
    with pytest.raises(HubError, match="not found, or private"):
        download_model(repo_id)  # anonymous: no HF_TOKEN, no stored login in the test HF_HOME
    with pytest.raises(OSError):
        YoloForObjectDetection.from_pretrained(repo_id, token=hub_server.token("bob"))
    assert "\n" not in str(as_bob.value)

    model = YoloForObjectDetection.from_pretrained(repo_id, token=hub_server.token("alice", "read"))
    assert model.config.num_labels == 2
    assert (download_model(repo_id, token=alice) / "model.safetensors").is_file()


def test_repo_without_a_model_is_refused(hub_server, hub_repo_name):
    repo_id = hub_repo_name()
    api = hub_server.api("alice")
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"not a model", path_in_repo="notes.txt", repo_id=repo_id)

    with pytest.raises(HubError, match="no config.json"):
        download_model(repo_id)
    with pytest.raises(ValueError, match="format"):
        download_model(repo_id, format="onnx")


def test_offline_mode_pulls_from_the_cache(hub_server, pushed_checkpoint):
    repo_id = pushed_checkpoint.repo_id
    online = download_model(repo_id)
    script = (  # HF_HUB_OFFLINE is read when huggingface_hub is imported: a fresh interpreter
        "import sys\n"
        "from yolo_transformers import YoloForObjectDetection\n"
        "from yolo_transformers.errors import HubError\n"
        "from yolo_transformers.hub import download_model\n"
        "print(download_model(sys.argv[1]))\n"
        "print(YoloForObjectDetection.from_pretrained(sys.argv[1]).config.num_labels)\n"
        "try:\n"
        "    download_model('alice/never-pulled')\n"
        "except HubError as error:\n"
        "    print(error)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    with hub_server.capture_requests() as seen:
        result = subprocess.run([sys.executable, "-c", script, repo_id], env=env, capture_output=True, text=True,
                                timeout=120, cwd=REPO_ROOT)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[:2] == [str(online), "2"]
    assert "alice/never-pulled is not in the local cache" in lines[2] and "HF_HUB_OFFLINE" in lines[2]
    assert seen == []
