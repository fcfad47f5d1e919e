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

**Plugging in another task.** A task model converts its labels with :func:`detection_batch` plus its own keys
(``masks``, ``keypoints``, rotated ``bboxes``, ...) and calls :func:`ultralytics_loss`; the network's own
``init_criterion()`` picks the matching Ultralytics criterion::

    def _compute_loss(self, features, labels, pixel_values):
        batch = detection_batch(labels, pixel_values.device, extra_keys={"keypoints": "keypoints"})
        return ultralytics_loss(self, features, batch)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import DatasetFormatError

__all__ = [
    "detection_loss",
    "ultralytics_loss",
    "detection_batch",
    "training_hyperparameters",
    "get_criterion",
    "LOSS_NAMES",
]

logger = logging.getLogger(__name__)

#: Ultralytics loss-item names -> ``loss_dict`` keys.
LOSS_NAMES = {"box_loss": "box", "cls_loss": "cls", "dfl_loss": "dfl", "l1_loss": "l1", "seg_loss": "seg",
              "pose_loss": "pose", "kobj_loss": "kobj", "angle_loss": "angle", "rle_loss": "rle",
              "sem_loss": "sem"}  # fmt: skip

#: Normalised coordinates may exceed [0, 1] by this much (rounding) before labels are rejected as absolute pixels.
_BOX_TOLERANCE = 0.01

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


def _training_predictions(head: nn.Module, features: Sequence[torch.Tensor]) -> Any:
    """The head's training-form outputs (the dict Ultralytics' criteria read), as in ``DetectionModel.loss``.

    Args:
        head: The Ultralytics head of ``model.model`` (not the fused inference twin: fusing an end-to-end head
            drops its one-to-many branch, which the loss needs).
        features: Head inputs, one per level, each `(batch_size, C_i, H_i, W_i)`.

    Returns:
        For a classic ``Detect`` head ``{"boxes": (B, 4 * reg_max, A), "scores": (B, nc, A), "feats": [...]}``;
        end-to-end heads return ``{"one2many": {...}, "one2one": {...}}`` (the one-to-one branch reads detached
        features, as in Ultralytics' training).
    """
    with _training_form(head):
        return head(list(features))


def _as_tensor(value: Any, dtype: torch.dtype, name: str, index: int) -> torch.Tensor:
    """``value`` as a tensor of ``dtype`` on the CPU, with a clear error for anything that is not numbers."""
    try:
        if torch.is_tensor(value):
            return value.detach().to("cpu", dtype)
        return torch.as_tensor(value, dtype=dtype, device="cpu")
    except (TypeError, ValueError, RuntimeError) as error:
        raise DatasetFormatError(f"labels[{index}][{name!r}] is not a tensor of numbers: {error}") from None


def _per_object(label: Mapping[str, Any], index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated ``(class_labels (N,), boxes (N, 4))`` of one image's label dict."""
    if not isinstance(label, Mapping) or "class_labels" not in label or "boxes" not in label:
        raise DatasetFormatError(
            f"labels[{index}] must be a dict with 'class_labels' (N,) and 'boxes' (N, 4) normalized (cx, cy, w, h); "
            f"got {type(label).__name__} with keys {sorted(label) if isinstance(label, Mapping) else '-'}."
        )
    classes = _as_tensor(label["class_labels"], torch.float32, "class_labels", index).reshape(-1)
    boxes = _as_tensor(label["boxes"], torch.float32, "boxes", index)
    boxes = boxes.reshape(0, 4) if boxes.numel() == 0 else boxes
    if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] != classes.shape[0]:
        raise DatasetFormatError(
            f"labels[{index}]: 'boxes' {tuple(boxes.shape)} must be (N, 4) with N = len(class_labels) = "
            f"{classes.shape[0]}."
        )
    if boxes.numel() and (boxes.min() < -_BOX_TOLERANCE or boxes.max() > 1 + _BOX_TOLERANCE):
        raise DatasetFormatError(
            f"labels[{index}]: boxes must be (cx, cy, w, h) normalized to [0, 1] by the network input size, got "
            f"values in [{boxes.min():.3g}, {boxes.max():.3g}]; YoloImageProcessor(images=..., annotations=...) "
            "produces them from COCO annotations."
        )
    return classes, boxes


