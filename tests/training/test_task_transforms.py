"""``train_transform_for`` / ``collate_for``: rows of every task → the tensors its model's loss takes.

The flip test compares two datasets: a generated one, and its mirror image written as a YOLO folder by hand
(images mirrored, x → 1 - x in every label, keypoints re-ordered through ``flip_idx``, masks and depth maps mirrored).
Transforming the original with the flip forced on must give exactly what transforming the mirror gives without it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from tests.data_factory import FLIP_IDX, make_yolo_dataset
from yolo_transformers import YoloConfig
from yolo_transformers.data import load_yolo_dataset, read_metadata
from yolo_transformers.errors import DatasetFormatError, UnsupportedTaskError
from yolo_transformers.training.transforms import collate_for, train_transform_for

_YAMLS = {"detect": "yolov8n.yaml", "segment": "yolov8n-seg.yaml", "pose": "yolov8n-pose.yaml",
          "obb": "yolov8n-obb.yaml", "classify": "yolov8n-cls.yaml", "semantic": "yolo26n-sem.yaml",
          "depth": "yolo26n-depth.yaml"}


def _config(task: str, names: list[str], kpt_shape: list[int] | None = None) -> YoloConfig:
    from ultralytics.nn.tasks import yaml_model_load

    architecture = yaml_model_load(_YAMLS[task])
    architecture["nc"] = len(names)
    if kpt_shape:
        architecture["kpt_shape"] = kpt_shape
    return YoloConfig(architecture=architecture, task=task, image_size=96, stride=[8.0, 16.0, 32.0],
                      id2label=dict(enumerate(names)))


def _mirror(data_yaml: Path, task: str, root: Path) -> Path:
    """A left-right mirrored copy of a generated PNG dataset (see module docstring)."""
    shutil.copytree(data_yaml.parent, root)
    spec = yaml.safe_load((root / "data.yaml").read_text())
    spec["path"] = str(root)
    (root / "data.yaml").write_text(yaml.safe_dump(spec))
    for image in [*(root / "images").rglob("*.png"), *(root / "masks").rglob("*.png"), *(root / "depth").rglob("*.png")]:
        Image.open(image).transpose(Image.FLIP_LEFT_RIGHT).save(image)
    for label in (root / "labels").rglob("*.txt"):
        lines = []
        for row in (line.split() for line in label.read_text().splitlines() if line.strip()):
            values = [float(v) for v in row[1:]]
            if task == "pose":
                box, points = values[:4], np.array(values[4:]).reshape(-1, 3)
                points[:, 0] = np.where(points[:, 2] > 0, 1 - points[:, 0], points[:, 0])
                values = [1 - box[0], *box[1:], *points[FLIP_IDX].reshape(-1)]
            else:  # polygons and rotated-box corners: every even value is an x
                values = [1 - v if i % 2 == 0 else v for i, v in enumerate(values)]
            lines.append(" ".join([row[0], *(f"{v:.6f}" for v in values)]))
        label.write_text("".join(line + "\n" for line in lines))
    return root / "data.yaml"


@pytest.mark.parametrize("task", ["segment", "pose", "obb", "semantic", "depth"])
def test_flip_matches_a_mirrored_dataset(task, tmp_path):
    source = make_yolo_dataset(tmp_path / "src", task, image_format="png", image_size=(96, 72), backgrounds=0)
    original = load_yolo_dataset(source, cache_dir=tmp_path / "c")["train"]
    mirrored = load_yolo_dataset(_mirror(source, task, tmp_path / "mirror"), cache_dir=tmp_path / "c")["train"]
    meta = read_metadata(original)
    config = _config(task, meta.names, meta.kpt_shape)
    flipped = train_transform_for(config, image_size=96, metadata=meta, fliplr=1.0)(original[:4])
    plain = train_transform_for(config, image_size=96, metadata=meta)(mirrored[:4])

    torch.testing.assert_close(flipped["pixel_values"], plain["pixel_values"])
    if task in ("semantic", "depth"):
        torch.testing.assert_close(flipped["labels"], plain["labels"])
        return
    for ours, theirs in zip(flipped["labels"], plain["labels"]):
        assert set(ours) == set(theirs)
        torch.testing.assert_close(ours["class_labels"], theirs["class_labels"])
        torch.testing.assert_close(ours["boxes"], theirs["boxes"], atol=2e-5, rtol=0)  # 6-decimal labels
        if task == "pose":
            torch.testing.assert_close(ours["keypoints"], theirs["keypoints"], atol=2e-5, rtol=0)
        if task == "segment":  # rasterised from mirrored polygons: a few edge pixels may round differently
            assert (ours["masks"] != theirs["masks"]).float().mean() < 0.01


def test_labels_and_collate_feed_the_loss_of_every_task(tmp_path):
    for task in ["detect", "segment", "pose", "obb", "classify", "semantic", "depth"]:
        source = make_yolo_dataset(tmp_path / task, task, image_size=(96, 72))
        dataset = load_yolo_dataset(source, cache_dir=tmp_path / "c")["train"]
        meta = read_metadata(dataset)
        config = _config(task, meta.names, meta.kpt_shape)
        transform = train_transform_for(config, image_size=96, metadata=meta)
        batch = collate_for(config)([dataset.with_transform(transform)[i] for i in range(3)])
        assert batch["pixel_values"].shape == (3, 3, 96, 96), task
        from yolo_transformers.auto import model_class_for_task

        torch.manual_seed(0)
        model = model_class_for_task(task)(config)
        loss = model(pixel_values=batch["pixel_values"], labels=batch["labels"]).loss
        assert torch.isfinite(loss) and loss > 0, task
        if task == "semantic":  # padding rows (72 -> 96 letterbox) are ignored, mask values are class ids
            assert (batch["labels"][:, :12] == 255).all() and set(batch["labels"].unique().tolist()) <= {0, 1, 2, 3, 255}
        if task == "depth":  # stretched, not padded: metres everywhere but the invalid corner
            assert batch["labels"].max() == pytest.approx(4.0, abs=0.1) and batch["labels"].min() == 0
        if task == "classify":
            assert batch["labels"].dtype == torch.long and batch["labels"].shape == (3,)


def test_refusals_name_the_task(tmp_path):
    source = make_yolo_dataset(tmp_path / "pose", "pose")
    meta = read_metadata(load_yolo_dataset(source, cache_dir=tmp_path / "c"))
    config = _config("pose", meta.names, meta.kpt_shape)
    with pytest.raises(UnsupportedTaskError, match="augment=True for task 'pose'"):
        train_transform_for(config, augment=True)
    meta.flip_idx = None
    with pytest.raises(DatasetFormatError, match="fliplr > 0 on a pose dataset needs 'flip_idx'"):
        train_transform_for(config, metadata=meta, fliplr=0.5)
