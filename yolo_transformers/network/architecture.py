"""The Ultralytics architecture dict (``model.yaml``): validation and network building.

The dict is kept verbatim in :class:`~yolo_transformers.YoloConfig` and rebuilt with Ultralytics' own
``parse_model``, so state-dict keys need no remapping. ``parse_model`` looks module names up in a namespace
and ``eval``s the activation string, so a hostile ``config.json`` could run code: :func:`validate_architecture`
allows only known module names and activations and is called before anything is built.
"""

from __future__ import annotations

import ast
import copy
import functools
import logging
import numbers
from typing import Any

import torch

from ..errors import UnsafeConfigError, ConfigError
from .limits import check_numbers, check_resources

__all__ = ["validate_architecture", "build_network", "network_class_for_task", "TASKS", "ALLOWED_LAYERS"]

logger = logging.getLogger(__name__)

TASKS = ("detect", "segment", "semantic", "depth", "pose", "obb", "classify")

# torch.nn layers that official Ultralytics yaml files name as ``nn.<Name>``: pure tensor operations, no I/O.
_ALLOWED_TORCH_LAYERS = frozenset(
    {"Upsample", "Identity", "MaxPool2d", "AvgPool2d", "ZeroPad2d", "ConvTranspose2d", "BatchNorm2d", "ReLU",
     "SiLU", "Dropout", "AdaptiveAvgPool2d", "Flatten"}
)
# Activations a ``model.yaml`` may set as the default (``activation: nn.ReLU()``).
_ALLOWED_ACTIVATIONS = frozenset(
    {"SiLU", "ReLU", "ReLU6", "LeakyReLU", "Hardswish", "Hardsigmoid", "Mish", "GELU", "Sigmoid", "Tanh", "ELU",
     "PReLU", "Identity", "SELU", "CELU"}
)
_NUMERIC_FIELDS = ("nc", "depth_multiple", "width_multiple", "reg_max", "channels")


_COMPUTE_ONLY = "convolutions, norms and activations over its input; integer arguments; no file, network or eval"
_HEAD = "a YOLO head of a served task: convolutions plus box/mask/keypoint decoding; no file, network or eval"
#: Ultralytics layers a ``config.json`` may name, each with why it is safe. Layers absent from the installed
#: Ultralytics are ignored. Refused on purpose: ``TorchVision`` (downloads and fully unpickles torchvision/torch.hub
#: weights), ``Index`` (only used behind it), the open-vocabulary layers (``WorldDetect``, ``ImagePoolingAttn``,
#: ``C2fAttn``, ``YOLOE*``: they load text encoders) and RT-DETR's (``RTDETRDecoder``, ``AIFI``: not a served task).
ALLOWED_LAYERS: dict[str, str] = {
    **{name: _COMPUTE_ONLY for name in (
        "Conv", "Conv2", "DWConv", "GhostConv", "RepConv", "LightConv", "ConvTranspose", "DWConvTranspose2d",
        "Focus", "Concat", "Bottleneck", "BottleneckCSP", "C1", "C2", "C2f", "C3", "C3x", "C3TR", "C3Ghost",
        "GhostBottleneck", "C3k2", "C2PSA", "C2fPSA", "PSA", "SPP", "SPPF", "SPPELAN", "ADown", "AConv", "ELAN1",
        "RepNCSPELAN4", "CBLinear", "CBFuse", "SCDown", "C2fCIB", "A2C2f", "RepC3", "HGStem", "HGBlock",
        "ResNetLayer")},
    **{name: _HEAD for name in (
        "Detect", "v10Detect", "Segment", "Segment26", "Pose", "Pose26", "OBB", "OBB26", "Classify",
        "SemanticSegment", "Depth")},
}


@functools.lru_cache(maxsize=1)
def _ultralytics_layer_names() -> frozenset[str]:
    """The :data:`ALLOWED_LAYERS` that the installed Ultralytics defines as ``nn.Module`` classes for ``parse_model``."""
    import ultralytics.nn.tasks as tasks

    return frozenset(
        name
        for name in ALLOWED_LAYERS
        if isinstance(getattr(tasks, name, None), type) and issubclass(getattr(tasks, name), torch.nn.Module)
    )


