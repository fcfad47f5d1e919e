"""Ultralytics' own training losses, fed with transformers-format labels.

Nothing here re-implements a loss: the criterion is the one Ultralytics' trainer would build for the network
(``network.init_criterion()``: ``v8DetectionLoss`` with DFL for classic heads, ``E2ELoss`` for the dual-branch
YOLOv10/YOLO26 heads, and the segment/pose/OBB criteria for those networks), called on the head's training-form
outputs and on labels converted to Ultralytics' batch format.

**Loss scale.** Ultralytics' criteria return a vector ``(box, cls, dfl) * batch_size`` and its trainer
back-propagates ``loss.sum()``. ``loss`` here is exactly that sum, so one ``loss.backward()`` produces the same
gradients as one Ultralytics training step on the same batch (before its gradient accumulation to the nominal
batch size ``nbs=64``, its gradient clipping at norm 10 and its optimizer). ``loss_dict`` holds Ultralytics'
loss items: the gain-weighted components *per image* (what Ultralytics logs as ``box_loss``, ``cls_loss``,
``dfl_loss``), detached; for classic heads ``loss == batch_size * sum(loss_dict.values())``. For end-to-end heads
``loss`` mixes both branches with Ultralytics' schedule and ``loss_dict`` reports the one-to-one branch, as
Ultralytics does.

Every task goes through :func:`task_loss`: its labels become Ultralytics' batch (:mod:`.targets`) and the network's
own ``init_criterion()`` picks the criterion (``v8DetectionLoss``, ``v8SegmentationLoss``/``SegmentLoss26``,
``v8PoseLoss``/``PoseLoss26``, ``v8OBBLoss``, ``E2ELoss`` around them for YOLO26 heads, ``v8ClassificationLoss``,
``SemanticSegmentationLoss``, ``DepthLoss26``). A new task adds its batch builder to ``_BATCH_BUILDERS``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import DatasetFormatError
from .targets import (
    check_class_ids,
    classification_batch,
    depth_batch,
    detection_batch,
    obb_batch,
    pose_batch,
    segmentation_batch,
    semantic_batch,
)

__all__ = ["task_loss", "ultralytics_loss", "training_predictions", "training_hyperparameters", "get_criterion",
           "LOSS_NAMES"]

logger = logging.getLogger(__name__)

#: Ultralytics loss-item names -> ``loss_dict`` keys.
LOSS_NAMES = {"box_loss": "box", "cls_loss": "cls", "dfl_loss": "dfl", "l1_loss": "l1", "seg_loss": "seg",
              "pose_loss": "pose", "kobj_loss": "kobj", "angle_loss": "angle", "rle_loss": "rle",
              "sem_loss": "sem", "ce_loss": "ce", "dice_loss": "dice", "aux_loss": "aux", "dlog_loss": "dlog",
              "dgrad_loss": "dgrad"}  # fmt: skip
#: Criteria that report a single ``loss`` item: classification's cross-entropy.
_SINGLE_ITEM_NAME = "cls"

_CRITERION_ATTRIBUTE = "_ultralytics_criterion"


def training_hyperparameters(train_args: Mapping[str, Any] | None) -> Any:
    """Ultralytics' hyperparameter namespace (``model.args``): its defaults overridden by ``train_args``.

    Args:
        train_args: ``config.train_args`` (e.g. the checkpoint's training arguments), or None for the defaults
            (``box=7.5``, ``cls=0.5``, ``dfl=1.5``, ...).

    Returns:
        An ``IterableSimpleNamespace`` as Ultralytics' trainer puts on ``model.args``.
    """
    from ultralytics.utils import DEFAULT_CFG_DICT, IterableSimpleNamespace

    values = dict(DEFAULT_CFG_DICT)
    values.update({k: v for k, v in (train_args or {}).items() if isinstance(k, str)})
    return IterableSimpleNamespace(**values)


def _hyperparameter_key(hyp: Any) -> tuple:
    """A hashable snapshot of the hyperparameters (cache key of the criterion)."""
    return tuple(sorted((k, repr(v)) for k, v in vars(hyp).items()))


def get_criterion(model: nn.Module) -> Any:
    """The Ultralytics criterion for ``model`` (a ``YoloPreTrainedModel``), built once and cached on it.

    It is rebuilt when the model's device or ``config.train_args`` change. The cache is a plain attribute: not a
    submodule, never saved.

    Args:
        model: A ``YoloPreTrainedModel``; its Ultralytics network is ``model.model``.

    Returns:
        What ``model.model.init_criterion()`` returns (``v8DetectionLoss``, ``E2ELoss``, ...).
    """
    network = model.model
    hyp = training_hyperparameters(model.config.train_args)
    device = next(network.parameters()).device
    key = (device, id(network), _hyperparameter_key(hyp))
    cached = model.__dict__.get(_CRITERION_ATTRIBUTE)
    if cached is not None and cached[0] == key:
        return cached[1]
    missing = object()
    previous = getattr(network, "args", missing)
    network.args = hyp  # Ultralytics' criteria read their gains from model.args
    try:
        criterion = network.init_criterion()
    finally:
        if previous is missing:
            del network.args
        else:
            network.args = previous
    object.__setattr__(model, _CRITERION_ATTRIBUTE, (key, criterion))
    logger.debug("built %s with box=%s cls=%s dfl=%s", type(criterion).__name__, hyp.box, hyp.cls, hyp.dfl)
    return criterion


@contextlib.contextmanager
def _training_form(head: nn.Module) -> Iterator[None]:
    """Make ``head.forward`` return its raw training outputs, leaving its sub-layers' train/eval mode untouched."""
    previous = head.training
    head.training = True
    try:
        yield
    finally:
        head.training = previous


def training_predictions(model: nn.Module, features: Sequence[torch.Tensor]) -> Any:
    """The head's training-form outputs (the dict Ultralytics' criteria read), as in ``DetectionModel.loss``.

    Args:
        model: A ``YoloPreTrainedModel``; its Ultralytics head ``model.model.model[-1]`` runs (not the fused inference
            twin's: fusing an end-to-end head drops its one-to-many branch, which the loss needs).
        features: Head inputs, one per level, each `(batch_size, C_i, H_i, W_i)`.

    Returns:
        For a classic ``Detect`` head ``{"boxes": (B, 4 * reg_max, A), "scores": (B, nc, A), "feats": [...]}``;
        end-to-end heads return ``{"one2many": {...}, "one2one": {...}}`` (the one-to-one branch reads detached
        features, as in Ultralytics' training).
    """
    head = model.model.model[-1]
    with _training_form(head):
        return head(list(features))


def ultralytics_loss(
    model: nn.Module, features: Sequence[torch.Tensor], batch: Mapping[str, torch.Tensor], predictions: Any = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Ultralytics' training loss of ``model`` on ``features`` for an Ultralytics-format ``batch``.

    Args:
        model: A ``YoloPreTrainedModel``.
        features: Head inputs, one per level, each `(batch_size, C_i, H_i, W_i)`.
        batch: Ultralytics batch (``batch_idx``, ``cls``, ``bboxes`` and the task's own keys).
        predictions: :func:`training_predictions` of ``features`` when the caller already has them (the head then
            does not run again).

    Returns:
        ``(loss, loss_dict)``: ``loss`` `()` is what Ultralytics' trainer back-propagates (its criterion's
        output summed, i.e. ``batch_size`` times the per-image components); ``loss_dict`` maps ``box``,
        ``cls``, ``dfl`` (or the task's components) to detached `()` per-image values.
    """
    criterion = get_criterion(model)
    if predictions is None:
        predictions = training_predictions(model, features)
    total, items = criterion(predictions, dict(batch))
    if isinstance(items, Mapping):
        named = items.items()
    else:  # older criteria return a tensor of items in criterion.loss_names order
        names = getattr(getattr(criterion, "one2many", criterion), "loss_names", ())
        named = zip(names, items)
    loss_dict = {LOSS_NAMES.get(name, _SINGLE_ITEM_NAME if name == "loss" else name): value.detach()
                 for name, value in named}
    return total.sum(), loss_dict


def _segmentation(model: nn.Module, labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    hyp = training_hyperparameters(model.config.train_args)
    return segmentation_batch(labels, pixel_values, mask_ratio=int(hyp.mask_ratio), overlap=bool(hyp.overlap_mask))


def _detection(model: nn.Module, labels: Any, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    if len(labels) != pixel_values.shape[0]:
        raise DatasetFormatError(
            f"got {len(labels)} label dicts for a batch of {pixel_values.shape[0]} images; pass one per image."
        )
    return detection_batch(labels, pixel_values.device)


#: task -> ``(model, labels, pixel_values) -> Ultralytics batch``.
_BATCH_BUILDERS: dict[str, Callable[[nn.Module, Any, torch.Tensor], dict[str, torch.Tensor]]] = {
    "detect": _detection,
    "segment": _segmentation,
    "pose": lambda model, labels, pixel_values: pose_batch(labels, pixel_values, model.model.model[-1].kpt_shape),
    "obb": lambda model, labels, pixel_values: obb_batch(labels, pixel_values),
    "classify": lambda model, labels, pixel_values: classification_batch(labels, pixel_values),
    "semantic": lambda model, labels, pixel_values: semantic_batch(labels, pixel_values),
    "depth": lambda model, labels, pixel_values: depth_batch(labels, pixel_values),
}


def task_loss(
    model: nn.Module, features: Sequence[torch.Tensor], labels: Any, pixel_values: torch.Tensor, predictions: Any = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Ultralytics' training loss of a YOLO model of any task, for transformers-format ``labels``.

    Args:
        model: A ``YoloPreTrainedModel``; ``model.config.task`` picks the label format (see :mod:`.targets`).
        features: Head inputs, one per level, each `(batch_size, C_i, H_i, W_i)`.
        labels: The task's labels (one dict per image, or a tensor for classification, semantic and depth).
        pixel_values: `(batch_size, 3, height, width)` network input.
        predictions: The head's :func:`training_predictions` of ``features``, if already computed.

    Returns:
        ``(loss, loss_dict)``: see :func:`ultralytics_loss` and the module docstring for the scale.

    Raises:
        DatasetFormatError: Malformed labels, not one label per image, or a class id outside the model's classes.
    """
    batch = _BATCH_BUILDERS[model.config.task](model, labels, pixel_values)
    check_class_ids(batch, labels, int(model.config.num_labels))
    return ultralytics_loss(model, features, batch, predictions)
