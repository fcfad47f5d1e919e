"""Every patch of, and private call into, Ultralytics and transformers, in one place.

Written against Ultralytics 8.4 and transformers 5.x. Each function says what it touches, why the library needs it,
and restores what it changed before it returns (nothing here leaves process-wide state changed):

=================================  ===================================================================================
:func:`keep_torch_threads`         Ultralytics' ``select_device`` sets torch's process-wide thread count
:func:`predict_at_current_threads` pins Ultralytics' ``NUM_THREADS`` to the caller's count for a predict (parity)
:func:`ultralytics_safe_loading`   flips ``ultralytics.nn.tasks.SAFE_LOAD`` (Ultralytics' restricted loader) in a block
:func:`preserved_process_state`    snapshots what Ultralytics changes process-wide (torch safe globals, threads, env)
:func:`yolo_for_network`           an ``ultralytics.YOLO`` around an in-memory network, as ``Model._load`` sets one up
:func:`no_download_counts`         turns off ``datasets``' download-count request to a third-party S3 bucket in a block
:func:`fast_head_copies`           swaps the ``copy`` name of ``ultralytics.nn.modules.head`` in a block
:func:`fuse_quietly`               Ultralytics' ``fuse()`` prints; its output is dropped
:func:`one_to_one_inference`       calls the private ``Detect._inference`` of end-to-end heads
:func:`configure_head`             pins Ultralytics' class-level head switches on one instance
:func:`register_pipeline_model_names`  writes into transformers' static ``MODEL_FOR_..._MAPPING_NAMES`` tables
:func:`standalone_validator`       builds an Ultralytics validator without its dataloader and model (attributes set)
=================================  ===================================================================================
"""

from __future__ import annotations

import contextlib
import copy
import threading
import types
from collections.abc import Iterator
from typing import Any

import torch

from .network.module_clone import clone_module

__all__ = ["keep_torch_threads", "predict_at_current_threads", "ultralytics_safe_loading", "preserved_process_state", "yolo_for_network",
           "no_download_counts", "fast_head_copies", "fuse_quietly",
           "one_to_one_inference", "configure_head", "register_pipeline_model_names", "standalone_validator"]

_PATCH_LOCK = threading.RLock()  # re-entrant: a build inside a build must not deadlock


@contextlib.contextmanager
def _attribute_set(owner: Any, name: str, value: Any) -> Iterator[None]:
    """``owner.name = value`` inside the block (under the patch lock), the previous value put back on exit."""
    with _PATCH_LOCK:
        previous = getattr(owner, name)
        setattr(owner, name, value)
        try:
            yield
        finally:
            setattr(owner, name, previous)


@contextlib.contextmanager
def keep_torch_threads() -> Iterator[None]:
    """Restore ``torch.get_num_threads()`` on exit.

    Ultralytics' ``select_device`` (run by every ``YOLO.predict``) calls ``torch.set_num_threads(cpu_count - 1)``
    for the whole process: on a 2-core machine that halves the speed of every later CPU forward, ours included.
    """
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@contextlib.contextmanager
def predict_at_current_threads() -> Iterator[None]:
    """Let Ultralytics' ``predict`` run at the caller's torch thread count, and leave that count as it was.

    ``select_device`` (run by the first ``predict`` of a ``YOLO``) sets ``torch.set_num_threads(NUM_THREADS)``
    (``cpu_count - 1``). Convolutions sum in another order at another thread count, so a parity check would compare
    Ultralytics at one count with ours at another (a random-weights mask near its 0.5 threshold then flips pixels).
    Inside this block ``ultralytics.utils.torch_utils.NUM_THREADS`` is the current count; it is restored on exit.
    Written against Ultralytics 8.4.190.
    """
    import ultralytics.utils.torch_utils as ul_torch_utils

    with keep_torch_threads(), _attribute_set(ul_torch_utils, "NUM_THREADS", torch.get_num_threads()):
        yield


@contextlib.contextmanager
def ultralytics_safe_loading() -> Iterator[None]:
    """Make Ultralytics' own loaders (``YOLO(path)``) use their restricted ``weights_only`` path in this block."""
    import ultralytics.nn.tasks as ul_tasks

    with _attribute_set(ul_tasks, "SAFE_LOAD", True):
        yield


@contextlib.contextmanager
def preserved_process_state() -> Iterator[None]:
    """Restore, on exit, the process-wide state that Ultralytics' ``YOLO()``/``predict`` change.

    Ultralytics' restricted loader adds its classes to torch's *process-wide* ``weights_only`` safe globals (after
    which any later ``torch.load(weights_only=True)`` trusts them), ``YOLO()`` sets ``CUBLAS_WORKSPACE_CONFIG`` in
    ``os.environ``, ``select_device`` sets torch's thread count, and ``SAFE_LOAD`` is a module flag. All of them are
    put back as they were.
    """
    import os

    import ultralytics.nn.tasks as ul_tasks

    safe_globals = list(torch.serialization.get_safe_globals())
    environment = dict(os.environ)
    safe_load = ul_tasks.SAFE_LOAD
    try:
        with keep_torch_threads():
            yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(safe_globals)
        for key in set(os.environ) - set(environment):
            del os.environ[key]
        for key, value in environment.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        ul_tasks.SAFE_LOAD = safe_load


def yolo_for_network(network: torch.nn.Module, train_args: dict, task: str) -> Any:
    """An ``ultralytics.YOLO`` whose model is ``network``, set up as ``Model._load`` sets up a loaded ``.pt``.

    Written against Ultralytics 8.4 (``Model.__init__``/``_load``/``_reset_ckpt_args``). Nothing is read from a
    file, so no checkpoint is unpickled for the parity reference. Call it inside :func:`preserved_process_state`.
    """
    from ultralytics import YOLO
    from ultralytics.cfg import DEFAULT_CFG_DICT
    from ultralytics.utils import callbacks

    yolo = YOLO.__new__(YOLO)
    torch.nn.Module.__init__(yolo)
    for name, value in (("predictor", None), ("trainer", None), ("ckpt", {}), ("cfg", None), ("ckpt_path", None),
                        ("metrics", None), ("model_name", None), ("task", task)):
        setattr(yolo, name, value)
    yolo.callbacks = callbacks.get_default_callbacks()
    kept = {k: train_args[k] for k in ("imgsz", "single_cls") if k in train_args}  # never a dataset path or URL
    network.args = {**DEFAULT_CFG_DICT, **kept, "task": task}
    network.task = task
    network.pt_path = ""
    yolo.model = network
    yolo.overrides = network.args = yolo._reset_ckpt_args(network.args)
    yolo.overrides.pop("data", None)
    del yolo.training
    return yolo


@contextlib.contextmanager
def no_download_counts() -> Iterator[None]:
    """Within this block, ``datasets`` (5.x) does not send its download-count HEAD request.

    ``datasets.load.increase_load_count`` asks ``s3.amazonaws.com`` for ``<repo>.py`` on every builder load, even
    when ``HF_ENDPOINT`` is a private Hub: the repo name leaves for a third party. Its module flag is turned off and
    restored on exit.
    """
    from datasets import config

    with _attribute_set(config, "HF_UPDATE_DOWNLOAD_COUNTS", False):
        yield


@contextlib.contextmanager
def fast_head_copies() -> Iterator[None]:
    """Within this block, Ultralytics' head module deep-copies modules with :func:`clone_module`.

    Only the ``copy`` name inside ``ultralytics.nn.modules.head`` is replaced, and restored on exit; any other
    thread building a head meanwhile gets an equally independent copy.
    """
    from ultralytics.nn.modules import head

    shim = types.SimpleNamespace(deepcopy=clone_module, copy=copy.copy)
    with _PATCH_LOCK:
        original = head.__dict__.get("copy")
        if original is not copy:  # an Ultralytics release that copies differently: leave it alone
            yield
            return
        head.copy = shim
        try:
            yield
        finally:
            head.copy = original


def fuse_quietly(network: torch.nn.Module) -> torch.nn.Module:
    """Ultralytics' Conv+BatchNorm fusion of ``network`` in place, without the summary it prints to stdout."""
    with contextlib.redirect_stdout(None):
        network.fuse(verbose=False)
    return network


def one_to_one_inference(head: torch.nn.Module, raw: Any) -> torch.Tensor:
    """The decoded, pre-top-k tensor of an end-to-end head's one-to-one branch.

    Ultralytics 8.4 has no public call for it: ``Detect.forward`` returns the top-k selection, while the parity
    check compares the tensor before it (``Detect._inference(raw["one2one"])``).
    """
    return head._inference(raw["one2one"])