def _check_activation(activation: Any) -> None:
    """Accept only ``[torch.]nn.<Activation>(<literal args>)``; anything else is refused unevaluated."""
    refusal = UnsafeConfigError(
        f"architecture.activation={activation!r} is not an allowed activation. Use the form 'nn.SiLU()' or "
        f"'nn.LeakyReLU(0.1)' with one of: {', '.join(sorted(_ALLOWED_ACTIVATIONS))}."
    )
    if not isinstance(activation, str):
        raise refusal
    try:
        call = ast.parse(activation.strip(), mode="eval").body
    except SyntaxError:
        raise refusal from None
    if not isinstance(call, ast.Call):
        raise refusal
    parts: list[str] = []
    node = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise refusal
    parts.append(node.id)
    parts.reverse()  # e.g. ["torch", "nn", "SiLU"]
    if parts[:-1] not in (["nn"], ["torch", "nn"]) or parts[-1] not in _ALLOWED_ACTIVATIONS:
        raise refusal
    for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
        try:
            ast.literal_eval(argument)
        except ValueError:
            raise refusal from None


def _check_layer_row(row: Any, index: int, section: str, allowed: frozenset[str]) -> None:
    """Check one ``[from, repeats, module, args]`` row of ``backbone``/``head``."""
    where = f"architecture.{section}[{index}]"
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        raise ConfigError(f"{where}={row!r} must be a list [from, repeats, module, args].")
    source, repeats, module, args = row
    sources = source if isinstance(source, (list, tuple)) else [source]
    if not sources or not all(isinstance(s, int) and not isinstance(s, bool) for s in sources):
        raise ConfigError(f"{where}: 'from'={source!r} must be an int or a list of ints.")
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ConfigError(f"{where}: repeats={repeats!r} must be a positive int.")
    if not isinstance(module, str):
        raise ConfigError(f"{where}: module={module!r} must be a module name string.")
    if module.startswith("nn."):
        if module[3:] not in _ALLOWED_TORCH_LAYERS:
            raise UnsafeConfigError(
                f"{where}: module {module!r} is not an allowed torch layer "
                f"(allowed: {', '.join('nn.' + n for n in sorted(_ALLOWED_TORCH_LAYERS))})."
            )
    elif module not in allowed:
        raise UnsafeConfigError(
            f"{where}: module {module!r} is not an allowed Ultralytics layer (TorchVision, open-vocabulary and RT-DETR "
            "layers load files or models and are refused; see network.architecture.ALLOWED_LAYERS); refusing to build "
            "it. Use the architecture dict of an Ultralytics model.yaml."
        )
    if not isinstance(args, (list, tuple)):
        raise ConfigError(f"{where}: args={args!r} must be a list.")
    _check_literal(args, f"{where}.args")


def _check_literal(value: Any, where: str) -> None:
    """Arguments must be plain data (numbers, strings, None, bools, nested lists/dicts)."""
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_literal(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_literal(key, where)
            _check_literal(item, where)
        return
    raise ConfigError(f"{where} contains {type(value).__name__} value {value!r}; only plain data is allowed.")


def validate_architecture(architecture: Any) -> None:
    """Validate an Ultralytics architecture dict before anything is built from it.

    Args:
        architecture: The ``model.yaml`` dict (``backbone``, ``head``, ``nc``, ``scales``, ...).

    Raises:
        ConfigError: A field is missing or has the wrong type, or a number is out of bounds.
        UnsafeConfigError: A module name or activation is not on the allowlist.
    """
    if not isinstance(architecture, dict):
        raise ConfigError(f"architecture must be a dict (an Ultralytics model.yaml), got {type(architecture).__name__}.")
    for section in ("backbone", "head"):
        if not isinstance(architecture.get(section), list) or not architecture[section]:
            raise ConfigError(f"architecture.{section} is missing or empty; it must be the list from model.yaml.")
    for field in _NUMERIC_FIELDS:
        value = architecture.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Number)):
            raise ConfigError(f"architecture.{field}={value!r} must be a number.")
    if not isinstance(architecture.get("nc"), int) or architecture["nc"] < 1:
        raise ConfigError(f"architecture.nc={architecture.get('nc')!r} must be a positive int (number of classes).")
    scales = architecture.get("scales")
    if scales is not None:
        if not isinstance(scales, dict) or not all(
            isinstance(v, (list, tuple)) and len(v) == 3 and all(isinstance(x, numbers.Number) for x in v)
            for v in scales.values()
        ):
            raise ConfigError("architecture.scales must map scale names to [depth, width, max_channels].")
        scale = architecture.get("scale")
        if scale is not None and scale not in scales:
            raise ConfigError(f"architecture.scale={scale!r} is not one of the scales {sorted(scales)}.")
    if architecture.get("activation") is not None:
        _check_activation(architecture["activation"])
    allowed = _ultralytics_layer_names()
    for section in ("backbone", "head"):
        for index, row in enumerate(architecture[section]):
            _check_layer_row(row, index, section, allowed)
    for key, value in architecture.items():
        if key not in ("backbone", "head"):
            _check_literal(value, f"architecture.{key}")
    check_numbers(architecture)


