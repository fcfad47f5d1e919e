"""Reading Ultralytics ``.pt`` checkpoints safely.

A checkpoint is a pickle of whole modules: unpickling it unrestricted runs whatever it says. This module first
lists every global the pickle references (without running it) and refuses any outside an allowlist of Ultralytics
and torch classes and plain data; only then is it loaded with ``torch.load(weights_only=True)`` through
Ultralytics' own restricted loader (which also maps legacy class paths of older releases).

This is the only place in the library that unpickles anything, and only for local files the user names; files
from the Hub are never unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from ..network.architecture import TASKS
from ..errors import CheckpointError, UnsafeCheckpointError, UnsupportedTaskError

__all__ = ["UltralyticsCheckpoint", "load_checkpoint", "resolve_checkpoint_path", "scan_checkpoint_globals",
           "file_sha256"]

logger = logging.getLogger(__name__)

# Globals that are plain data or Ultralytics' own aliases for renamed classes (see ultralytics.nn.tasks._SafeLoad).
_ALLOWED_DATA_GLOBALS = frozenset(
    {
        "ultralytics.utils.IterableSimpleNamespace",
        "ultralytics.yolo.utils.IterableSimpleNamespace",
        "ultralytics.nn.modules.block.Silence",  # YOLOv9e, mapped to nn.Identity
        "ultralytics.nn.tasks.YOLOv10DetectionModel",  # YOLOv10, mapped to DetectionModel
        "ultralytics.utils.loss.v10DetectLoss",
        "builtins.getattr",  # Ultralytics' restricted loader replaces it with an nn.Module-attribute-only getattr
        "dill._dill._load_type",  # replaced by a loader that returns only builtin data types (set, tuple, ...)
        "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib._local.PosixPath", "pathlib._local.WindowsPath",
        "numpy.dtype", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "torchvision.transforms.transforms.Compose", "torchvision.transforms.transforms.Normalize",
        "torchvision.transforms.transforms.Resize", "torchvision.transforms.transforms.CenterCrop",
        "torchvision.transforms.transforms.ToTensor", "torchvision.transforms.functional.InterpolationMode",
    }
)
# Module paths of Ultralytics releases before 8.0.44, for trusted (full) unpickling.
_LEGACY_MODULES = {
    "ultralytics.yolo.utils": "ultralytics.utils",
    "ultralytics.yolo.v8": "ultralytics.models.yolo",
    "ultralytics.yolo.data": "ultralytics.data",
}
_MODULE_NAMESPACES = ("ultralytics.nn.modules", "ultralytics.nn.tasks", "torch.nn.modules")
_CLASS_NAMESPACES = ("ultralytics.utils.loss", "ultralytics.utils.tal")
# Ultralytics network classes that are not one of the tasks we serve.
_UNSUPPORTED_NETWORKS = {
    "RTDETRDetectionModel": "RT-DETR (transformer detector)",
    "WorldModel": "YOLO-World (open-vocabulary detection)",
    "YOLOEModel": "YOLOE (open-vocabulary detection)",
    "YOLOESegModel": "YOLOE (open-vocabulary segmentation)",
}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_allowed_global(name: str) -> bool:
    """Whether a ``module.Qualname`` global referenced by a checkpoint pickle is on the allowlist."""
    if name in _ALLOWED_DATA_GLOBALS or _is_numpy_dtype_global(name):
        return True
    module_name, _, attribute = name.rpartition(".")
    in_module_namespace = any(module_name == ns or module_name.startswith(ns + ".") for ns in _MODULE_NAMESPACES)
    in_class_namespace = module_name in _CLASS_NAMESPACES
    if not (in_module_namespace or in_class_namespace):
        return False
    try:
        obj = getattr(importlib.import_module(module_name), attribute, None)
    except ImportError:
        return False
    if not isinstance(obj, type):
        return False
    if in_class_namespace:
        return obj.__module__ == module_name
    return issubclass(obj, torch.nn.Module)


def scan_checkpoint_globals(path: Path) -> list[str]:
    """List the globals a ``torch.save`` archive's pickle references beyond torch's own safe set (nothing runs).

    Raises:
        CheckpointError: The file is not a torch zip archive (or is truncated).
    """
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (not a torch.save zip archive, or truncated). Pass the best.pt/last.pt "
            "that Ultralytics wrote under runs/<task>/<name>/weights/."
        )
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception as error:  # corrupt member, bad pickle opcode stream, ...
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(error).__name__}: {error}).") from None


def resolve_checkpoint_path(checkpoint: str | Path) -> Path:
    """Return a local path for ``checkpoint``: a file, or an official name (``yolo11n.pt``) fetched like Ultralytics.

    Raises:
        CheckpointError: The file does not exist, or an official name cannot be downloaded.
    """
    path = Path(checkpoint).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file; pass the .pt file inside it.")
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES, attempt_download_asset

    if str(checkpoint) == path.name and path.name in GITHUB_ASSETS_NAMES:
        logger.info("%s is not a local file; fetching the official checkpoint as ultralytics.YOLO does", path.name)
        try:
            fetched = Path(attempt_download_asset(path.name))
        except Exception as error:
            raise CheckpointError(
                f"{path.name} is not a local file and could not be downloaded ({type(error).__name__}: {error}). "
                "If you are offline, download it elsewhere and pass its local path."
            ) from None
        if not fetched.is_file():
            raise CheckpointError(
                f"{path.name} is not a local file and could not be downloaded (offline?). Download it elsewhere "
                "and pass its local path."
            )
        return fetched
    raise CheckpointError(f"{checkpoint}: no such file. Check the path (e.g. runs/detect/train/weights/best.pt).")


def _restricted_getattr(obj: Any, name: str) -> Any:
    """``getattr`` for unpickling: only methods of nn.Module classes/instances and enum members (as Ultralytics pickles)."""
    import enum

    if name.startswith("_"):
        raise UnsafeCheckpointError(f"checkpoint asked for private attribute {name!r} of {type(obj).__name__}; refused.")
    if isinstance(obj, type) and issubclass(obj, (torch.nn.Module, enum.Enum)):
        return getattr(obj, name)
    if isinstance(obj, torch.nn.Module) and name in {"forward", "forward_fuse"}:
        return getattr(type(obj), name).__get__(obj)
    raise UnsafeCheckpointError(f"checkpoint asked for getattr({type(obj).__name__}, {name!r}); refused.")


# Ultralytics 8.1-8.2 pickled with dill when it was installed; dill names builtin types through ``_load_type``.
_DILL_BUILTIN_TYPES = {t.__name__: t for t in (set, frozenset, list, dict, tuple, bool, int, float, complex, str, bytes,
                                               type(None), slice, range)}


def _restricted_dill_load_type(name: str) -> type:
    """dill's ``_load_type`` limited to plain builtin data types."""
    if name not in _DILL_BUILTIN_TYPES:
        raise UnsafeCheckpointError(f"checkpoint asked dill for type {name!r}; only plain data types are allowed.")
    return _DILL_BUILTIN_TYPES[name]


