"""``YoloTrainer``: Ultralytics' optimiser groups, learning-rate schedule, nominal batch size and EMA in ``Trainer``.

Parameter groups are compared with Ultralytics' own ``BaseTrainer.build_optimizer`` on the same network, the
schedule with the ``lf`` Ultralytics' ``_setup_scheduler`` builds plus its warmup interpolation (from its training
loop), and the EMA with what checkpoints, ``from_pretrained`` and ``resume_from_checkpoint`` see.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainingArguments

from tests.fixtures.reheaded_detector import make_new_classes_dataset
from yolo_transformers import YoloForObjectDetection
from yolo_transformers.data import load_yolo_dataset
from yolo_transformers.training.fine_tune import dataset_classes, load_for_dataset
from yolo_transformers.training.recipe import UltralyticsRecipe, YoloTrainer
from yolo_transformers.training.transforms import collate_fn, training_dataset


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    data_yaml = make_new_classes_dataset(tmp_path_factory.mktemp("recipe") / "data", train=8, val=2, seed=4)
    return load_yolo_dataset(data_yaml)


@pytest.fixture()
def model(converted_tiny_detector):
    return YoloForObjectDetection.from_pretrained(converted_tiny_detector)


def _arguments(tmp_path, **overrides):
    values = dict(output_dir=str(tmp_path / "run"), remove_unused_columns=False, per_device_train_batch_size=4,
                  num_train_epochs=10, report_to=[], disable_tqdm=True, use_cpu=True, save_strategy="no",
                  logging_steps=1, dataloader_num_workers=0, seed=0)  # fmt: skip
    return TrainingArguments(**{**values, **overrides})


class _Rows(torch.utils.data.Dataset):
    """A stand-in training set of ``n`` rows: the optimiser and schedule only read its length."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):  # pragma: no cover - never iterated here
        raise IndexError(index)


@pytest.mark.parametrize("optimizer", ["auto", "SGD"])
def test_parameter_groups_are_ultralytics_build_optimizer(model, tmp_path, optimizer):
    from ultralytics.engine.trainer import BaseTrainer

    recipe = UltralyticsRecipe(optimizer=optimizer)
    trainer = YoloTrainer(model=model, args=_arguments(tmp_path, per_device_train_batch_size=16),
                          train_dataset=_Rows(96), data_collator=collate_fn, recipe=recipe)  # fmt: skip
    ours = trainer.create_optimizer()
    assert trainer.accumulate == 4 and trainer.args.gradient_accumulation_steps == 4  # round(64 / 16)
    assert trainer.weight_decay == pytest.approx(0.0005 * 16 * 4 / 64)

    theirs_self = SimpleNamespace(args=SimpleNamespace(optimizer=optimizer, lr0=recipe.lr0, warmup_bias_lr=0.1),
                                  data={"nc": model.config.num_labels})  # fmt: skip
    theirs = BaseTrainer.build_optimizer(theirs_self, model.model, name=optimizer, lr=recipe.lr0,
                                         momentum=recipe.momentum, decay=trainer.weight_decay,
                                         iterations=math.ceil(96 / 64) * 10)  # fmt: skip
    assert type(ours) is type(theirs)
    assert len(ours.param_groups) == len(theirs.param_groups) == 3
    for mine, reference in zip(ours.param_groups, theirs.param_groups):
        assert [id(p) for p in mine["params"]] == [id(p) for p in reference["params"]]
        for key in ("lr", "weight_decay", "param_group", "betas", "momentum", "nesterov"):
            assert mine.get(key) == reference.get(key), key
    assert sum(len(g["params"]) for g in ours.param_groups) == len(list(model.parameters()))
    assert ours.param_groups[0]["weight_decay"] > 0 == ours.param_groups[1]["weight_decay"]
    assert ours.param_groups[2]["weight_decay"] == 0


