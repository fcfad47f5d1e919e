"""From the inert record graph of a checkpoint to plain data, tensors and a network built from the vetted yaml.

:mod:`.safe_unpickle` turns a checkpoint into :class:`~.pickle_objects.Record`\\ s. Here the module tree is walked
(bounded in depth and size) to collect its state dict and per-module plain attributes, metadata is turned into JSON
-able data (bounded: a pickle can share one list many times), and the network is rebuilt by
:func:`~yolo_transformers.network.architecture.build_network` from the architecture dict, which is validated first.
The rebuilt tree must have the same module classes under the same names as the pickled one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .pickle_objects import Record, TensorRef

__all__ = ["plain_data", "module_tree", "ModuleTree", "restore_attributes", "check_same_structure"]

_MAX_MODULES = 100_000
_MAX_DEPTH = 64
_MAX_PLAIN_NODES = 2_000_000
# The plain attributes copied from a pickled module onto the rebuilt one (numerics that the yaml does not fix), with
# their allowed range; nothing that sizes a tensor (an Upsample scale, a kernel) is ever taken from the pickle.
_COPIED_ATTRIBUTES: dict[str, tuple[float, float] | None] = {
    "eps": (0.0, 1.0), "momentum": (0.0, 1.0), "negative_slope": (-10.0, 10.0), "max_det": (1, 10_000),
    "end2end": None, "legacy": None,
}
_ALIASES = {"Silence": "Identity", "YOLOv10DetectionModel": "DetectionModel"}


def plain_data(value: Any, path: Path, budget: list[int] | None = None, depth: int = 0) -> Any:
    """Checkpoint metadata (namespaces, tuples, numpy scalars) as JSON-able data; records other than namespaces,
    tensors and anything deeper than 64 levels become their class name / None.

    Raises:
        CheckpointError: The metadata expands to more than two million nodes (shared references).
    """
    budget = [_MAX_PLAIN_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise CheckpointError(f"{path}: its metadata is nested or repeated beyond any training run's (a bomb).")
    if isinstance(value, Record):
        if value.class_path.endswith("IterableSimpleNamespace") and isinstance(value.state, dict):
            value = value.state
        else:
            return value.class_path.rpartition(".")[2]
    if isinstance(value, dict):
        return {str(plain_data(k, path, budget, depth + 1)): plain_data(v, path, budget, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain_data(v, path, budget, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, TensorRef):
        tensor = value.tensor
        return tensor.item() if tensor.numel() == 1 else None
    return str(value) if isinstance(value, (bytes, torch.dtype)) else None


class ModuleTree:
    """The pickled module tree: class name per module name, state dict, and plain attributes per module."""

    def __init__(self) -> None:
        self.classes: dict[str, str] = {}
        self.state_dict: dict[str, torch.Tensor] = {}
        self.attributes: dict[str, dict[str, Any]] = {}


def module_tree(root: Record, path: Path) -> ModuleTree:
    """Walk a module record's ``_modules`` (iteratively, bounded) collecting what :class:`ModuleTree` holds.

    Raises:
        CheckpointError: A module was not restored from state, a child is not a module, or the tree is too large.
    """
    tree = ModuleTree()
    stack: list[tuple[str, Any, int]] = [("", root, 0)]
    while stack:
        name, record, depth = stack.pop()
        if not isinstance(record, Record) or not record.is_module or not isinstance(record.state, dict):
            raise CheckpointError(f"{path}: module {name or '<root>'!r} is not a pickled module with state.")
        if depth > _MAX_DEPTH or len(tree.classes) >= _MAX_MODULES:  # also ends cycles and shared-module bombs
            raise CheckpointError(f"{path}: its module tree is deeper or larger than any YOLO's.")
        state = record.state
        class_name = record.class_path.rpartition(".")[2]
        tree.classes[name] = _ALIASES.get(class_name, class_name)
        prefix = f"{name}." if name else ""
        skip = state.get("_non_persistent_buffers_set") or set()
        for table in ("_parameters", "_buffers"):
            entries = state.get(table) or {}
            if not isinstance(entries, dict):
                raise CheckpointError(f"{path}: {name}.{table} is not a dict.")
            for key, value in entries.items():
                if value is None or (table == "_buffers" and key in skip):
                    continue
                if not isinstance(key, str) or not isinstance(value, TensorRef):
                    raise CheckpointError(f"{path}: {prefix}{key!r} is not a tensor.")
                tree.state_dict[prefix + key] = value.tensor
        tree.attributes[name] = {k: v for k, v in state.items() if _is_plain_attribute(k, v)}
        children = state.get("_modules") or {}
        if not isinstance(children, dict):
            raise CheckpointError(f"{path}: {name}._modules is not a dict.")
        for child_name, child in reversed(list(children.items())):
            if child is not None:
                if not isinstance(child_name, str) or "." in child_name:
                    raise CheckpointError(f"{path}: submodule name {child_name!r:.40} is malformed.")
                stack.append((prefix + child_name, child, depth + 1))
    return tree


def _is_plain_attribute(key: Any, value: Any) -> bool:
    if key not in _COPIED_ATTRIBUTES:
        return False
    bounds = _COPIED_ATTRIBUTES[key]
    if bounds is None:
        return type(value) is bool
    return type(value) in (int, float) and bounds[0] <= value <= bounds[1]


def check_same_structure(network: torch.nn.Module, tree: ModuleTree, path: Path) -> None:
    """The rebuilt network must have the pickled module classes under the same names.

    Raises:
        CheckpointError: A module name or class differs (the checkpoint's network is not what its yaml builds).
    """
    built = {name: type(module).__name__ for name, module in network.named_modules(remove_duplicate=False)}
    differences = [f"{name or '<root>'}: pickled {tree.classes.get(name)}, built {built.get(name)}"
                   for name in sorted(built.keys() | tree.classes.keys())
                   if built.get(name) != tree.classes.get(name) and not _root_alias(name, tree, built)]
    if differences:
        raise CheckpointError(
            f"{path}: its network differs from what its own architecture (yaml) builds ({'; '.join(differences[:4])}"
            f"{' ...' if len(differences) > 4 else ''}). It cannot be converted safely; if you trust the file, pass "
            "--trust-checkpoint."
        )


def _root_alias(name: str, tree: ModuleTree, built: dict[str, str]) -> bool:
    return name == "" and tree.classes.get("") in built.values()


def restore_attributes(network: torch.nn.Module, tree: ModuleTree) -> None:
    """Copy the pickled numeric attributes (BatchNorm ``eps``/``momentum``, head ``max_det``, ``end2end``, ...; see
    ``_COPIED_ATTRIBUTES``) onto the rebuilt modules that already have them, so the reference computes as pickled."""
    modules = dict(network.named_modules(remove_duplicate=False))
    for name, attributes in tree.attributes.items():
        module = modules.get(name)
        if module is None:
            continue
        own = vars(module)
        for key, value in attributes.items():
            if key in own and _same_kind(own[key], value):
                own[key] = value


def _same_kind(current: Any, value: Any) -> bool:
    numbers = (int, float)
    if type(current) in numbers and type(value) in numbers:
        return True
    return type(current) is type(value)