def _resolve_allowed(name: str) -> Any:
    """The object an allowlisted global name stands for (legacy names map to their current classes)."""
    import pathlib

    import numpy as np

    aliases: dict[str, Any] = {
        "builtins.getattr": _restricted_getattr,
        "dill._dill._load_type": _restricted_dill_load_type,
        "ultralytics.nn.modules.block.Silence": torch.nn.Identity,
        "numpy.core.multiarray.scalar": np.float64(0).__reduce__()[0],
        "numpy._core.multiarray.scalar": np.float64(0).__reduce__()[0],
        "numpy.dtype": np.dtype,
    }
    if name in aliases:
        return aliases[name]
    if name.startswith("pathlib."):
        return pathlib.WindowsPath if os.name == "nt" else pathlib.PosixPath
    if name == "ultralytics.nn.tasks.YOLOv10DetectionModel":
        from ultralytics.nn.tasks import DetectionModel

        return DetectionModel
    if name == "ultralytics.utils.loss.v10DetectLoss":
        from ultralytics.utils.loss import E2EDetectLoss

        return E2EDetectLoss
    if name == "ultralytics.yolo.utils.IterableSimpleNamespace":
        name = "ultralytics.utils.IterableSimpleNamespace"
    module_name, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def _torch_load(path: Path, allowed: list[str] | None) -> Any:
    """``torch.load`` with ``weights_only=True`` and exactly the allowlisted globals (all of them when trusted)."""
    if allowed is None:
        from ultralytics.nn.tasks import temporary_modules

        with temporary_modules(modules=_LEGACY_MODULES):
            return torch.load(str(path), map_location="cpu", weights_only=False)
    import numpy as np

    safe = [(_resolve_allowed(name), name) for name in allowed]
    safe.append(type(np.dtype(np.float64)))  # built dynamically: not listed by the global scan
    if "dill._dill._load_type" in allowed:  # the types it returns are then called to rebuild plain data
        safe.extend(_DILL_BUILTIN_TYPES.values())
    with torch.serialization.safe_globals(safe):
        return torch.load(str(path), map_location="cpu", weights_only=True)


