"""Strict, diagnosable ``from_pretrained`` for YOLO models.

transformers' loader re-initialises weights that are missing or of the wrong shape and reports it in a log line;
for a converted detector that silently yields garbage. Here every mismatch is an error, and common failures
(an Ultralytics ``.pt`` passed directly, a folder without weights, a truncated ``model.safetensors``) get a
typed error that names the file and the fix.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

from .architecture import TASKS
from ..errors import CheckpointError, ConfigError, TaskMismatchError, WeightsError, YoloTransformersError

__all__ = ["load_strictly", "check_local_folder"]

logger = logging.getLogger(__name__)

_WEIGHTS_NAME = "model.safetensors"


def _check_safetensors(path: Path) -> None:
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
    weights = folder / _WEIGHTS_NAME
    if not weights.is_file():
        sharded = folder / (_WEIGHTS_NAME + ".index.json")
        if sharded.is_file():
            return
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise WeightsError(
            f"{folder} has no {_WEIGHTS_NAME} (it holds: {present}). Re-create the folder with "
            "`python -m yolo_transformers.convert best.pt --output DIR` or download the whole repo."
        )
    _check_safetensors(weights)


def _raise_on_mismatch(info: dict[str, Any], source: str, ignore_mismatched_sizes: bool = False) -> None:
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


# Keyword arguments that give the loaded model other classes (re-heading).
_CLASS_KWARGS = ("id2label", "label2id", "num_labels")

# Keyword arguments (as Auto classes and pipelines pass them) that a plain local folder load can honour directly.
_FAST_PATH_KWARGS = frozenset({"dtype", "torch_dtype", "config", "revision", "trust_remote_code", "adapter_kwargs",
                               "local_files_only", "_from_auto", "_from_pipeline"})


def _fast_path_applies(args: tuple, kwargs: dict) -> bool:
    """Whether a local folder load needs none of transformers' general machinery."""
    from ..configuration_yolo import YoloConfig

    config = kwargs.get("config")
    return (
        not args
        and set(kwargs) <= _FAST_PATH_KWARGS
        and kwargs.get("revision") in (None, "main")
        and not kwargs.get("adapter_kwargs")
        and (config is None or isinstance(config, YoloConfig))
    )


def _resolve_dtype(dtype: Any, weights: dict) -> Any:
    """The dtype to load in: an explicit one, else (``None``/``"auto"``) the dtype stored in the file."""
    import torch

    if dtype is None or dtype == "auto":
        floating = [t.dtype for t in weights.values() if t.is_floating_point()]
        return floating[0] if floating else torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def _assign_weights(modules: dict[str, Any], weights: dict, source: str) -> None:
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
    _raise_on_mismatch({"missing_keys": missing, "unexpected_keys": unexpected, "mismatched_keys": mismatched}, source)
    for key, (module, name, is_parameter) in expected.items():
        if is_parameter:
            module._parameters[name] = nn.Parameter(weights[key], requires_grad=module._parameters[name].requires_grad)
        else:
            module._buffers[name] = weights[key]


def load_local_folder(model_class: type, folder: Path, dtype: Any = None, config: Any = None):
    """Load a local folder directly: config, network built without weight initialisation, safetensors assigned.

    This is what ``from_pretrained`` does for a plain local folder, without transformers' general-purpose loading
    machinery (device maps, quantisation, sharding), which costs several times the whole load of a YOLO network.

    Args:
        model_class: The YOLO class to build.
        folder: A folder checked by :func:`check_local_folder`.
        dtype: ``None``/``"auto"`` keeps the stored dtype; otherwise a torch dtype or its name.
        config: An already loaded config (Auto classes pass one); read from the folder when None.
    """
    import torch
    from transformers import initialization as init

    from .safetensors_map import map_safetensors
    from ..configuration_yolo import YoloConfig

    config = YoloConfig.from_pretrained(folder) if config is None else config
    weights = map_safetensors(folder / _WEIGHTS_NAME)
    target = _resolve_dtype(dtype, weights)
    weights = {key: t.to(target) if t.is_floating_point() else t for key, t in weights.items()}
    config.dtype = target
    with init.no_init_weights():
        model = model_class(config)
    modules = dict(model.named_modules())
    _assign_weights(modules, weights, str(folder))
    config.name_or_path = str(folder)
    for module in modules.values():  # model.eval(), without its recursion
        module.training = False
    if target != torch.float32:  # Ultralytics' own _apply also casts head tensors that are not parameters (stride)
        model = model.to(target)
    return model


_HUB_FILE_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download", "proxies", "subfolder")


def _require_hub_safetensors(repo_id: str, kwargs: dict[str, Any]) -> None:
    """Refuse a Hub repo without ``model.safetensors`` (or its shard index) before transformers looks further.

    Without this, transformers falls back to ``pytorch_model.bin`` (a pickle) or asks the Hub's conversion service
    to convert it (a request to a third party, and weights from another revision).

    Raises:
        WeightsError: Neither ``model.safetensors`` nor ``model.safetensors.index.json`` is in the repo (or cache).
    """
    from transformers.utils.hub import cached_file

    options = {k: kwargs[k] for k in _HUB_FILE_KWARGS if kwargs.get(k) is not None}
    for name in (_WEIGHTS_NAME, _WEIGHTS_NAME + ".index.json"):
        resolved = cached_file(repo_id, name, _raise_exceptions_for_missing_entries=False,
                               _raise_exceptions_for_gated_repo=False, **options)
        if resolved is not None:
            if name == _WEIGHTS_NAME:
                _check_safetensors(Path(resolved))  # a malformed header is a WeightsError, as for local folders
            return
    raise WeightsError(
        f"{repo_id} has no {_WEIGHTS_NAME}: only safetensors weights are loaded; a pytorch_model.bin (a pickle) is "
        "never loaded. Ask the owner to push the model with `yolo-hf push` or `model.push_to_hub`."
    )


def load_strictly(loader: Callable, model_class: type, source, *args: Any, **kwargs: Any):
    """Call transformers' ``from_pretrained`` (``loader``) and refuse any weight that does not fit.

    Args:
        loader: The bound ``PreTrainedModel.from_pretrained`` of ``model_class``.
        model_class: The YOLO class being loaded.
        source: Folder path or Hub repo id.
    """
    local = Path(str(source)).expanduser()
    if local.exists():
        check_local_folder(local, model_class)
        if _fast_path_applies(args, kwargs) and (local / _WEIGHTS_NAME).is_file():
            dtype = kwargs.get("dtype", kwargs.get("torch_dtype"))
            try:
                return load_local_folder(model_class, local, dtype, kwargs.get("config"))
            except RuntimeError as error:  # tensor shapes that do not fit the config
                raise WeightsError(
                    f"{local}: the weights in model.safetensors do not fit config.json ({str(error)[:300]}). The "
                    "config and weights must come from the same conversion."
                ) from None
    wants_info = bool(kwargs.pop("output_loading_info", False))
    ignore_mismatched = bool(kwargs.get("ignore_mismatched_sizes", False))
    if kwargs.get("use_safetensors") is False:
        raise WeightsError(f"{source}: use_safetensors=False asks for pickled weights (pytorch_model.bin); they are "
                           "never loaded. Load the repo's model.safetensors (the default).")
    kwargs["use_safetensors"] = True  # never pytorch_model.bin, which transformers would unpickle
    if not local.exists():
        _require_hub_safetensors(str(source), kwargs)
    try:
        model, info = loader(source, *args, output_loading_info=True, **kwargs)
    except ConfigError as error:
        if "config.json" in str(error):
            raise
        raise type(error)(f"{source}/config.json: {error}") from None
    except YoloTransformersError:
        raise
    except RuntimeError as error:
        if "mismatched_sizes" in str(error):
            if any(kwargs.get(name) is not None for name in _CLASS_KWARGS):
                # transformers' own message (it names ignore_mismatched_sizes); its load report lists the keys
                raise WeightsError(
                    f"{source}: the new classes do not fit the saved class layers. {error} Pass "
                    "ignore_mismatched_sizes=True to from_pretrained to re-initialise them for the new classes."
                ) from error
            raise WeightsError(
                f"{source}: the weights in model.safetensors do not fit config.json (tensor shapes differ). The "
                "config and weights must come from the same conversion."
            ) from None
        raise
    except ValueError as error:  # e.g. a config.json field of a wrong type
        raise ConfigError(f"{source}/config.json: {error}") from None
    _raise_on_mismatch(info, str(source), ignore_mismatched)
    return (model, info) if wants_info else model