@pytest.mark.parametrize(("cos_lr", "optimizer", "batch"), [(False, "auto", 16), (True, "SGD", 8)])
def test_learning_rates_are_ultralytics_warmup_and_decay(model, tmp_path, cos_lr, optimizer, batch):
    from ultralytics.engine.trainer import BaseTrainer

    epochs, rows = 10, 100
    recipe = UltralyticsRecipe(cos_lr=cos_lr, optimizer=optimizer, lrf=0.05)
    trainer = YoloTrainer(model=model, args=_arguments(tmp_path, per_device_train_batch_size=batch,
                                                       num_train_epochs=epochs),
                          train_dataset=_Rows(rows), data_collator=collate_fn, recipe=recipe)  # fmt: skip
    optimizer_ = trainer.create_optimizer()
    scheduler = trainer.create_scheduler(num_training_steps=0)

    # Ultralytics' own lf, and its warmup interpolation (BaseTrainer._do_train)
    theirs = SimpleNamespace(args=SimpleNamespace(cos_lr=cos_lr, lrf=recipe.lrf), epochs=epochs,
                             optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0))  # fmt: skip
    BaseTrainer._setup_scheduler(theirs)
    batches, accumulate = math.ceil(rows / batch), trainer.accumulate
    warmup = round(min(recipe.warmup_epochs, epochs - 1) * batches)
    bias_start = 0.0 if optimizer == "auto" else recipe.warmup_bias_lr
    steps_per_epoch = math.ceil(batches / accumulate)
    seen_warmup = seen_decay = 0
    for step in range(steps_per_epoch * epochs):
        epoch, within = divmod(step, steps_per_epoch)
        ni = epoch * batches + min((within + 1) * accumulate, batches) - 1  # the batch this optimizer step ends
        for group in optimizer_.param_groups:
            target = group["initial_lr"] * theirs.lf(epoch)
            if ni <= warmup:
                start = bias_start if group["param_group"] == "bias" else 0.0
                expected = float(np.interp(ni, [0, warmup], [start, target]))
                seen_warmup += 1
            else:
                expected = target
                seen_decay += 1
            assert group["lr"] == pytest.approx(expected, rel=1e-9, abs=1e-12), (step, group["param_group"])
        optimizer_.step()
        scheduler.step()
    assert seen_warmup and seen_decay
    final = optimizer_.param_groups[0]
    assert final["lr"] == pytest.approx(final["initial_lr"] * theirs.lf(epochs - 1))


def test_the_ema_is_evaluated_saved_and_resumed(converted_tiny_detector, shapes, tmp_path):
    def trainer_for(model, epochs):
        train, callbacks = training_dataset(model.config, shapes["train"], augment=False)
        args = _arguments(tmp_path, num_train_epochs=epochs, save_strategy="epoch", per_device_eval_batch_size=4)
        return YoloTrainer(model=model, args=args, train_dataset=train, eval_dataset=train, data_collator=collate_fn,
                           callbacks=callbacks, recipe=UltralyticsRecipe(nbs=8))  # fmt: skip

    def reheaded():
        return load_for_dataset(YoloForObjectDetection, str(converted_tiny_detector), dataset_classes(shapes["train"]))

    model = reheaded()
    trainer = trainer_for(model, 2)
    assert trainer.accumulate == 2  # nominal 8 images = 2 batches of 4: one optimizer step per epoch
    trainer.train()
    assert trainer.ema.updates == trainer.state.global_step == 2
    ema_state = {k: v.clone() for k, v in trainer.ema.ema.state_dict().items()}

    checkpoint = tmp_path / "run" / "checkpoint-2"
    saved, raw = load_file(checkpoint / "model.safetensors"), load_file(checkpoint / "raw_model.safetensors")
    differs = [k for k in saved if saved[k].is_floating_point() and not torch.equal(saved[k], raw[k])]
    assert differs  # the checkpoint's model is the EMA, not the raw weights
    for key, value in saved.items():
        assert torch.equal(value, ema_state[key]), key
    for key, value in model.state_dict().items():  # after train the model holds the EMA weights
        assert torch.equal(value, ema_state[key]), key
    loaded = YoloForObjectDetection.from_pretrained(checkpoint)
    assert loaded.config.id2label == model.config.id2label
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, ema_state[key]), key
    assert json.loads((checkpoint / "ema_state.json").read_text()) == {"updates": 2}

    # evaluate scores the EMA: the same loss as a plain evaluation of the EMA weights
    ema_loss = trainer.evaluate()["eval_loss"]
    trainer.model.load_state_dict(raw)
    assert trainer.evaluate()["eval_loss"] == pytest.approx(ema_loss, rel=1e-6)  # EMA swapped in whatever it holds

    # resume from the first epoch's checkpoint: raw weights and EMA count come back, training continues
    resumed_model = reheaded()
    resumed = trainer_for(resumed_model, 2)
    resumed.train(resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-1"))
    assert resumed.state.global_step == 2 and resumed.ema.updates == 2
    for key, value in resumed_model.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, ema_state[key], rtol=1e-4, atol=1e-5, msg=key)
