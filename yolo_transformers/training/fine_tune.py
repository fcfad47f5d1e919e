"""``fine_tune``: train a YOLO model with ``transformers.Trainer`` on a ``datasets`` dataset, evaluate, save.

What ``yolo-hf train`` runs. The model's classes must be the dataset's: :func:`dataset_classes` reads them, and
``from_pretrained(..., id2label=..., ignore_mismatched_sizes=True)`` re-heads a model to them first (see
:func:`load_for_dataset`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DatasetFormatError
from .evaluation import evaluate, evaluation_split, record_metrics
from ..tasks import TASK_SPECS
from .transforms import EndToEndLossSchedule, collate_for, training_dataset

__all__ = ["FineTuneResult", "fine_tune", "dataset_classes", "load_for_dataset", "check_classes"]

logger = logging.getLogger(__name__)

_TRAIN_SPLITS = ("train", "training")


@dataclass
class FineTuneResult:
    """What :func:`fine_tune` produced.

    Attributes:
        model: The trained model (also saved in ``output_dir``).
        metrics: :func:`~yolo_transformers.training.evaluation.evaluate`'s metrics on the evaluation split, or
            empty when the dataset has none.
        output_dir: Folder holding ``config.json``, ``model.safetensors`` and ``preprocessor_config.json``.
        log_history: ``Trainer.state.log_history`` (losses per logging step).
    """

    model: Any
    metrics: dict[str, float]
    output_dir: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)


def dataset_classes(dataset: Any) -> dict[int, str]:
    """``{index: name}`` of a dataset's classes, for every task's schema.

    Read from the ``ClassLabel`` of ``objects.category`` (detect, segment, pose, obb) or ``label`` (classify), else
    from the YOLO metadata this package stores (semantic masks; depth's one output is ``depth``).

    Raises:
        DatasetFormatError: No class names can be found.
    """
    from ..data.metadata import read_metadata

    split = next(iter(dataset.values())) if isinstance(dataset, Mapping) else dataset
    return dict(enumerate(read_metadata(split).names))


def check_classes(model: Any, classes: Mapping[int, str], source: str) -> None:
    """Refuse to train a model whose classes are not the dataset's.

    Raises:
        DatasetFormatError: Names or count differ; the message says how to re-head the model.
    """
    model_classes = {int(i): str(n) for i, n in model.config.id2label.items()}
    if model_classes != dict(classes):
        raise DatasetFormatError(
            f"{source} has classes {list(classes.values())} but the model predicts {list(model_classes.values())}. "
            "Re-head the model to the dataset's classes (yolo-hf train --classes-from-data, or from_pretrained(..., "
            "id2label=..., label2id=..., ignore_mismatched_sizes=True))."
        )


def load_for_dataset(model_class: Any, source: str, classes: Mapping[int, str] | None = None, **kwargs: Any) -> Any:
    """Load a model, re-headed to ``classes`` when given (their names and count replace the model's).

    Args:
        model_class: ``AutoModel`` or a ``YoloFor...`` class.
        source: Converted folder or Hub repo id.
        classes: ``{index: name}`` to re-head to (see :func:`dataset_classes`), or None to keep the model's.
        **kwargs: More ``from_pretrained`` arguments (``revision``, ``token``).
    """
    if classes is None:
        return model_class.from_pretrained(source, **kwargs)
    names = {int(i): str(n) for i, n in classes.items()}
    return model_class.from_pretrained(
        source, id2label=names, label2id={n: i for i, n in names.items()}, ignore_mismatched_sizes=True, **kwargs
    )


def fine_tune(
    model: Any,
    dataset: Any,
    output_dir: str | Path,
    *,
    epochs: float = 10,
    batch_size: int = 16,
    image_size: int | None = None,
    learning_rate: float = 2e-3,
    weight_decay: float = 5e-4,
    warmup_steps: int = 3,
    seed: int = 0,
    augment: bool = False,
    augmentation: Mapping[str, Any] | None = None,
    recipe: Any = None,
    processor: Any = None,
    eval_split: str | None = None,
    dataset_name: str | None = None,
    show_progress: bool = True,
    callbacks: Sequence[Any] = (),
    **training_arguments: Any,
) -> FineTuneResult:
    """Train ``model`` on the train split of ``dataset`` with ``Trainer``, evaluate it, save it with its metrics.

    Args:
        model: A ``YoloFor...`` model whose ``id2label`` is the dataset's classes (see :func:`check_classes`).
        dataset: A ``DatasetDict`` with a ``train`` split and a validation split (``validation``/``val``/...).
        output_dir: Where ``Trainer`` writes checkpoints and where the final model and processor are saved.
        epochs: Training epochs.
        batch_size: Images per step.
        image_size: Training and evaluation input size (default the processor's).
        learning_rate: Without ``recipe``: peak AdamW learning rate (cosine decay after the warmup).
        weight_decay: Without ``recipe``: AdamW weight decay.
        warmup_steps: Without ``recipe``: linear warmup steps.
        seed: ``Trainer`` seed (initialisation of re-headed layers happens before, at loading).
        augment: Ultralytics' training augmentation of the model's task (see :func:`~.transforms.training_dataset`);
            False: letterbox only.
        augmentation: Ultralytics augmentation settings overriding its defaults (``mosaic``, ``close_mosaic``...).
        recipe: An :class:`~.recipe.UltralyticsRecipe`: train with :class:`~.recipe.YoloTrainer` (Ultralytics'
            optimiser groups, warmup and decay, nominal batch size, EMA); None: a plain ``Trainer`` with AdamW.
        processor: The model's image processor (default built from its config).
        eval_split: Split to evaluate on at the end (default ``validation``, ``val``, ``valid`` or ``test``).
        dataset_name: Name of the dataset for the model card (``config.train_args["data"]``).
        show_progress: Show ``Trainer``'s progress bar.
        callbacks: More ``TrainerCallback``s.
        **training_arguments: More ``TrainingArguments`` (they win over the defaults above).

    Returns:
        :class:`FineTuneResult`.

    Raises:
        DatasetFormatError: No train split, or classes that are not the model's.
    """
    from transformers import Trainer, TrainingArguments

    from .recipe import YoloTrainer

    from ..auto import processor_for_config

    if not isinstance(dataset, Mapping) or not any(name in dataset for name in _TRAIN_SPLITS):
        splits = list(dataset) if isinstance(dataset, Mapping) else "a single split"
        raise DatasetFormatError(f"fine_tune needs a dataset with a 'train' split, got {splits}.")
    train = dataset[next(name for name in _TRAIN_SPLITS if name in dataset)]
    if TASK_SPECS[model.config.task].has_classes:  # depth has one output, no classes
        check_classes(model, dataset_classes(train), dataset_name or "the dataset")
    processor = processor or processor_for_config(model.config)
    output_dir = Path(output_dir)
    defaults = dict(
        output_dir=str(output_dir), remove_unused_columns=False, per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size, num_train_epochs=epochs, learning_rate=learning_rate,
        weight_decay=weight_decay, warmup_steps=warmup_steps, lr_scheduler_type="cosine", logging_steps=1,
        save_strategy="no", eval_strategy="no", report_to=[], seed=seed, disable_tqdm=not show_progress,
        dataloader_num_workers=0,
    )  # fmt: skip
    args = TrainingArguments(**{**defaults, **training_arguments})
    train_rows, augmentation_callbacks = training_dataset(model.config, train, image_size=image_size, augment=augment, seed=seed,
                                             processor=processor, hyperparameters=augmentation)  # fmt: skip
    options = dict(model=model, args=args, data_collator=collate_for(model.config), train_dataset=train_rows,
                   callbacks=[EndToEndLossSchedule(), *augmentation_callbacks, *callbacks])  # fmt: skip
    trainer = YoloTrainer(**options, recipe=recipe) if recipe is not None else Trainer(**options)
    trainer.train()
    metrics: dict[str, float] = {}
    try:
        evaluation = evaluation_split(dataset, eval_split)
    except DatasetFormatError as error:
        logger.warning("not evaluated: %s", error)
        evaluation = None
    if evaluation is not None:
        chosen = eval_split or next(s for s in ("validation", "val", "valid", "test") if s in dataset)
        metrics = evaluate(model, evaluation, processor, image_size=image_size)
        record_metrics(model, metrics, dataset=dataset_name, split=chosen)
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    logger.info("saved the trained model to %s", output_dir)
    return FineTuneResult(model, metrics, output_dir, list(trainer.state.log_history))
