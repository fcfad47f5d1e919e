"""Helpers shared by several test modules (no tests, no fixtures: those live in ``tests/fixtures/plugin.py``).

Test modules import from here, never from each other.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

__all__ = [
    "REPO_ROOT",
    "HUB_WARNINGS",
    "MODEL_FILES",
    "WRITES",
    "assert_labels_close",
    "assert_same_detections",
    "detections_ours",
    "detections_ultralytics",
    "image_bytes",
    "model_variant",
    "take_gradients",
    "ultralytics_training_loss",
    "yolo_labels",
]

#: The repository checkout (``pyproject.toml``, ``conversion/``, ...): tests run commands from here.
REPO_ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------------------ Hub
# huggingface_hub's LFS upload passes a file object as `data=`, which httpx deprecates: not ours to fix.
HUB_WARNINGS = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")

#: The files a converted model folder holds.
MODEL_FILES = {"config.json", "model.safetensors", "preprocessor_config.json"}
#: Routes of the local Hub that change a repository.
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


# ------------------------------------------------------------------------------------------------------ YOLO folders
def yolo_labels(folder: Path) -> dict[str, list[list[float]]]:
    """Label rows per image (relative path without suffix); a missing label file equals an empty one."""
    out = {}
    for image in sorted((folder / "images").rglob("*.*")):
        rel = image.relative_to(folder / "images").with_suffix("")
        label = (folder / "labels" / rel).with_suffix(".txt")
        text = label.read_text() if label.exists() else ""
        out[str(rel)] = [[float(v) for v in line.split()] for line in text.splitlines() if line.strip()]
    return out


def image_bytes(folder: Path) -> dict[str, bytes]:
    """The bytes of every ``.jpg`` / ``.png`` under ``folder``, keyed by relative path."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in {".jpg", ".png"})
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def assert_labels_close(a: dict, b: dict) -> None:
    """Two :func:`yolo_labels` results: same images, rows and classes, coordinates within 1e-6."""
    assert a.keys() == b.keys()
    for key in a:
        assert len(a[key]) == len(b[key]), key
        for ra, rb in zip(a[key], b[key]):
            assert len(ra) == len(rb) and ra[0] == rb[0], key
            np.testing.assert_allclose(ra, rb, atol=1e-6, rtol=0, err_msg=key)


# ------------------------------------------------------------------------------------------------------- training
def ultralytics_training_loss(model, batch: dict) -> tuple[torch.Tensor, dict]:
    """Ultralytics' own training loss on ``model.model``, as its trainer computes it (criterion built from
    ``network.args``); the network is left as it was."""
    from yolo_transformers.loss.yolo_loss import training_hyperparameters

    network = model.model
    network.args = training_hyperparameters(model.config.train_args)
    network.criterion = None  # built from network.args by DetectionModel.loss
    try:
        loss, items = network.loss(batch)
    finally:
        del network.args
        network.criterion = None
    return loss.sum(), items


def take_gradients(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter's gradient; the model's gradients are cleared."""
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads
