"""Reading Ultralytics ``.pt`` checkpoints without running anything they say.

A checkpoint is a pickle of whole modules: unpickling it unrestricted runs whatever it says, and even torch's
``weights_only`` mode calls the constructors of every class it allows. :mod:`.safe_unpickle` reads the pickle into
inert records (no constructor or method of the pickled classes runs), and the network is rebuilt here from the
checkpoint's validated architecture dict, then given the pickled weights and plain attributes.

``trust_checkpoint=True`` (``--trust-checkpoint``) is the explicit opt-out: a full ``torch.load`` that runs the file's
code. Files from the Hub are never unpickled.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..network.architecture import TASKS
from .pickle_objects import TensorRef
from ..errors import CheckpointError, UnsafeCheckpointError, UnsupportedTaskError

__all__ = ["UltralyticsCheckpoint", "load_checkpoint", "resolve_checkpoint_path", "scan_checkpoint_globals",
           "file_sha256"]

logger = logging.getLogger(__name__)

# Module paths of Ultralytics releases before 8.0.44, for trusted (full) unpickling.
_LEGACY_MODULES = {
    "ultralytics.yolo.utils": "ultralytics.utils",
    "ultralytics.yolo.v8": "ultralytics.models.yolo",
    "ultralytics.yolo.data": "ultralytics.data",
}
# Ultralytics network classes -> task (YOLOv10DetectionModel is the name releases before 8.3 pickled).
_NETWORK_TASKS = {
    "DetectionModel": "detect", "YOLOv10DetectionModel": "detect", "SegmentationModel": "segment",
    "SemanticSegmentationModel": "semantic", "DepthModel": "depth", "PoseModel": "pose", "OBBModel": "obb",
    "ClassificationModel": "classify",
}
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


def _trusted_network(ckpt: Any, path: Path) -> torch.nn.Module:
    """Pick the unfused EMA network (else ``model``) from a fully unpickled checkpoint dict."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} holds a {type(ckpt).__name__}, not an Ultralytics checkpoint dict.")
    network = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(network, torch.nn.Module) or not hasattr(network, "yaml"):
        raise CheckpointError(_not_a_model(ckpt, network, path))
    return network


def _not_a_model(ckpt: dict, network: Any, path: Path) -> str:
    if network is None:
        keys = ", ".join(sorted(map(str, ckpt))[:8])
        return (f"{path} is a PyTorch file but not an Ultralytics checkpoint: it has no 'model' or 'ema' entry "
                f"(keys: {keys}). Pass a best.pt/last.pt written by Ultralytics training or YOLO.save().")
    kind = getattr(network, "class_path", type(network).__name__)
    return (f"{path}: its 'model' entry is a {kind}, not an Ultralytics model with a yaml architecture. Only "
            "Ultralytics YOLO checkpoints can be converted.")


def _task_for_class(class_name: str, path: Path) -> str:
    """The Ultralytics task of a network class, refusing the families we do not serve."""
    if class_name in _UNSUPPORTED_NETWORKS:
        raise UnsupportedTaskError(
            f"{path} is a {_UNSUPPORTED_NETWORKS[class_name]} checkpoint ({class_name}); yolo_transformers serves "
            f"the YOLO tasks {', '.join(TASKS)}."
        )
    if class_name not in _NETWORK_TASKS:
        raise UnsupportedTaskError(f"{path}: {class_name} is not a YOLO network; supported tasks: {', '.join(TASKS)}.")
    return _NETWORK_TASKS[class_name]


def _load_trusted(path: Path, keep_dtype: bool) -> tuple[dict, torch.nn.Module, dict[str, Any]]:
    """Full unpickling (``--trust-checkpoint``): the file's own objects, code included."""
    from ultralytics.nn.tasks import temporary_modules

    logger.warning("--trust-checkpoint: unpickling %s without restrictions; it can run arbitrary code.", path)
    try:
        with temporary_modules(modules=_LEGACY_MODULES):
            ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as error:  # truncated archive, bad pickle, missing legacy module, ...
        raise CheckpointError(
            f"{path} could not be loaded as an Ultralytics checkpoint ({type(error).__name__}: {error})."
        ) from None
    network = _trusted_network(ckpt, path)
    task = _task_for_class(type(network).__name__, path)
    if _is_fused(network):
        raise CheckpointError(_FUSED_MESSAGE.format(path=path))
    source_dtype = next(network.parameters()).dtype
    network = (network if keep_dtype else network.float()).eval()
    meta = {"task": task, "source_dtype": source_dtype, "architecture": _plain(network.yaml),
            "names": dict(getattr(network, "names", {}) or {}), "args": getattr(network, "args", None)}
    return {k: _plain(v) for k, v in ckpt.items() if k in _METADATA_KEYS}, network, meta


_METADATA_KEYS = ("train_args", "train_metrics", "train_results", "date", "version")
_FUSED_MESSAGE = ("{path} holds a fused (inference-only) model; convert the training checkpoint best.pt/last.pt "
                  "instead.")


