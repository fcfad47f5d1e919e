"""Ultralytics' optimisation recipe in ``transformers.Trainer``: :class:`YoloTrainer`.

What Ultralytics' ``BaseTrainer`` does, in Trainer's own hooks:

* ``create_optimizer``: three parameter groups as ``build_optimizer`` makes them (weights with weight decay;
  normalisation weights and biases without), ``optimizer="auto"`` choosing AdamW with ``lr0 = 0.002 * 5 / (4 + nc)``
  (SGD with Nesterov momentum otherwise), weight decay scaled by ``batch * accumulate / nbs``;
* nominal batch size: ``gradient_accumulation_steps = max(round(nbs / total batch), 1)`` (capped by the number of
  batches of the run), so an optimizer step sees about ``nbs`` images;
* ``create_scheduler``: Ultralytics' per-epoch ``lf`` (linear, or cosine with ``cos_lr``) decaying to ``lrf``, and
  its warmup over ``max(warmup_epochs * batches per epoch)`` batches: every learning rate rises from 0 (bias: falls
  from ``warmup_bias_lr``) to ``lr0 * lf(epoch)``; SGD momentum rises from ``warmup_momentum``;
* gradient clipping at norm 10;
* Ultralytics' ``ModelEMA`` updated after every optimizer step; the EMA weights are what ``evaluate`` scores, what
  checkpoints and ``save_model`` write (as ``model.safetensors``, so ``from_pretrained`` loads them) and what the
  model holds after ``train``. Checkpoints also keep the raw weights (``raw_model.safetensors``) and the EMA update
  count, so ``resume_from_checkpoint`` continues both.

Deviation: Ultralytics also ramps the accumulation from 1 to its nominal value during warmup; Trainer's
``gradient_accumulation_steps`` is fixed, so warmup starts at the nominal accumulation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import Trainer, TrainerCallback

__all__ = ["UltralyticsRecipe", "YoloTrainer", "recipe_learning_rate"]

logger = logging.getLogger(__name__)

_RAW_WEIGHTS = "raw_model.safetensors"
_EMA_STATE = "ema_state.json"


@dataclass
class UltralyticsRecipe:
    """Ultralytics' optimisation settings (``ultralytics/cfg/default.yaml`` defaults).

    Attributes:
        optimizer: ``auto`` (AdamW at a learning rate fitted to the class count for short runs), ``AdamW``, ``Adam``
            or ``SGD``.
        lr0: Initial learning rate (ignored by ``auto``).
        lrf: Final learning rate as a fraction of ``lr0``.
        momentum: SGD momentum / Adam beta1.
        weight_decay: Weight decay at the nominal batch size.
        warmup_epochs: Warmup length in epochs (at most ``epochs - 1``).
        warmup_momentum: SGD momentum at the start of warmup.
        warmup_bias_lr: Bias learning rate at the start of warmup (``auto`` sets 0).
        nbs: Nominal batch size.
        cos_lr: Cosine instead of linear decay.
        ema: Keep an EMA of the weights (decay 0.9999 ramped with time constant 2000 updates).
        max_grad_norm: Gradient clipping norm.
    """

    optimizer: str = "auto"
    lr0: float = 0.01
    lrf: float = 0.01
    momentum: float = 0.937
    weight_decay: float = 0.0005
    warmup_epochs: float = 3.0
    warmup_momentum: float = 0.8
    warmup_bias_lr: float = 0.1
    nbs: int = 64
    cos_lr: bool = False
    ema: bool = True
    max_grad_norm: float = 10.0


def _decay_factor(recipe: UltralyticsRecipe, epochs: int) -> Any:
    """Ultralytics' ``lf(epoch)``: linear or cosine (``one_cycle``) from 1 to ``lrf`` over ``epochs``."""
    if recipe.cos_lr:
        return lambda x: ((1 - math.cos(x * math.pi / epochs)) / 2) * (recipe.lrf - 1) + 1
    return lambda x: max(1 - x / epochs, 0) * (1.0 - recipe.lrf) + recipe.lrf


def recipe_learning_rate(recipe: UltralyticsRecipe, *, initial_lr: float, bias: bool, batch: int, batches: int,
                         epochs: int) -> float:  # fmt: skip
    """The learning rate Ultralytics uses at training batch ``batch`` (0-based over the run).

    Args:
        recipe: The settings.
        initial_lr: The group's ``lr0``.
        bias: Whether the group is the bias group (its warmup starts at ``warmup_bias_lr``).
        batch: Batch index over the whole run (``i + batches * epoch``).
        batches: Batches per epoch.
        epochs: Epochs of the run.
    """
    lf = _decay_factor(recipe, epochs)
    epoch = batch // batches
    warmup_epochs = min(recipe.warmup_epochs, max(epochs - 1, 0))
    warmup = round(warmup_epochs * batches) if warmup_epochs > 0 else 0
    if warmup and batch <= warmup:
        start = recipe.warmup_bias_lr if bias else 0.0
        return float(np.interp(batch, [0, warmup], [start, initial_lr * lf(epoch)]))
    return initial_lr * lf(epoch)


