"""Resource limits of an architecture dict, checked before a network is allocated.

A 1 KB ``config.json`` can ask for hundreds of GiB (a huge width multiplier, repeats, channels, ``nc``). Every
number a row or the top level gives is bounded first (:data:`BOUNDS`); then the network is built on the meta device
(nothing allocated) to count its parameters exactly, and its activations at :data:`REFERENCE_IMAGE_SIZE` are
estimated from each layer's output channels and stride. The limits admit every official Ultralytics model up to the
``x`` scale at 1280 px (the largest, YOLOv6x, has 173 M parameters; YOLOv9e-seg has the most activations) with room
to spare, and are documented in the README's threat model.
"""

from __future__ import annotations

import copy
import functools
import json
import numbers
from typing import Any

import torch

from ..errors import ConfigError

__all__ = ["check_resources", "check_numbers", "BOUNDS", "MAX_PARAMETERS", "MAX_ACTIVATIONS", "REFERENCE_IMAGE_SIZE"]

#: Largest value of each number in an architecture dict (official models: depth <= 1.33, width <= 1.5,
#: max_channels <= 1024, nc <= 1000 (ImageNet), repeats <= 9, channels/arguments <= 1280).
BOUNDS = {
    "nc": 100_000,
    "depth_multiple": 4.0,
    "width_multiple": 4.0,
    "max_channels": 4096,
    "reg_max": 64,
    "channels": 16,
    "repeats": 64,
    "argument": 8192,  # any integer argument of a layer (channels, kernel, stride, ...)
    "rows": 512,
    "keypoints": 1024,
}
#: Parameters (YOLOv6x: 173 M; a float32 copy of 1.5 G parameters is 6 GiB).
MAX_PARAMETERS = 1_500_000_000
#: Activation elements of one 1280 px image, summed over layer outputs as estimated here (YOLOv9e-seg: 2.3 G).
MAX_ACTIVATIONS = 8_000_000_000
REFERENCE_IMAGE_SIZE = 1280


def _bounded(value: Any, limit: float, where: str, *, minimum: float = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not minimum <= value <= limit:
        raise ConfigError(f"{where}={value!r} is outside the allowed range [{minimum}, {limit}]; no official "
                          "Ultralytics model comes near it. Use the architecture of a real model.yaml.")


def check_numbers(architecture: dict) -> None:
    """Bound the top-level numbers, the scales, and every row's repeats and integer arguments (cheap: no build).

    Raises:
        ConfigError: A number is out of :data:`BOUNDS`.
    """
    for key in ("nc", "depth_multiple", "width_multiple", "max_channels", "reg_max", "channels"):
        if architecture.get(key) is not None:
            _bounded(architecture[key], BOUNDS[key], f"architecture.{key}")
    for name, scale in (architecture.get("scales") or {}).items():
        for value, key in zip(scale, ("depth_multiple", "width_multiple", "max_channels")):
            _bounded(value, BOUNDS[key], f"architecture.scales.{name}")
    kpt_shape = architecture.get("kpt_shape")
    if kpt_shape is not None:
        if not isinstance(kpt_shape, (list, tuple)) or len(kpt_shape) != 2:
            raise ConfigError(f"architecture.kpt_shape={kpt_shape!r} must be [keypoints, 2 or 3].")
        _bounded(kpt_shape[0], BOUNDS["keypoints"], "architecture.kpt_shape[0]", minimum=1)
        _bounded(kpt_shape[1], 3, "architecture.kpt_shape[1]", minimum=2)
    rows = [*architecture["backbone"], *architecture["head"]]
    _bounded(len(rows), BOUNDS["rows"], "number of layers in architecture.backbone + head", minimum=1)
    for index, row in enumerate(rows):
        _bounded(row[1], BOUNDS["repeats"], f"architecture layer {index} repeats", minimum=1)
        _check_arguments(row[3], f"architecture layer {index} args")


def _check_arguments(value: Any, where: str) -> None:
    if isinstance(value, (list, tuple)):
        if len(value) > 64:
            raise ConfigError(f"{where} has {len(value)} entries; layers take a few arguments.")
        for item in value:
            _check_arguments(item, where)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        _bounded(abs(value), BOUNDS["argument"], where)
    elif isinstance(value, str) and len(value) > 64:
        raise ConfigError(f"{where} holds a {len(value)}-character string; layer arguments are short names.")


def _layer_stride(module: torch.nn.Module) -> float:
    """How much a layer down-samples: the largest stride of its convolutions/pools, or 1/scale for upsampling."""
    if isinstance(module, torch.nn.Upsample):
        scale = module.scale_factor or 1
        return 1.0 / float(scale if isinstance(scale, numbers.Real) else max(scale))
    strides = [1]
    for sub in module.modules():
        stride = getattr(sub, "stride", None)
        if isinstance(sub, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)) and stride is not None:
            strides.append(max(stride) if isinstance(stride, tuple) else int(stride))
    return float(max(strides))


