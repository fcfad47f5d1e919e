"""``transformers.Trainer`` fine-tunes ``YoloForObjectDetection`` on a ``load_yolo_dataset`` dataset, then pushes it.

The pretrained tiny detector (rectangles = 0, ellipses = 1) is fine-tuned on fresh shapes images whose labels swap
the two classes: it starts with boxes in the right places but the wrong names (mAP near 0) and has to learn the
new labelling, which a few dozen CPU steps do. Loss (train and eval) must fall and COCO mAP must rise; the
evaluated metrics then travel to the Hub model card through ``config.metrics``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import ModelCard

from tests.fixtures.tiny_detector import make_shapes_dataset
from tests.helpers import HUB_WARNINGS
from yolo_transformers import YoloForObjectDetection, YoloImageProcessor, evaluate
from yolo_transformers.training.evaluation import record_metrics
from yolo_transformers.training import DetectionTransform, EndToEndLossSchedule, collate_fn

logger = logging.getLogger(__name__)

pytestmark = HUB_WARNINGS


def _swapped_shapes_dataset(root: Path) -> Path:
    """32 training and 16 validation images of the shapes family, class ids swapped (0 <-> 1)."""
    data_yaml = make_shapes_dataset(root, train=32, val=16, seed=7)
    for label_file in (root / "labels").rglob("*.txt"):
        rows = [line.split() for line in label_file.read_text().splitlines() if line.strip()]
        label_file.write_text("".join(f"{1 - int(r[0])} {' '.join(r[1:])}\n" for r in rows))
    config = yaml.safe_load(data_yaml.read_text())
    config["names"] = {0: "ellipse", 1: "rectangle"}
    data_yaml.write_text(yaml.safe_dump(config))
    return data_yaml


def test_trainer_fine_tunes_and_pushes_a_card_with_the_metrics(
    converted_tiny_detector, tmp_path, hub_server, hub_repo_name
):
    from transformers import Trainer, TrainingArguments

    from yolo_transformers.data import load_yolo_dataset

    data_yaml = _swapped_shapes_dataset(tmp_path / "swapped-shapes")
    dataset = load_yolo_dataset(data_yaml)
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    names = dataset["train"].features["objects"]["category"].feature.names  # the new labelling
    model.config.id2label, model.config.label2id = dict(enumerate(names)), {n: i for i, n in enumerate(names)}
    before = evaluate(model, dataset["validation"], processor)

    torch.manual_seed(0)
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"), remove_unused_columns=False, per_device_train_batch_size=8,
        per_device_eval_batch_size=8, num_train_epochs=8, learning_rate=1e-3, weight_decay=5e-4, warmup_steps=2,
        logging_steps=1, save_strategy="no", eval_strategy="no", report_to=[], use_cpu=True, seed=0,
        dataloader_num_workers=0, disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=model, args=args, data_collator=collate_fn, callbacks=[EndToEndLossSchedule()],
        train_dataset=dataset["train"].with_transform(DetectionTransform(processor)),
        eval_dataset=dataset["validation"].with_transform(DetectionTransform(processor)),
    )  # fmt: skip
    eval_before = trainer.evaluate()["eval_loss"]
    trainer.train()
    eval_after = trainer.evaluate()["eval_loss"]
    after = evaluate(model, dataset["validation"], processor)

    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    logger.info("train loss %s; eval loss %.2f -> %.2f", [round(v, 2) for v in losses], eval_before, eval_after)
    logger.info("mAP50-95 %.4f -> %.4f, mAP50 %.4f -> %.4f", before["mAP50-95"], after["mAP50-95"], before["mAP50"],
                after["mAP50"])  # fmt: skip
    assert len(losses) == 32
    assert sum(losses[-4:]) / 4 < 0.7 * sum(losses[:4]) / 4
    assert eval_after < 0.8 * eval_before
    assert before["mAP50-95"] < 0.2 and after["mAP50-95"] > before["mAP50-95"] + 0.3
    assert after["mAP50"] > before["mAP50"] + 0.3

    record_metrics(model, after, dataset=str(data_yaml), split="validation")
    repo_id = hub_repo_name()
    model.push_to_hub(repo_id, token=hub_server.token("alice"))

    files = hub_server.files(repo_id)
    card = ModelCard(files["README.md"].decode())
    reported = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert reported["mAP50-95"] == pytest.approx(after["mAP50-95"], abs=1e-5)
    assert reported["mAP50"] == pytest.approx(after["mAP50"], abs=1e-5)
    assert f"{after['mAP50-95']:.4f}" in card.text
    pushed = YoloForObjectDetection.from_pretrained(repo_id, token=hub_server.token("alice"))
    assert pushed.config.metrics["metrics/mAP50-95(B)"] == pytest.approx(after["mAP50-95"])
    assert pushed.config.id2label == {0: "ellipse", 1: "rectangle"}
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(pushed.state_dict()[name], tensor, msg=name)