class _EmaCallback(TrainerCallback):
    """Update the trainer's EMA after each optimizer step; SGD momentum warmup before it."""

    def __init__(self, trainer: YoloTrainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.trainer.start_ema()

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.trainer.warm_momentum(state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.trainer.ema is not None:
            self.trainer.ema.update(self.trainer.model)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.trainer.adopt_ema()


class YoloTrainer(Trainer):
    """``Trainer`` with Ultralytics' optimiser, learning-rate schedule, nominal batch size and EMA.

    Args:
        *args: ``Trainer``'s arguments. ``TrainingArguments``' ``learning_rate``, ``weight_decay``, warmup,
            scheduler and ``max_grad_norm`` are replaced by the recipe's; ``gradient_accumulation_steps`` is set from
            ``nbs``.
        recipe: Ultralytics' settings (default :class:`UltralyticsRecipe`).
        **kwargs: ``Trainer``'s keyword arguments.
    """

    def __init__(self, model: Any = None, args: Any = None, *rest: Any, recipe: UltralyticsRecipe | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        self.recipe = recipe or UltralyticsRecipe()
        self.ema: Any = None
        if args is not None:  # before Trainer builds its accelerator from them
            train_dataset = kwargs.get("train_dataset", rest[1] if len(rest) > 1 else None)
            total_batch = args.per_device_train_batch_size * max(args.world_size, 1)
            self.accumulate = max(round(self.recipe.nbs / total_batch), 1)
            self.weight_decay = self.recipe.weight_decay * total_batch * self.accumulate / self.recipe.nbs
            if train_dataset is not None and hasattr(train_dataset, "__len__"):
                batches = math.ceil(len(train_dataset) / total_batch)
                self.accumulate = min(self.accumulate, batches * max(math.ceil(args.num_train_epochs), 1))
            args.gradient_accumulation_steps = self.accumulate
            args.max_grad_norm = self.recipe.max_grad_norm
            logger.info("Ultralytics recipe: nominal batch %d = %d x %d accumulated, weight decay %.2g",
                        self.recipe.nbs, total_batch, self.accumulate, self.weight_decay)  # fmt: skip
        super().__init__(model, args, *rest, **kwargs)
        if args is None:  # Trainer made default arguments
            self.accumulate, self.weight_decay = self.args.gradient_accumulation_steps, self.recipe.weight_decay
        self.add_callback(_EmaCallback(self))

    def _batches_per_epoch(self) -> int:
        """Training batches per epoch on this process, as the (distributed) dataloader cuts them; 0 without a length."""
        try:
            rows = len(self.train_dataset)
        except TypeError:
            return 0
        per_batch = self.args.per_device_train_batch_size * max(self.args.world_size, 1)
        return math.ceil(rows / per_batch) if not self.args.dataloader_drop_last else rows // per_batch

    # ------------------------------------------------------------------ optimiser and schedule
    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """Ultralytics' ``build_optimizer``: weight / normalisation-weight / bias groups."""
        if self.optimizer is not None:
            return self.optimizer
        model = self.model if model is None else model
        recipe = self.recipe
        name, lr, momentum = recipe.optimizer, recipe.lr0, recipe.momentum
        if name.lower() == "auto":
            nc = int(getattr(model.config, "num_labels", 10) or 10)
            iterations = math.ceil(len(self.train_dataset) / max(self.args.per_device_train_batch_size, recipe.nbs))
            iterations *= math.ceil(self.args.num_train_epochs)
            if iterations > 10000:  # Ultralytics picks MuSGD here, which is not a torch optimizer
                name, lr, momentum = "SGD", 0.01, 0.9
            else:
                name, lr, momentum = "AdamW", round(0.002 * 5 / (4 + nc), 6), 0.9
            self.recipe = recipe = UltralyticsRecipe(**{**asdict(recipe), "lr0": lr, "momentum": momentum,
                                                        "warmup_bias_lr": 0.0, "optimizer": name})  # fmt: skip
        norms = tuple(v for k, v in nn.__dict__.items() if "Norm" in k)
        groups: list[list[nn.Parameter]] = [[], [], []]  # weights (decay), norm weights, biases
        for module_name, module in model.named_modules():
            for param_name, param in module.named_parameters(recurse=False):
                if "bias" in f"{module_name}.{param_name}":
                    groups[2].append(param)
                elif isinstance(module, norms) or "logit_scale" in param_name:
                    groups[1].append(param)
                else:
                    groups[0].append(param)
        if name in {"Adam", "AdamW"}:
            options = {"lr": lr, "betas": (momentum, 0.999), "weight_decay": 0.0}
        elif name == "SGD":
            options = {"lr": lr, "momentum": momentum, "nesterov": True}
        else:
            raise ValueError(f"optimizer={name!r} is not one of auto, AdamW, Adam, SGD.")
        param_groups = [
            {"params": groups[0], **options, "weight_decay": self.weight_decay, "param_group": "weight"},
            {"params": groups[1], **options, "weight_decay": 0.0, "param_group": "bn"},
            {"params": groups[2], **options, "param_group": "bias"},
        ]
        self.optimizer = getattr(torch.optim, name)(param_groups)
        logger.info("optimizer %s(lr=%g, momentum=%g): %d weights (decay %.2g), %d norm weights, %d biases", name, lr,
                    momentum, len(groups[0]), self.weight_decay, len(groups[1]), len(groups[2]))  # fmt: skip
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None) -> Any:
        """Ultralytics' warmup and per-epoch decay as a ``LambdaLR`` over optimizer steps."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler
        optimizer = optimizer or self.optimizer
        batches = self._batches_per_epoch() or self.accumulate
        epochs = max(math.ceil(self.args.num_train_epochs), 1)
        steps_per_epoch = math.ceil(batches / self.accumulate)

        def factor(group: dict) -> Any:
            initial, bias = group["lr"], group.get("param_group") == "bias"

            def at(step: int) -> float:  # Trainer steps every `accumulate` batches and at the end of each epoch
                epoch, within = divmod(step, steps_per_epoch)
                batch = min(epoch * batches + min((within + 1) * self.accumulate, batches) - 1, batches * epochs - 1)
                lr = recipe_learning_rate(self.recipe, initial_lr=initial, bias=bias, batch=batch, batches=batches,
                                          epochs=epochs)  # fmt: skip
                return lr / initial

            return at

        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [factor(g) for g in optimizer.param_groups])
        return self.lr_scheduler

    def warm_momentum(self, step: int) -> None:
        """SGD momentum from ``warmup_momentum`` to ``momentum`` over the warmup (Adam's beta1 stays, as there)."""
        batches = self._batches_per_epoch() or self.accumulate
        epochs = max(math.ceil(self.args.num_train_epochs), 1)
        warmup_epochs = min(self.recipe.warmup_epochs, max(epochs - 1, 0))
        warmup = round(warmup_epochs * batches)
        epoch, within = divmod(step, math.ceil(batches / self.accumulate))
        batch = epoch * batches + min(within * self.accumulate, batches - 1)
        if self.optimizer is None or not warmup or batch > warmup:
            return
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                group["momentum"] = float(np.interp(batch, [0, warmup], [self.recipe.warmup_momentum,
                                                                           self.recipe.momentum]))

    # ------------------------------------------------------------------ EMA
    def start_ema(self) -> None:
        """Create Ultralytics' ``ModelEMA`` of the model (kept when resuming already made it)."""
        if self.recipe.ema and self.ema is None:
            from ultralytics.utils.torch_utils import ModelEMA

            self.ema = ModelEMA(self.model)

    @contextlib.contextmanager
    def ema_weights(self) -> Iterator[None]:
        """Put the EMA weights into the model for the duration (its own weights come back after)."""
        if self.ema is None:
            yield
            return
        model = self.accelerator.unwrap_model(self.model)
        raw = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.ema.ema.state_dict())
        try:
            yield
        finally:
            model.load_state_dict(raw)

    def adopt_ema(self) -> None:
        """After training the model holds the EMA weights, as the checkpoint Ultralytics saves."""
        if self.ema is not None:
            self.accelerator.unwrap_model(self.model).load_state_dict(self.ema.ema.state_dict())

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        """``Trainer.evaluate`` on the EMA weights."""
        with self.ema_weights():
            return super().evaluate(*args, **kwargs)

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Save the EMA weights as the model (``from_pretrained`` loads them)."""
        if self.ema is not None and state_dict is None:
            state_dict = self.ema.ema.state_dict()
        super()._save(output_dir, state_dict=state_dict)

    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        """A Trainer checkpoint plus the raw weights and the EMA update count (for ``resume_from_checkpoint``)."""
        super()._save_checkpoint(model, trial)
        if self.ema is None or not self.args.should_save:
            return
        from safetensors.torch import save_file

        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        folder = os.path.join(self.args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
        raw = self.accelerator.unwrap_model(self.model).state_dict()
        save_file({k: v.detach().contiguous() for k, v in raw.items()}, os.path.join(folder, _RAW_WEIGHTS))
        with open(os.path.join(folder, _EMA_STATE), "w") as handle:
            json.dump({"updates": int(self.ema.updates)}, handle)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: nn.Module | None = None) -> None:
        """Resume: the checkpoint's model weights are the EMA; its ``raw_model.safetensors`` the trained weights."""
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        raw_file = os.path.join(resume_from_checkpoint, _RAW_WEIGHTS)
        if not self.recipe.ema or not os.path.isfile(raw_file):
            return
        from safetensors.torch import load_file
        from ultralytics.utils.torch_utils import ModelEMA

        target = self.accelerator.unwrap_model(model or self.model)
        with open(os.path.join(resume_from_checkpoint, _EMA_STATE)) as handle:
            updates = int(json.load(handle)["updates"])
        self.ema = ModelEMA(target, updates=updates)  # a copy of the loaded (EMA) weights
        target.load_state_dict(load_file(raw_file))
        logger.info("resumed the EMA (%d updates) and the raw weights from %s", updates, resume_from_checkpoint)
