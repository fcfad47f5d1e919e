"""Back-conversion: write a transformers YOLO model as an Ultralytics ``.pt`` that ``ultralytics.YOLO`` loads.

The HF model already holds the real Ultralytics network (``model.model``), so nothing is rebuilt: the network is
deep-copied, given the attributes Ultralytics' loader reads (``names``, ``args``, ``task``, ``yaml``, ``stride``) and
saved in the checkpoint layout of a finished Ultralytics training run (EMA weights in half precision, ``ema=None``,
training args, metrics and per-epoch results), exactly as ``YOLO.save()`` and the trainer's final ``strip_optimizer``
leave it. The file references only torch and Ultralytics module classes and plain data, so Ultralytics' restricted
loader (``ULTRALYTICS_SAFE_LOAD=1``, ``torch_safe_load(path, safe_only=True)``) accepts it.

Example::

    from ultralytics import YOLO
    from .. import YoloForObjectDetection
    from .to_ultralytics import save_ultralytics_checkpoint

    model = YoloForObjectDetection.from_pretrained("user/repo")
    path = save_ultralytics_checkpoint(model, "model.pt")
    YOLO(path).predict("image.jpg")
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, ConfigError, WeightsError
from ..network.architecture import TASKS

__all__ = ["save_ultralytics_checkpoint", "ultralytics_checkpoint_dict", "DEFAULT_FILENAME"]

logger = logging.getLogger(__name__)

_MAX_IMAGE_SIZE = 8192
#: Default file name: neutral, so Ultralytics never renames it (``yolov5n.pt`` would be looked up as ``yolov5nu.pt``).
DEFAULT_FILENAME = "model.pt"

_LICENSE = "AGPL-3.0 License (https://ultralytics.com/license)"
_DOCS = "https://docs.ultralytics.com"
# Attributes that yolo_transformers pins on the head instance; Ultralytics keeps them on the class.
_PINNED_HEAD_ATTRIBUTES = ("export", "format", "dynamic")


def _plain_data(value: Any) -> Any:
    """A JSON round trip: the checkpoint's metadata must hold only plain data for ``weights_only`` loading."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def _image_size_arg(image_size: int | list[int]) -> int | list[int]:
    """Ultralytics ``imgsz``: an int for square sizes, ``[h, w]`` otherwise."""
    if isinstance(image_size, (list, tuple)):
        height, width = (int(v) for v in image_size)
        return height if height == width else [height, width]
    return int(image_size)


def _train_args(config: Any) -> dict[str, Any]:
    """The training args Ultralytics needs to load and predict, checked: ``imgsz``, ``task``, ``single_cls``.

    ``YOLO(path)`` keeps only ``imgsz``, ``data``, ``task`` and ``single_cls`` from a checkpoint's args
    (``Model._reset_ckpt_args``); ``data`` is never written: a dataset URL or path from a Hub repo's config would be
    downloaded, unpacked, and its ``download:`` script run by ``YOLO(path).val()``. ``imgsz`` is the size the HF
    processor letterboxes to (``config.image_size``), so both predict the same.

    Raises:
        ConfigError: ``config.image_size`` or ``config.task`` is not a valid value.
    """
    image_size = _image_size_arg(config.image_size)
    sizes = image_size if isinstance(image_size, list) else [image_size]
    if not all(isinstance(v, int) and 32 <= v <= _MAX_IMAGE_SIZE for v in sizes):
        raise ConfigError(f"config.image_size={config.image_size!r} must be 32 to {_MAX_IMAGE_SIZE} pixels.")
    if config.task not in TASKS:
        raise ConfigError(f"config.task={config.task!r} is not one of {', '.join(TASKS)}.")
    args: dict[str, Any] = {"imgsz": image_size, "task": config.task}
    recorded = config.train_args if isinstance(config.train_args, dict) else {}
    if isinstance(recorded.get("single_cls"), bool):
        args["single_cls"] = recorded["single_cls"]
    return args


def _safe_yaml(architecture: dict) -> dict:
    """The architecture for the pickle, without ``yaml_file`` unless it is a bare file name (never a path or URL)."""
    architecture = dict(_plain_data(architecture))
    name = architecture.get("yaml_file")
    if name is not None and not (isinstance(name, str) and re.fullmatch(r"[\w-]+(\.[\w-]+)*\.ya?ml", name)):
        architecture.pop("yaml_file")
    return architecture


def _plain_float_network(model: torch.nn.Module) -> torch.nn.Module:
    """A float32 CPU deep copy of the HF model's Ultralytics network, without HF-only state."""
    network = getattr(model, "model", None)
    if network is None or not hasattr(network, "yaml"):
        raise WeightsError(
            f"{type(model).__name__} holds no Ultralytics network at .model; pass a YoloPreTrainedModel "
            "(YoloForObjectDetection.from_pretrained(...)) or a converted folder."
        )
    if any(t.is_meta for t in (*network.parameters(), *network.buffers())):
        raise WeightsError("the model's weights are on the meta device (not loaded); load it with from_pretrained.")
    network = copy.deepcopy(network).cpu().float()
    for module in network.modules():
        module.__dict__.pop("_is_hf_initialized", None)
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
        module._backward_hooks.clear()
    return network.eval()