def _is_numpy_dtype_global(name: str) -> bool:
    return name.startswith("numpy.dtypes.") and name.rpartition(".")[2].endswith("DType")


@dataclass
class UltralyticsCheckpoint:
    """What a converter needs from an Ultralytics checkpoint.

    Attributes:
        path: The checkpoint file.
        sha256: Hex sha256 of the file.
        network: The Ultralytics model (unfused EMA weights when present), float32 unless asked otherwise, eval mode.
        task: Ultralytics task name.
        names: Class index -> name.
        architecture: The ``model.yaml`` dict the network was built from.
        stride: Head strides in pixels.
        image_size: Training ``imgsz`` (int or ``[h, w]``).
        train_args: The training arguments (plain data), or ``{}``.
        metrics: Final validation metrics (``metrics/mAP50(B)`` ...), or ``{}``.
        train_results: Per-epoch training results (column -> list), or ``{}``.
        date: Training date (ISO 8601) or None.
        version: Ultralytics version that wrote the checkpoint, or None.
        source_dtype: dtype the weights were stored in.
    """

    path: Path
    sha256: str
    network: torch.nn.Module
    task: str
    names: dict[int, str]
    architecture: dict
    stride: list[float]
    image_size: int | list[int]
    train_args: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    train_results: dict = field(default_factory=dict)
    date: str | None = None
    version: str | None = None
    source_dtype: torch.dtype = torch.float32