def _out_channels(module: torch.nn.Module) -> int:
    convs = [m for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    if not convs:
        return 0
    last = convs[-1]
    return last.out_channels if isinstance(last, torch.nn.Conv2d) else last.out_features


def _estimate(layers: torch.nn.Module, channels: int) -> tuple[int, int]:
    """Parameters of a meta-device network, and activation elements of one reference image."""
    parameters = sum(p.numel() for p in layers.parameters())
    strides: list[float] = []
    widths: list[int] = []
    activations = 0
    for index, layer in enumerate(layers):
        sources = layer.f if isinstance(layer.f, list) else [layer.f]
        inputs = [index + s if s < 0 else s for s in sources]
        stride_in = strides[inputs[0]] if inputs and 0 <= inputs[0] < len(strides) else 1.0
        width_in = sum(widths[i] for i in inputs if 0 <= i < len(widths)) or channels
        stride = stride_in * _layer_stride(layer)
        width = _out_channels(layer) or width_in
        strides.append(stride)
        widths.append(width)
        side = REFERENCE_IMAGE_SIZE / max(stride, 1e-3)
        activations += int(width * side * side)
    return parameters, activations


@functools.lru_cache(maxsize=32)
def _measure(key: str, channels: int) -> tuple[int, int]:
    from ultralytics.nn.tasks import parse_model

    from ..compat import fast_head_copies

    with torch.device("meta"), fast_head_copies():
        layers, _ = parse_model(json.loads(key), ch=channels, verbose=False)
    return _estimate(layers, channels)


def check_resources(architecture: dict, channels: int = 3) -> tuple[int, int]:
    """Refuse an architecture whose numbers, parameters or activations exceed the limits (nothing is allocated).

    Args:
        architecture: An architecture dict already checked by ``validate_architecture`` (allowed layers only).
        channels: Input channels.

    Returns:
        ``(parameters, activation elements at 1280 px)``.

    Raises:
        ConfigError: A number is out of :data:`BOUNDS`, or the estimate exceeds :data:`MAX_PARAMETERS` or
            :data:`MAX_ACTIVATIONS`.
    """
    _bounded(channels, BOUNDS["channels"], "channels", minimum=1)
    check_numbers(architecture)
    try:
        parameters, activations = _measure(json.dumps(copy.deepcopy(architecture), sort_keys=True), int(channels))
    except (ValueError, TypeError, IndexError, KeyError, RuntimeError, AttributeError, ZeroDivisionError) as error:
        raise ConfigError(f"the architecture cannot be built ({type(error).__name__}: {str(error)[:200]}).") from None
    if parameters > MAX_PARAMETERS:
        raise ConfigError(f"the architecture has {parameters:,} parameters, above the limit of {MAX_PARAMETERS:,} "
                          "(official Ultralytics models have at most ~0.2 G).")
    if activations > MAX_ACTIVATIONS:
        raise ConfigError(f"the architecture needs ~{activations:,} activation values per {REFERENCE_IMAGE_SIZE} px "
                          f"image, above the limit of {MAX_ACTIVATIONS:,}.")
    return parameters, activations