def _load_safe(path: Path, keep_dtype: bool) -> tuple[dict, torch.nn.Module, dict[str, Any]]:
    """Read the archive into inert records and rebuild the network from its validated yaml (nothing of it runs)."""
    from .records import check_same_structure, module_tree, plain_data, restore_attributes
    from .pickle_objects import Record
    from .safe_unpickle import read_archive
    from ..errors import ConfigError, UnsafeConfigError
    from ..network.architecture import build_network

    ckpt = read_archive(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} holds a {type(ckpt).__name__}, not an Ultralytics checkpoint dict.")
    record = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(record, Record) or not record.is_module or not isinstance(record.state, dict) \
            or "yaml" not in record.state:
        raise CheckpointError(_not_a_model(ckpt, record, path))
    task = _task_for_class(record.class_path.rpartition(".")[2], path)
    tree = module_tree(record, path)
    if any(cls == "Conv" and f"{name}.bn" not in tree.classes for name, cls in tree.classes.items()):
        raise CheckpointError(_FUSED_MESSAGE.format(path=path))
    state = record.state
    architecture = plain_data(state["yaml"], path)
    stride = plain_data(state.get("stride"), path) if not isinstance(state.get("stride"), TensorRef) \
        else state["stride"].tensor.flatten().tolist()
    stride = stride if isinstance(stride, list) else [float(stride or 32.0)]
    try:
        channels = int(architecture.get("channels", architecture.get("ch", 3))) if isinstance(architecture, dict) else 3
        network = build_network(architecture, task, stride, channels)
    except UnsafeConfigError as error:
        raise UnsafeCheckpointError(f"{path}: its architecture is refused: {error} Nothing was run.") from None
    except (ConfigError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: its architecture cannot be built: {error}") from None
    check_same_structure(network, tree, path)
    floating = [t.dtype for t in tree.state_dict.values() if t.is_floating_point()]
    source_dtype = floating[0] if floating else torch.float32
    if keep_dtype:
        network = network.to(source_dtype)
    try:
        network.load_state_dict(tree.state_dict, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: its weights do not fit its own architecture ({str(error)[:300]}).") from None
    restore_attributes(network, tree)
    network.eval()
    names = plain_data(state.get("names"), path)
    args = plain_data(state.get("args"), path)
    kpt_names = plain_data(state.get("kpt_names"), path)
    if isinstance(kpt_names, dict):
        network.kpt_names = kpt_names
    meta = {"task": task, "source_dtype": source_dtype, "architecture": architecture,
            "names": names if isinstance(names, dict) else dict(enumerate(names or [])), "args": args}
    return {k: plain_data(ckpt.get(k), path) for k in _METADATA_KEYS}, network, meta


def _is_fused(network: torch.nn.Module) -> bool:
    """Whether Conv+BatchNorm were fused (a predict-time model, not a training checkpoint)."""
    from ultralytics.nn.modules import Conv

    return any(isinstance(m, Conv) and not hasattr(m, "bn") for m in network.modules())


def load_checkpoint(checkpoint: str | Path, *, trust_checkpoint: bool = False, keep_dtype: bool = False) -> UltralyticsCheckpoint:
    """Load an Ultralytics checkpoint without running code from it.

    The pickle is read by :mod:`.safe_unpickle` into inert records; the network is rebuilt from its validated
    architecture and given the pickled weights and plain attributes.

    Args:
        checkpoint: Path of a ``.pt`` file, or an official name such as ``yolo11n.pt``.
        trust_checkpoint: Unpickle fully with the file's own code (custom modules you trust); logs a warning.
        keep_dtype: Keep fp16/bf16 weights instead of casting to float32.

    Raises:
        CheckpointError: Missing file, not a checkpoint, not an Ultralytics model, a fused model, or a resource bomb.
        UnsafeCheckpointError: The pickle names or calls code outside the allowed behaviour (nothing was run).
        UnsupportedTaskError: An RT-DETR, YOLO-World or YOLOE checkpoint.
    """
    path = resolve_checkpoint_path(checkpoint)
    loader = _load_trusted if trust_checkpoint else _load_safe
    metadata, network, meta = loader(path, keep_dtype)
    train_args = metadata.get("train_args") or _plain(meta["args"]) or {}
    train_args = train_args if isinstance(train_args, dict) else {}
    architecture = meta["architecture"]
    names = {int(k): str(v) for k, v in meta["names"].items() if str(k).isdigit()}
    if not names:
        names = {i: str(i) for i in range(int(architecture.get("nc", 0)))}
    network.names, network.task, network.args = dict(names), meta["task"], dict(train_args)
    return UltralyticsCheckpoint(
        path=path,
        sha256=file_sha256(path),
        network=network,
        task=meta["task"],
        names=names,
        architecture=architecture,
        stride=[float(s) for s in torch.as_tensor(network.stride).flatten().tolist()],
        image_size=train_args.get("imgsz", 640),
        train_args=train_args,
        metrics=metadata.get("train_metrics") or {},
        train_results=metadata.get("train_results") or {},
        date=metadata.get("date") if isinstance(metadata.get("date"), str) else None,
        version=metadata.get("version") if isinstance(metadata.get("version"), str) else None,
        source_dtype=meta["source_dtype"],
    )