def _plain(value: Any) -> Any:
    """Convert checkpoint metadata (namespaces, paths, numpy scalars) to JSON-able plain data."""
    if isinstance(value, dict) or hasattr(value, "__dict__") and type(value).__name__ == "IterableSimpleNamespace":
        items = value.items() if isinstance(value, dict) else vars(value).items()
        return {str(k): _plain(v) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            return str(value)
    return str(value)


def _network_from(ckpt: Any, path: Path) -> torch.nn.Module:
    """Pick the unfused EMA network (else ``model``) from a loaded checkpoint dict."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} holds a {type(ckpt).__name__}, not an Ultralytics checkpoint dict.")
    network = ckpt.get("ema") or ckpt.get("model")
    if network is None:
        keys = ", ".join(sorted(map(str, ckpt))[:8])
        raise CheckpointError(
            f"{path} is a PyTorch file but not an Ultralytics checkpoint: it has no 'model' or 'ema' entry "
            f"(keys: {keys}). Pass a best.pt/last.pt written by Ultralytics training or YOLO.save()."
        )
    if not isinstance(network, torch.nn.Module) or not hasattr(network, "yaml"):
        raise CheckpointError(
            f"{path}: its 'model' entry is a {type(network).__name__}, not an Ultralytics model with a yaml "
            "architecture. Only Ultralytics YOLO checkpoints can be converted."
        )
    return network


def _task_of(network: torch.nn.Module, path: Path) -> str:
    """The Ultralytics task of a network, refusing the families we do not serve."""
    class_name = type(network).__name__
    if class_name in _UNSUPPORTED_NETWORKS:
        raise UnsupportedTaskError(
            f"{path} is a {_UNSUPPORTED_NETWORKS[class_name]} checkpoint ({class_name}); yolo_transformers serves "
            f"the YOLO tasks {', '.join(TASKS)}."
        )
    from ultralytics.nn.tasks import guess_model_task

    task = getattr(network, "task", None) or guess_model_task(network)
    if task not in TASKS:
        raise UnsupportedTaskError(f"{path}: task {task!r} is not supported; supported tasks: {', '.join(TASKS)}.")
    return task


def _is_fused(network: torch.nn.Module) -> bool:
    """Whether Conv+BatchNorm were fused (a predict-time model, not a training checkpoint)."""
    from ultralytics.nn.modules import Conv

    return any(isinstance(m, Conv) and not hasattr(m, "bn") for m in network.modules())


def load_checkpoint(checkpoint: str | Path, *, trust_checkpoint: bool = False, keep_dtype: bool = False) -> UltralyticsCheckpoint:
    """Load an Ultralytics checkpoint without running code from it.

    Args:
        checkpoint: Path of a ``.pt`` file, or an official name such as ``yolo11n.pt``.
        trust_checkpoint: Skip the allowlist and unpickle fully (for checkpoints with custom modules you trust).
        keep_dtype: Keep fp16/bf16 weights instead of casting to float32.

    Raises:
        CheckpointError: Missing file, not a checkpoint, not an Ultralytics model, or a fused model.
        UnsafeCheckpointError: The pickle references a global outside the allowlist (nothing was run).
        UnsupportedTaskError: An RT-DETR, YOLO-World or YOLOE checkpoint.
    """
    path = resolve_checkpoint_path(checkpoint)
    if trust_checkpoint:
        logger.warning("--trust-checkpoint: unpickling %s without an allowlist; it can run arbitrary code.", path)
        allowed: list[str] | None = None
    else:
        names = scan_checkpoint_globals(path)
        refused = sorted(name for name in names if not _is_allowed_global(name))
        if refused:
            raise UnsafeCheckpointError(
                f"{path} references code outside the Ultralytics/torch allowlist: {', '.join(refused)}. Nothing was "
                "run. If you trust this file (e.g. custom modules you wrote), pass --trust-checkpoint."
            )
        allowed = names
    try:
        ckpt = _torch_load(path, allowed)
    except (UnsafeCheckpointError, CheckpointError):
        raise
    except Exception as error:  # truncated archive, bad pickle, missing legacy module, ...
        raise CheckpointError(
            f"{path} could not be loaded as an Ultralytics checkpoint ({type(error).__name__}: {error})."
        ) from None
    network = _network_from(ckpt, path)
    task = _task_of(network, path)
    if _is_fused(network):
        raise CheckpointError(
            f"{path} holds a fused (inference-only) model; convert the training checkpoint best.pt/last.pt instead."
        )
    source_dtype = next(network.parameters()).dtype
    network = (network if keep_dtype else network.float()).eval()
    train_args = _plain(ckpt.get("train_args") or getattr(network, "args", None) or {})
    names = {int(k): str(v) for k, v in dict(getattr(network, "names", {}) or {}).items()}
    architecture = _plain(network.yaml)
    if not names:
        names = {i: str(i) for i in range(int(architecture.get("nc", 0)))}
    return UltralyticsCheckpoint(
        path=path,
        sha256=file_sha256(path),
        network=network,
        task=task,
        names=names,
        architecture=architecture,
        stride=[float(s) for s in torch.as_tensor(network.stride).flatten().tolist()],
        image_size=_plain(train_args.get("imgsz", 640)) if isinstance(train_args, dict) else 640,
        train_args=train_args if isinstance(train_args, dict) else {},
        metrics=_plain(ckpt.get("train_metrics") or {}),
        train_results=_plain(ckpt.get("train_results") or {}),
        date=ckpt.get("date") if isinstance(ckpt.get("date"), str) else None,
        version=ckpt.get("version") if isinstance(ckpt.get("version"), str) else None,
        source_dtype=source_dtype,
    )
