"""``from_pretrained`` of every YOLO model: strict, diagnosable, and fast for a plain local folder.

transformers' loader re-initialises weights that are missing or of the wrong shape and only logs it; here every
mismatch is a typed error naming the file and the fix (the checks are in :mod:`yolo_transformers.network.loading`).
This module is the model layer's part: it decides how to load, builds the model class and hands it its weights, so
the layers below never call up into the model classes. :class:`~yolo_transformers.YoloPreTrainedModel` inherits
:class:`StrictLoadingMixin`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .configuration_yolo import YoloConfig
from .errors import ConfigError, WeightsError, YoloTransformersError
from .network.loading import (
    WEIGHTS_NAME,
    assign_weights,
    check_local_folder,
    raise_on_mismatch,
    read_weights,
    require_hub_safetensors,
)

__all__ = ["StrictLoadingMixin", "load_local_folder"]

# Keyword arguments that give the loaded model other classes (re-heading).
_CLASS_KWARGS = ("id2label", "label2id", "num_labels")

# Keyword arguments (as Auto classes and pipelines pass them) that a plain local folder load can honour directly.
_FAST_PATH_KWARGS = frozenset({"dtype", "torch_dtype", "config", "revision", "trust_remote_code", "adapter_kwargs",
                               "local_files_only", "_from_auto", "_from_pipeline"})


def _fast_path_applies(args: tuple, kwargs: dict) -> bool:
    """Whether a local folder load needs none of transformers' general machinery."""
    config = kwargs.get("config")
    return (
        not args
        and set(kwargs) <= _FAST_PATH_KWARGS
        and kwargs.get("revision") in (None, "main")
        and not kwargs.get("adapter_kwargs")
        and (config is None or isinstance(config, YoloConfig))
    )


def load_local_folder(model_class: type, folder: Path, dtype: Any = None, config: Any = None):
    """Load a local folder directly: config, network built without weight initialisation, safetensors assigned.

    This is what ``from_pretrained`` does for a plain local folder, without transformers' general-purpose loading
    machinery (device maps, quantisation, sharding), which costs several times the whole load of a YOLO network.

    Args:
        model_class: The YOLO class to build.
        folder: A folder checked by :func:`~yolo_transformers.network.loading.check_local_folder`.
        dtype: ``None``/``"auto"`` keeps the stored dtype; otherwise a torch dtype or its name.
        config: An already loaded config (Auto classes pass one); read from the folder when None.
    """
    import torch
    from transformers import initialization as init

    config = YoloConfig.from_pretrained(folder) if config is None else config
    weights, target = read_weights(folder, dtype)
    config.dtype = target
    with init.no_init_weights():
        model = model_class(config)
    modules = dict(model.named_modules())
    assign_weights(modules, weights, str(folder))
    config.name_or_path = str(folder)
    for module in modules.values():  # model.eval(), without its recursion
        module.training = False
    if target != torch.float32:  # Ultralytics' own _apply also casts head tensors that are not parameters (stride)
        model = model.to(target)
    return model


class StrictLoadingMixin:
    """Gives a ``PreTrainedModel`` subclass the strict ``from_pretrained`` (listed before ``PreTrainedModel``)."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """Load a converted model (folder or Hub repo id) from safetensors; nothing is unpickled.

        Unlike transformers' default, loading is strict: weights that are missing, unexpected or of the wrong
        shape for the config raise :class:`WeightsError` instead of being silently re-initialised. With
        ``runtime="onnx"`` or ``"openvino"`` the exported graph is loaded instead, as a :class:`YoloRuntimeModel`.

        Raises:
            CheckpointError: ``pretrained_model_name_or_path`` is an Ultralytics ``.pt`` (convert it first).
            ConfigError: ``config.json`` is malformed.
            WeightsError: weights missing, truncated or not fitting the config.
            TaskMismatchError: the folder holds a model of another task.
        """
        runtime = kwargs.pop("runtime", None)
        if runtime is not None:  # the exported graph (see ``export``) instead of the PyTorch weights
            from .runtime.model import load_runtime_model

            return load_runtime_model(cls, pretrained_model_name_or_path, runtime, *args, **kwargs)
        source = pretrained_model_name_or_path
        local = Path(str(source)).expanduser()
        if local.exists():
            check_local_folder(local, cls)
            if _fast_path_applies(args, kwargs) and (local / WEIGHTS_NAME).is_file():
                dtype = kwargs.get("dtype", kwargs.get("torch_dtype"))
                try:
                    return load_local_folder(cls, local, dtype, kwargs.get("config"))
                except RuntimeError as error:  # tensor shapes that do not fit the config
                    raise WeightsError(
                        f"{local}: the weights in model.safetensors do not fit config.json ({str(error)[:300]}). "
                        "The config and weights must come from the same conversion."
                    ) from None
        wants_info = bool(kwargs.pop("output_loading_info", False))
        ignore_mismatched = bool(kwargs.get("ignore_mismatched_sizes", False))
        if kwargs.get("use_safetensors") is False:
            raise WeightsError(f"{source}: use_safetensors=False asks for pickled weights (pytorch_model.bin); they "
                               "are never loaded. Load the repo's model.safetensors (the default).")
        kwargs["use_safetensors"] = True  # never pytorch_model.bin, which transformers would unpickle
        if not local.exists():
            require_hub_safetensors(str(source), kwargs)
        try:
            model, info = super().from_pretrained(source, *args, output_loading_info=True, **kwargs)
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
        raise_on_mismatch(info, str(source), ignore_mismatched)
        return (model, info) if wants_info else model
