"""The checks and weight handling behind a strict, diagnosable ``from_pretrained``; nothing here builds a model.

transformers' loader re-initialises weights that are missing or of the wrong shape and reports it in a log line;
for a converted detector that silently yields garbage. Here every mismatch is an error, and common failures
(an Ultralytics ``.pt`` passed directly, a folder without weights, a truncated ``model.safetensors``) get a
typed error that names the file and the fix. :mod:`yolo_transformers.modeling_loading` (the model layer) builds
the model and calls these.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .architecture import TASKS
from ..errors import CheckpointError, ConfigError, TaskMismatchError, WeightsError

__all__ = ["WEIGHTS_NAME", "check_local_folder", "check_safetensors", "raise_on_mismatch", "read_weights",
           "assign_weights", "require_hub_safetensors"]

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "model.safetensors"


def check_safetensors(path: Path) -> None:
    """Check a safetensors file's header and that the file holds every byte it describes (reads the header only).

    Raises:
        WeightsError: The header is unreadable or inconsistent, or the file is shorter than the header says.
    """
    from .safetensors_map import read_layout

    read_layout(path)


def check_local_folder(folder: Path, model_class: type) -> None:
    """Diagnose a local model folder before transformers reads it.

    Raises:
        CheckpointError: ``folder`` is an Ultralytics ``.pt`` file.
        ConfigError: ``config.json`` is missing.
        WeightsError: ``model.safetensors`` is missing or damaged.
        TaskMismatchError: the config's task is served by another class.
    """
    if folder.is_file():
        if folder.suffix in {".pt", ".pth"}:
            raise CheckpointError(
                f"{folder} is an Ultralytics checkpoint, not a transformers folder. Convert it first: "
                f"`python -m yolo_transformers.convert {folder} --output DIR`, then load DIR."
            )
        raise ConfigError(f"{folder} is a file; pass the folder that holds config.json and model.safetensors.")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ConfigError(
            f"{folder} has no config.json; it is not a converted YOLO model. Create one with "
            "`python -m yolo_transformers.convert best.pt --output DIR`."
        )
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ConfigError(f"{config_file} is not valid JSON ({type(error).__name__}: {str(error)[:200]}).") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{config_file} must hold a JSON object.")
    for field, kind, example in (("architecture", dict, "the Ultralytics model.yaml dict"),
                                 ("stride", list, "[8, 16, 32]")):
        if field not in config:
            raise ConfigError(
                f"{config_file} has no {field!r} field ({example}); re-create the folder with "
                "`python -m yolo_transformers.convert best.pt --output DIR`."
            )
        if not isinstance(config[field], kind):
            raise ConfigError(f"{config_file}: {field}={config[field]!r} must be {example}.")
    task = config.get("task", "detect")
    if task not in TASKS:
        raise ConfigError(f"{config_file}: task={task!r} is not one of {', '.join(TASKS)}.")
    served = getattr(model_class, "task", "")
    if served and task != served:
        raise TaskMismatchError(
            f"{config_file} describes a {task!r} model but {model_class.__name__} serves {served!r}; load it with the "
            "class for that task or an Auto class."
        )
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        sharded = folder / (WEIGHTS_NAME + ".index.json")
        if sharded.is_file():
            return
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise WeightsError(
            f"{folder} has no {WEIGHTS_NAME} (it holds: {present}). Re-create the folder with "
            "`python -m yolo_transformers.convert best.pt --output DIR` or download the whole repo."
        )
    check_safetensors(weights)


def raise_on_mismatch(info: dict[str, Any], source: str, ignore_mismatched_sizes: bool = False) -> None:
    """Turn transformers' loading report into an error if any weight did not fit.

    Args:
        info: transformers' loading info (``missing_keys``, ``unexpected_keys``, ``mismatched_keys``).
        source: What to name in the error (folder or repo id).
        ignore_mismatched_sizes: Accept mismatched keys (re-heading: transformers re-initialised them and logged
            its load report); missing and unexpected keys still fail.
    """
    problems = []
    kinds = ("missing_keys", "unexpected_keys") + (() if ignore_mismatched_sizes else ("mismatched_keys",))
    for kind in kinds:
        keys = list(info.get(kind) or [])
        if keys:
            problems.append(f"{kind.replace('_', ' ')}: {', '.join(map(str, keys[:5]))}{' ...' if len(keys) > 5 else ''}")
    if problems:
        raise WeightsError(
            f"{source}: the weights do not fit config.json ({'; '.join(problems)}). The config and "
            "model.safetensors must come from the same conversion."
        )


def _resolve_dtype(dtype: Any, weights: dict) -> Any:
    """The dtype to load in: an explicit one, else (``None``/``"auto"``) the dtype stored in the file."""
    import torch

    if dtype is None or dtype == "auto":
        floating = [t.dtype for t in weights.values() if t.is_floating_point()]
        return floating[0] if floating else torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def read_weights(folder: Path, dtype: Any = None) -> tuple[dict, Any]:
    """Map a folder's ``model.safetensors`` and cast its floating tensors to the dtype to load in.

    Args:
        folder: A folder checked by :func:`check_local_folder`.
        dtype: ``None``/``"auto"`` keeps the stored dtype; otherwise a torch dtype or its name.

    Returns:
        ``(weights, dtype)``: state-dict key -> tensor (views of the file where no cast was needed), and the torch
        dtype of the floating tensors.
    """
    from .safetensors_map import map_safetensors

    weights = map_safetensors(folder / WEIGHTS_NAME)
    target = _resolve_dtype(dtype, weights)
    return {key: t.to(target) if t.is_floating_point() else t for key, t in weights.items()}, target


def assign_weights(modules: dict[str, Any], weights: dict, source: str) -> None:
    """Make ``weights`` the parameters and persistent buffers of ``modules`` (no copy); every key must fit exactly.

    Equivalent to ``load_state_dict(weights, strict=True, assign=True)`` without its per-module recursion, which
    costs as much as building a YOLO network.

    Args:
        modules: ``dict(model.named_modules())``.
        weights: State-dict key -> tensor.
        source: What to name in errors (the folder).
    """
    from torch import nn

    expected: dict[str, tuple[Any, str, bool]] = {}
    for module_name, module in modules.items():
        prefix = f"{module_name}." if module_name else ""
        for name in module._parameters:
            if module._parameters[name] is not None:
                expected[prefix + name] = (module, name, True)
        for name in module._buffers:
            if module._buffers[name] is not None and name not in module._non_persistent_buffers_set:
                expected[prefix + name] = (module, name, False)
    missing = sorted(expected.keys() - weights.keys())
    unexpected = sorted(weights.keys() - expected.keys())
    mismatched = [k for k in expected.keys() & weights.keys()
                  if tuple(weights[k].shape) != tuple(getattr(expected[k][0], expected[k][1]).shape)]
    raise_on_mismatch({"missing_keys": missing, "unexpected_keys": unexpected, "mismatched_keys": mismatched}, source)
    for key, (module, name, is_parameter) in expected.items():
        if is_parameter:
            module._parameters[name] = nn.Parameter(weights[key], requires_grad=module._parameters[name].requires_grad)
        else:
            module._buffers[name] = weights[key]


_HUB_FILE_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download", "proxies", "subfolder")


def require_hub_safetensors(repo_id: str, kwargs: dict[str, Any]) -> None:
    """Refuse a Hub repo without ``model.safetensors`` (or its shard index) before transformers looks further.

    Without this, transformers falls back to ``pytorch_model.bin`` (a pickle) or asks the Hub's conversion service
    to convert it (a request to a third party, and weights from another revision).

    Raises:
        WeightsError: Neither ``model.safetensors`` nor ``model.safetensors.index.json`` is in the repo (or cache).
    """
    from transformers.utils.hub import cached_file

    options = {k: kwargs[k] for k in _HUB_FILE_KWARGS if kwargs.get(k) is not None}
    for name in (WEIGHTS_NAME, WEIGHTS_NAME + ".index.json"):
        resolved = cached_file(repo_id, name, _raise_exceptions_for_missing_entries=False,
                               _raise_exceptions_for_gated_repo=False, **options)
        if resolved is not None:
            if name == WEIGHTS_NAME:
                check_safetensors(Path(resolved))  # a malformed header is a WeightsError, as for local folders
            return
    raise WeightsError(
        f"{repo_id} has no {WEIGHTS_NAME}: only safetensors weights are loaded; a pytorch_model.bin (a pickle) is "
        "never loaded. Ask the owner to push the model with `yolo-hf push` or `model.push_to_hub`."
    )
