"""``Trainer`` fine-tunes a model of every non-detection task on a generated dataset, and its metric improves.

Each task's tiny model (really trained on generated shapes, ``tests/fixtures/tiny_tasks.py``) is fine-tuned for a
few dozen CPU steps, through ``train_transform_for`` / ``collate_for``, on a relabelled copy of the data it learned:
class ids permuted (segment, pose, obb, classify; ``label_mapping`` for semantic masks). It starts with the right
geometry and the wrong labels, so ``evaluate`` (Ultralytics' metric definitions) is low before and must rise after.
Depth has no labels to permute, and Ultralytics' depth metrics align each image's median scale (a rescaled copy would
score the same), so the depth model, trained for only 4 epochs, is fine-tuned on its own data and must keep improving. The left-right flip (``fliplr``) is on where the task's
labels follow a mirror (pose through ``flip_idx``, obb through its corners, masks and maps with their images).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from tests.fixtures.tiny_tasks import TRAINED, trained_task_data
from yolo_transformers.auto import model_class_for_task
from yolo_transformers.data import load_yolo_dataset, read_metadata
from yolo_transformers.training import evaluate
from yolo_transformers.training.transforms import collate_for, train_transform_for

logger = logging.getLogger(__name__)

#: task -> (metric that must improve, True when higher is better, training epochs, learning rate).
CASES = {
    "segment": ("mAP50(M)", True, 6, 2e-3),
    "pose": ("mAP50(B)", True, 6, 2e-3),
    "obb": ("mAP50(B)", True, 10, 5e-3),
    "classify": ("accuracy_top1", True, 6, 2e-3),
    "semantic": ("mIoU", True, 6, 2e-3),
    "depth": ("abs_rel", False, 6, 2e-3),
}


def _relabelled(task: str, root: Path) -> Path:
    """A copy of the task's training data with classes permuted (depth: unchanged); returns what load_yolo_dataset takes."""
    source = trained_task_data(task)
    if task == "classify":
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("*.cache"))
        names = sorted(p.name for p in (root / "train").iterdir())
        (root / "data.yaml").write_text(yaml.safe_dump({"train": "train", "val": "val", "names": names[1:] + names[:1]}))
        return root
    shutil.copytree(source.parent, root, ignore=shutil.ignore_patterns("*.cache"))
    spec = yaml.safe_load((root / "data.yaml").read_text())
    spec["path"] = str(root)
    n = len(spec["names"])
    if task == "semantic":  # background stays 0, shapes rotate: 1 -> 2 -> 3 -> 1
        spec["label_mapping"] = {k: 1 + k % (n - 1) for k in range(1, n)}
    elif task != "depth":
        for label in (root / "labels").rglob("*.txt"):
            rows = [line.split() for line in label.read_text().splitlines() if line.strip()]
            label.write_text("".join(f"{(int(r[0]) + 1) % n} {' '.join(r[1:])}\n" for r in rows))
    (root / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root / "data.yaml"


@pytest.mark.parametrize("task", sorted(CASES))
def test_fine_tuning_improves_the_metric(task, converted_task_model, trained_task_checkpoint, tmp_path):
    from transformers import Trainer, TrainingArguments

    metric, higher_is_better, epochs, learning_rate = CASES[task]
    imgsz = TRAINED[task][1]
    dataset = load_yolo_dataset(_relabelled(task, tmp_path / "data"), cache_dir=tmp_path / "cache")
    folder = converted_task_model(trained_task_checkpoint(task)).output_dir
    model = model_class_for_task(task).from_pretrained(folder)
    meta = read_metadata(dataset)
    if task == "classify":  # the model's class names follow the relabelling
        model.config.id2label = dict(enumerate(meta.names))
    before = evaluate(model, dataset["val"], image_size=imgsz)[metric]

    torch.manual_seed(0)
    transform = train_transform_for(model.config, image_size=imgsz, augment=False, metadata=meta,
                                    fliplr=0.0 if task == "classify" else 0.5, seed=0)
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"), remove_unused_columns=False, per_device_train_batch_size=8,
        num_train_epochs=epochs, learning_rate=learning_rate, weight_decay=5e-4, warmup_steps=2, logging_steps=1,
        save_strategy="no", eval_strategy="no", report_to=[], use_cpu=True, seed=0, dataloader_num_workers=0,
        disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(model=model, args=args, data_collator=collate_for(model.config),
                      train_dataset=dataset["train"].with_transform(transform))
    trainer.train()
    after = evaluate(model, dataset["val"], image_size=imgsz)[metric]

    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    logger.info("%s: %s %.4f -> %.4f; loss %.3f -> %.3f", task, metric, before, after, losses[0], losses[-1])
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    if higher_is_better:
        assert after > before + 0.05
    else:
        assert after < before - 0.05
