"""One process of the DDP test (tests/training/test_ddp.py): ``accelerate launch --multi_gpu --num_processes 2`` runs it.

Arguments: model folder, YOLO data.yaml, output folder. Every rank trains the re-headed tiny detector with
``YoloTrainer`` (Ultralytics' recipe, gloo DDP) and writes its parameters; rank 0 also writes the loss log.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import TrainingArguments

from yolo_transformers import YoloForObjectDetection
from yolo_transformers.data import load_yolo_dataset
from yolo_transformers.training.fine_tune import dataset_classes, load_for_dataset
from yolo_transformers.training.recipe import UltralyticsRecipe, YoloTrainer
from yolo_transformers.training.transforms import collate_fn, training_dataset


def main(model_folder: str, data_yaml: str, output: str) -> None:
    dataset = load_yolo_dataset(data_yaml)
    torch.manual_seed(0)  # the same re-initialised class layers on every rank
    model = load_for_dataset(YoloForObjectDetection, model_folder, dataset_classes(dataset["train"]))
    train, callbacks = training_dataset(model.config, dataset["train"], augment=False)
    args = TrainingArguments(
        output_dir=str(Path(output) / "run"), remove_unused_columns=False, per_device_train_batch_size=4,
        num_train_epochs=3, logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, use_cpu=True,
        ddp_backend="gloo", dataloader_num_workers=0, seed=0,
    )  # fmt: skip
    recipe = UltralyticsRecipe(optimizer="AdamW", lr0=0.002, warmup_epochs=0, nbs=8)  # 2 ranks x 4 = nbs: no accumulation
    trainer = YoloTrainer(model=model, args=args, train_dataset=train, data_collator=collate_fn, callbacks=callbacks,
                          recipe=recipe)  # fmt: skip
    trainer.train()
    rank = trainer.args.process_index
    parameters = {name: p.detach().contiguous() for name, p in trainer.accelerator.unwrap_model(trainer.model).named_parameters()}
    save_file(parameters, str(Path(output) / f"rank{rank}.safetensors"))
    summary = {"world_size": trainer.args.world_size, "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
               "steps": trainer.state.global_step, "ema_updates": trainer.ema.updates}
    (Path(output) / f"rank{rank}.json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main(*sys.argv[1:4])
