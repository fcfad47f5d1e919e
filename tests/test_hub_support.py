"""Shared helpers and fixtures of the ``test_hub_*`` modules (no tests here).

Everything talks to the local Hub (``tests.hub_server``) over HTTP with the real ``huggingface_hub`` client.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

# huggingface_hub's LFS upload passes a file object as `data=`, which httpx deprecates: not ours to fix.
HUB_WARNINGS = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")

MODEL_FILES = {"config.json", "model.safetensors", "preprocessor_config.json"}
WRITES = {"create_repo", "preupload", "lfs_batch", "lfs_upload", "lfs_verify", "commit", "branch", "tag"}


def detections_ours(model, processor, image_path: Path, threshold: float = 0.25) -> dict[str, np.ndarray]:
    """Boxes (xyxy, original pixels), scores and labels of a transformers YOLO model on one image file."""
    from PIL import Image

    image = Image.open(image_path).convert("RGB")
    inputs = processor(images=image, return_tensors="pt")
    with torch.no_grad():
        outputs = model(pixel_values=inputs["pixel_values"])
    found = processor.post_process_object_detection(outputs, threshold, [image.size[::-1]])[0]
    return _sorted(found["boxes"].double().numpy(), found["scores"].double().numpy(), found["labels"].numpy())


def detections_ultralytics(checkpoint: Path, image_path: Path) -> dict[str, np.ndarray]:
    """The same with ``ultralytics.YOLO(checkpoint).predict`` (default settings)."""
    from ultralytics import YOLO

    boxes = YOLO(str(checkpoint)).predict(str(image_path), verbose=False, device="cpu")[0].boxes
    return _sorted(boxes.xyxy.double().numpy(), boxes.conf.double().numpy(), boxes.cls.numpy().astype(np.int64))


def _sorted(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    return {"boxes": boxes[order], "scores": scores[order], "labels": labels[order].astype(np.int64)}


def assert_same_detections(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    """Same count and classes, boxes within half a pixel, scores within 1e-3."""
    assert len(ours["scores"]) == len(theirs["scores"]) > 0
    np.testing.assert_array_equal(ours["labels"], theirs["labels"])
    np.testing.assert_allclose(ours["boxes"], theirs["boxes"], atol=0.5)
    np.testing.assert_allclose(ours["scores"], theirs["scores"], atol=1e-3)


def model_variant(folder: Path, output: Path, seed: int) -> Path:
    """A copy of a converted folder whose weights differ (one head bias shifted): a "retrained" model."""
    from yolo_transformers import YoloForObjectDetection

    model = YoloForObjectDetection.from_pretrained(folder)
    bias = model.model.model[-1].cv3[0][-1].bias
    with torch.no_grad():
        bias += 0.01 * (seed + 1)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    shutil.copy(folder / "preprocessor_config.json", output / "preprocessor_config.json")
    return output


@pytest.fixture(scope="session")
def model_variants(converted_tiny_detector: Path, tmp_path_factory: pytest.TempPathFactory):
    """``model_variants(i)`` -> a folder with weights different from the tiny detector's and from each other's."""
    root = tmp_path_factory.mktemp("variants")
    made: dict[int, Path] = {}

    def make(seed: int) -> Path:
        if seed not in made:
            made[seed] = model_variant(converted_tiny_detector, root / f"variant-{seed}", seed)
        return made[seed]

    return make


@pytest.fixture(scope="session")
def pushed_checkpoint(hub_server, tiny_detector_pt: Path, shapes_images: list[Path]):
    """The tiny detector's ``.pt`` pushed (converted and verified on the way) to a fresh public repo of alice.

    Returns:
        The :class:`~yolo_transformers.hub.UploadResult`.
    """
    import uuid

    from yolo_transformers.hub import upload_model

    repo_id = f"alice/pushed-checkpoint-{uuid.uuid4().hex[:8]}"
    return upload_model(tiny_detector_pt, repo_id, token=hub_server.token("alice"), verify_images=shapes_images[:2])