def detection_batch(
    labels: Sequence[Mapping[str, Any]],
    device: torch.device | str,
    *,
    extra_keys: Mapping[str, str] | None = None,
) -> dict[str, torch.Tensor]:
    """Convert transformers detection labels to Ultralytics' batch format.

    Args:
        labels: One dict per image with ``class_labels`` `(N_i,)` and ``boxes`` `(N_i, 4)` normalized
            ``(cx, cy, w, h)`` relative to the network input (the letterboxed ``pixel_values``).
        device: Device of the returned tensors.
        extra_keys: Further per-object label keys to concatenate into the batch, ``{label_key: batch_key}``
            (e.g. ``{"keypoints": "keypoints"}`` for pose: `(N_i, K, 3)` per image).

    Returns:
        ``{"batch_idx": (N,), "cls": (N, 1), "bboxes": (N, 4)}`` float32 over all ``N = sum(N_i)`` objects, plus
        the extra keys; the layout of Ultralytics' dataloader.

    Raises:
        DatasetFormatError: A label dict is malformed, or its boxes are not normalized.
    """
    if isinstance(labels, Mapping) or not isinstance(labels, Sequence):
        raise DatasetFormatError(
            f"labels must be a list with one dict per image, got {type(labels).__name__}; "
            "use yolo_transformers.training.transforms.collate_fn to batch processor outputs."
        )
    indices, classes, boxes = [], [], []
    extras: dict[str, list[torch.Tensor]] = {key: [] for key in (extra_keys or {})}
    for index, label in enumerate(labels):
        image_classes, image_boxes = _per_object(label, index)
        indices.append(torch.full((image_classes.shape[0],), float(index)))
        classes.append(image_classes)
        boxes.append(image_boxes)
        for key in extras:
            extras[key].append(_as_tensor(label[key], torch.float32, key, index))
    batch = {
        "batch_idx": torch.cat(indices) if indices else torch.zeros(0),
        "cls": (torch.cat(classes) if classes else torch.zeros(0)).view(-1, 1),
        "bboxes": torch.cat(boxes) if boxes else torch.zeros(0, 4),
    }
    for label_key, batch_key in (extra_keys or {}).items():
        batch[batch_key] = torch.cat(extras[label_key])
    return {key: value.to(device) for key, value in batch.items()}


def ultralytics_loss(
    model: nn.Module, features: Sequence[torch.Tensor], batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Ultralytics' training loss of ``model`` on ``features`` for an Ultralytics-format ``batch``.

    Args:
        model: A ``YoloPreTrainedModel``.
        features: Head inputs, one per level, each `(batch_size, C_i, H_i, W_i)`.
        batch: Ultralytics batch (``batch_idx``, ``cls``, ``bboxes`` and the task's own keys).

    Returns:
        ``(loss, loss_dict)``: ``loss`` `()` is what Ultralytics' trainer back-propagates (its criterion's
        output summed, i.e. ``batch_size`` times the per-image components); ``loss_dict`` maps ``box``,
        ``cls``, ``dfl`` (or the task's components) to detached `()` per-image values.
    """
    criterion = get_criterion(model)
    predictions = _training_predictions(model.model.model[-1], features)
    total, items = criterion(predictions, dict(batch))
    if isinstance(items, Mapping):
        named = items.items()
    else:  # older criteria return a tensor of items in criterion.loss_names order
        names = getattr(getattr(criterion, "one2many", criterion), "loss_names", ())
        named = zip(names, items)
    loss_dict = {LOSS_NAMES.get(name, name): value.detach() for name, value in named}
    return total.sum(), loss_dict


def detection_loss(
    model: nn.Module,
    features: Sequence[torch.Tensor],
    labels: Sequence[Mapping[str, Any]],
    pixel_values: torch.Tensor,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Ultralytics' detection loss for transformers-format labels (used by ``YoloForObjectDetection.forward``).

    Args:
        model: A ``YoloForObjectDetection``.
        features: Head inputs, one per level, each `(batch_size, C_i, H_i, W_i)`.
        labels: One dict per image: ``class_labels`` `(N_i,)` and ``boxes`` `(N_i, 4)` normalized
            ``(cx, cy, w, h)`` relative to ``pixel_values``.
        pixel_values: `(batch_size, 3, height, width)` network input.

    Returns:
        ``(loss, loss_dict)``: see :func:`ultralytics_loss` and the module docstring for the scale.

    Raises:
        DatasetFormatError: Malformed labels, or not one label dict per image.
    """
    if len(labels) != pixel_values.shape[0]:
        raise DatasetFormatError(
            f"got {len(labels)} label dicts for a batch of {pixel_values.shape[0]} images; pass one per image."
        )
    return ultralytics_loss(model, features, detection_batch(labels, pixel_values.device))