def configure_head(head: torch.nn.Module, *, end_to_end: bool | None = None, dynamic: bool = False) -> None:
    """Set Ultralytics' class-level head switches explicitly on this instance.

    Ultralytics keeps ``export``, ``format``, ``dynamic`` and anchor caches as class attributes that an export
    elsewhere in the process may flip; pinning them per instance keeps our forward deterministic. ``dynamic=True``
    recomputes the anchors from the input size on every forward (so a traced ONNX graph keeps its image size dynamic).
    """
    for name, value in (("export", False), ("format", None), ("dynamic", dynamic)):
        if hasattr(type(head), name):
            setattr(head, name, value)
    if hasattr(head, "shape"):
        head.shape = None  # forces anchors to be rebuilt on the first forward
    if end_to_end is not None and hasattr(type(head), "end2end") and getattr(head, "one2one_cv2", None) is not None:
        head.end2end = end_to_end


def register_pipeline_model_names(table: str, model_type: str, class_names: tuple[str, ...]) -> None:
    """Add YOLO class names to one of transformers' static ``MODEL_FOR_..._MAPPING_NAMES`` tables.

    Written against transformers 5.x. Pipelines check a model against these tables (``Pipeline.check_model_type``)
    and log an error for a class they do not list; ``register`` on an Auto class does not add it there.
    ``"yolo"`` is absent from ``CONFIG_MAPPING_NAMES``, so the lazy Auto mappings never import anything from these
    entries: they are only read by that check.

    Args:
        table: Attribute name in ``transformers.models.auto.modeling_auto``.
        model_type: The config's ``model_type`` (``"yolo"``).
        class_names: Model class names; a single name is stored as a string, several as a tuple.
    """
    from transformers.models.auto import modeling_auto

    getattr(modeling_auto, table)[model_type] = class_names[0] if len(class_names) == 1 else class_names


#: task -> Ultralytics 8.4 validator class (module, name).
_VALIDATORS = {
    "detect": ("ultralytics.models.yolo.detect", "DetectionValidator"),
    "segment": ("ultralytics.models.yolo.segment", "SegmentationValidator"),
    "pose": ("ultralytics.models.yolo.pose", "PoseValidator"),
    "obb": ("ultralytics.models.yolo.obb", "OBBValidator"),
    "classify": ("ultralytics.models.yolo.classify", "ClassificationValidator"),
    "semantic": ("ultralytics.models.yolo.semantic", "SemanticSegmentationValidator"),
    "depth": ("ultralytics.models.yolo.depth", "DepthValidator"),
}


def standalone_validator(
    task: str, *, names: dict[int, str], data: dict[str, Any], args: dict[str, Any], end2end: bool, save_dir: Any
) -> Any:
    """An Ultralytics validator of ``task`` ready for ``preprocess`` / ``postprocess`` / ``update_metrics`` /
    ``get_stats`` on batches we build, so that matching and metrics are Ultralytics' own.

    Written against Ultralytics 8.4. ``BaseValidator.__call__`` builds a dataloader and runs a model itself; we feed
    our model's predictions instead, so the attributes ``__call__`` would set are set here: ``device`` (CPU),
    ``data`` (names, ``nc``, ``kpt_shape``, ``max_depth`` ...), ``training=True`` (skips the ``max_det`` check that
    reads the dataloader) and ``init_metrics`` with a stand-in model that carries ``names`` and ``end2end``. Nothing
    outside the validator instance changes; plots and result files are off, and ``save_dir`` (created by the
    validator) should be a temporary folder.
    """
    import importlib

    module, name = _VALIDATORS[task]
    validator_class = getattr(importlib.import_module(module), name)
    overrides = {"task": task, "mode": "val", "plots": False, "save_json": False, "save_txt": False,
                 "verbose": False, "split": "val", **args}
    from pathlib import Path

    validator = validator_class(save_dir=Path(save_dir), args=overrides)
    validator.device = torch.device("cpu")
    validator.data = {"names": names, "nc": len(names), "channels": 3, **data}
    validator.training = True
    validator.init_metrics(types.SimpleNamespace(names=names, end2end=end2end))
    return validator