def _prepare_network(model: torch.nn.Module, half: bool) -> torch.nn.Module:
    """The network as Ultralytics would pickle it: names, args, task, stride set; head switches on the class."""
    config = model.config
    network = _plain_float_network(model)
    network.names = {int(i): str(name) for i, name in config.id2label.items()}
    network.nc = len(network.names)
    network.args = _train_args(config)
    network.task = config.task
    network.yaml = _safe_yaml(network.yaml)
    network.stride = torch.tensor([float(s) for s in config.stride], dtype=torch.float32)
    head = network.model[-1]
    for name in _PINNED_HEAD_ATTRIBUTES:
        head.__dict__.pop(name, None)  # fall back to Ultralytics' class defaults, as in its own checkpoints
    if hasattr(head, "shape"):
        head.shape = None  # anchors are rebuilt on the first forward
    # The head's branch switch (``end2end`` on YOLOv10/YOLO26) is kept as the HF model has it, so the module's own
    # forward returns what the HF model returns; Ultralytics' predictor sets it per call anyway (nms=False -> one2one).
    network.criterion = None  # training-only state, as the trainer strips it
    if half:
        network = network.half()
    return network.to(memory_format=torch.contiguous_format)


def ultralytics_checkpoint_dict(model: torch.nn.Module, *, half: bool = True) -> dict[str, Any]:
    """Build the checkpoint dict Ultralytics' trainer and ``YOLO.save()`` write, from a transformers YOLO model.

    Args:
        model: A ``YoloPreTrainedModel`` (any dtype or device; it is not modified).
        half: Store the weights in float16 like Ultralytics does (default); False keeps float32.

    Returns:
        A dict with ``model`` (the Ultralytics network), ``ema=None``, ``train_args``, ``train_metrics``,
        ``train_results``, ``date``, ``version``, ``license``, ``docs`` and a ``yolo_transformers`` provenance entry.
    """
    import ultralytics

    config = model.config
    network = _prepare_network(model, half)
    from ..version import __version__ as converter_version

    return {
        "date": config.training_date or datetime.now().astimezone().isoformat(),
        "version": ultralytics.__version__,  # the release whose classes are pickled in this file
        "license": _LICENSE,
        "docs": _DOCS,
        "epoch": -1,  # a finished run, as after Ultralytics' strip_optimizer
        "best_fitness": None,
        "model": network,
        "ema": None,
        "updates": None,
        "optimizer": None,
        "train_args": dict(network.args),
        "train_metrics": _plain_data(config.metrics) or {},
        "train_results": _plain_data(config.train_results) or {},
        "yolo_transformers": {
            "converter_version": converter_version,
            "source_ultralytics_version": config.ultralytics_version,
            "source_sha256": config.source_sha256,
            "source_file": config.source_file,
            "end_to_end": bool(config.end_to_end),
        },
    }


def _check_filename(path: Path) -> None:
    """Refuse names Ultralytics would not load as given (wrong suffix, or renamed ``yolov5n.pt`` -> ``yolov5nu.pt``)."""
    if path.suffix != ".pt":
        raise CheckpointError(f"{path}: Ultralytics only loads checkpoints named *.pt; use e.g. {DEFAULT_FILENAME}.")
    from ultralytics.utils.checks import check_yolov5u_filename

    # The name alone decides: YOLO("yolov5n.pt") from the file's folder would be renamed whatever the full path is.
    renamed = check_yolov5u_filename(path.name, verbose=False)
    if renamed != path.name:
        raise CheckpointError(
            f"{path}: ultralytics.YOLO would load {renamed} instead of this file (it renames legacy YOLOv3/v5 "
            f"names); choose another name, e.g. {path.with_name(DEFAULT_FILENAME)}."
        )


def _load_model(folder: Path) -> torch.nn.Module:
    """Load a converted folder with the model class of its task."""
    from ..configuration_yolo import YoloConfig
    from ..auto import model_class_for_task

    config = YoloConfig.from_pretrained(folder)
    return model_class_for_task(config.task).from_pretrained(folder)


def save_ultralytics_checkpoint(
    model: torch.nn.Module | str | os.PathLike, path: str | os.PathLike = DEFAULT_FILENAME, *, half: bool = True
) -> Path:
    """Write a transformers YOLO model as an Ultralytics ``.pt`` checkpoint.

    ``ultralytics.YOLO(path)`` then loads it (also with ``ULTRALYTICS_SAFE_LOAD=1``) and predicts what the HF model
    predicts: default ``predict()`` matches a model with ``config.end_to_end=False``; for YOLOv10/YOLO26 models with
    ``config.end_to_end=True`` use ``predict(nms=False)``. Its predict size is ``config.image_size``.

    Args:
        model: A ``YoloPreTrainedModel`` (float32, float16 or bfloat16, any device), or a converted model folder.
        path: Output file; must end in ``.pt``. If it is an existing folder, ``model.pt`` is written inside it.
        half: Store float16 weights like Ultralytics' own checkpoints (default). Weights are cast to float32 first,
            so a float16 model is saved losslessly.

    Returns:
        The path written.

    Raises:
        CheckpointError: The file name is not one Ultralytics loads as given (not ``.pt``, or a legacy
            ``yolov5n.pt``-style name that Ultralytics rewrites to ``yolov5nu.pt``).
        WeightsError: The model holds no loaded Ultralytics network.
    """
    if isinstance(model, (str, os.PathLike)):
        model = _load_model(Path(model))
    path = Path(path)
    if path.is_dir():
        path = path / DEFAULT_FILENAME
    _check_filename(path)
    checkpoint = ultralytics_checkpoint_dict(model, half=half)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")  # created with the umask
    try:
        torch.save(checkpoint, temporary)
        os.replace(temporary, path)  # atomic: a reader never sees a half-written checkpoint
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    logger.info("wrote Ultralytics checkpoint %s (%s, %d classes)", path, model.config.task, len(model.config.id2label))
    return path