def network_class_for_task(task: str) -> type:
    """Return the Ultralytics model class (``DetectionModel``, ``PoseModel``, ...) for a task name."""
    from ultralytics.nn import tasks as ul_tasks

    classes = {
        "detect": ul_tasks.DetectionModel,
        "segment": ul_tasks.SegmentationModel,
        "semantic": getattr(ul_tasks, "SemanticSegmentationModel", None),
        "depth": getattr(ul_tasks, "DepthModel", None),
        "pose": ul_tasks.PoseModel,
        "obb": ul_tasks.OBBModel,
        "classify": ul_tasks.ClassificationModel,
    }
    if classes.get(task) is None:
        raise ConfigError(f"task={task!r} is not one of {', '.join(TASKS)}.")
    return classes[task]


def build_network(architecture: dict, task: str, stride: list[float], channels: int = 3) -> torch.nn.Module:
    """Build the Ultralytics network for ``architecture`` without its stride probe or random re-initialisation.

    Ultralytics' constructors run a dummy forward to measure strides, which fails on the meta device that
    transformers builds models on and costs time on every load. The strides are known (they are in the config),
    so this reproduces the constructor's state directly.

    Args:
        architecture: Validated architecture dict.
        task: One of :data:`TASKS`.
        stride: Output stride of each head level in input pixels, e.g. ``[8.0, 16.0, 32.0]``.
        channels: Input channels.

    Returns:
        The Ultralytics model (``DetectionModel`` etc.) with ``model``, ``save``, ``yaml``, ``stride`` set.
    """
    validate_architecture(architecture)
    check_resources(architecture, channels)
    from ultralytics.nn.tasks import parse_model

    from ..compat import configure_head, fast_head_copies

    network_class = network_class_for_task(task)
    network = network_class.__new__(network_class)
    torch.nn.Module.__init__(network)
    yaml = copy.deepcopy(architecture)
    yaml["channels"] = channels
    network.yaml = yaml
    with fast_head_copies():  # YOLOv10/YOLO26 heads deep-copy their one-to-one branch: 3x faster this way
        network.model, network.save = parse_model(copy.deepcopy(yaml), ch=channels, verbose=False)
    network.names = {i: str(i) for i in range(yaml["nc"])}
    network.inplace = yaml.get("inplace", True)
    if task == "pose":
        network.kpt_shape = yaml.get("kpt_shape")
    stride_tensor = torch.tensor([float(s) for s in stride], dtype=torch.float32, device="cpu")
    network.stride = stride_tensor
    head = network.model[-1]
    if task != "classify" and hasattr(head, "stride"):
        head.stride = stride_tensor.clone()
    if hasattr(head, "inplace"):
        head.inplace = network.inplace
    configure_head(head)
    if task != "classify":  # ClassificationModel never runs initialize_weights: it keeps PyTorch's BN defaults
        for module in network.modules():  # Ultralytics' initialize_weights sets these BatchNorm hyper-parameters
            if type(module) is torch.nn.BatchNorm2d:
                module.eps = 1e-3
                module.momentum = 0.03
    return network
