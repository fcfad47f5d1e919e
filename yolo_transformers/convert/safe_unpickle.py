"""A reader for ``torch.save`` archives that runs no code named by the file.

``torch.load(weights_only=True)`` *calls* every global it allows (REDUCE), so allowing Ultralytics' classes allows
their constructors, which ``eval`` strings and, for some layers, download and unpickle files. This reader allows
behaviour, not classes:

- Objects of listed classes (Ultralytics/torch modules, Ultralytics loss objects, namespaces, torchvision
  transforms) become inert :class:`~.pickle_objects.Record`\\ s holding the class path and the state the pickle
  gave them; no ``__init__``, ``__new__``, ``__setstate__`` or ``__reduce__`` of the real class runs. Calling a
  module class (a constructor call in the pickle) is refused.
- Only the tensor rebuilds here and :data:`~.pickle_objects.PLAIN_CALLABLES` (plain containers, dill's builtin-type
  lookup, numpy scalars, paths as strings) may be invoked.
- Every allocation is budgeted against the archive: the pickle is pre-scanned for opcodes that run code or
  pre-allocate memory (memo indices, frames), storages must be exactly their zip members, and every tensor view
  must lie inside its storage and not repeat elements (no zero strides), so nothing a copy makes exceeds the file.

Everything it refuses raises :class:`UnsafeCheckpointError` (code it would have run) or :class:`CheckpointError`.
"""

from __future__ import annotations

import importlib
import io
import math
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, UnsafeCheckpointError
from .pickle_objects import MAX_DIMS, PLAIN_CALLABLES, Marker, TensorRef, record_class

__all__ = ["read_archive", "MODULE_NAMESPACES"]

MODULE_NAMESPACES = ("ultralytics.nn.modules", "ultralytics.nn.tasks", "torch.nn.modules")
_DATA_CLASS_NAMESPACES = ("ultralytics.utils.loss", "ultralytics.utils.tal")
# Classes pickled as plain data, or Ultralytics' aliases for classes renamed since (see its torch_safe_load).
_DATA_CLASSES = frozenset({
    "ultralytics.utils.IterableSimpleNamespace", "ultralytics.yolo.utils.IterableSimpleNamespace",
    "torchvision.transforms.transforms.Compose", "torchvision.transforms.transforms.Normalize",
    "torchvision.transforms.transforms.Resize", "torchvision.transforms.transforms.CenterCrop",
    "torchvision.transforms.transforms.ToTensor", "torchvision.transforms.functional.InterpolationMode",
    "ultralytics.utils.loss.v10DetectLoss",
})
_MODULE_ALIASES = {"ultralytics.nn.modules.block.Silence": "torch.nn.modules.linear.Identity",
                   "ultralytics.nn.tasks.YOLOv10DetectionModel": "ultralytics.nn.tasks.DetectionModel"}
_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
    "DoubleStorage": torch.float64, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}
_TORCH_DTYPES = frozenset({
    "float32", "float", "float16", "half", "bfloat16", "float64", "double", "int64", "long", "int32", "int", "int16",
    "short", "int8", "uint8", "bool", "complex64", "complex128", "uint16", "uint32", "uint64",
})
# Opcodes that call code found by name outside find_class, or read out-of-band buffers.
_REFUSED_OPCODES = frozenset({"INST", "OBJ", "EXT1", "EXT2", "EXT4", "PERSID", "NEXT_BUFFER", "READONLY_BUFFER"})
_MEMO_OPCODES = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


class _Budget:
    """Elements the archive's storages hold, and elements its tensor views may materialise in total."""

    def __init__(self) -> None:
        self.storage_elements = 0
        self.view_elements = 0

    def spend_view(self, elements: int, path: Path) -> None:
        self.view_elements += elements
        if self.view_elements > 2 * self.storage_elements + (1 << 16):
            raise CheckpointError(f"{path}: its tensors declare more elements than its storages hold (a memory bomb).")


def _real_class(path: str) -> type | None:
    """The installed class a global names, if it is one (importing trusted installed packages only)."""
    module_name, _, attribute = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attribute, None)
    except ImportError:
        return None
    return obj if isinstance(obj, type) else None


def _classify_global(path: str) -> str | None:
    """``"module"``, ``"data"`` or None (refused) for a class path named by a checkpoint."""
    if path in _MODULE_ALIASES:
        return "module"
    if path in _DATA_CLASSES:
        return "data"
    module_name = path.rpartition(".")[0]
    if any(module_name == ns or module_name.startswith(ns + ".") for ns in MODULE_NAMESPACES):
        cls = _real_class(path)
        return "module" if cls is not None and issubclass(cls, torch.nn.Module) else None
    if module_name in _DATA_CLASS_NAMESPACES:
        cls = _real_class(path)
        return "data" if cls is not None and cls.__module__ == module_name else None
    return None


class _ArchiveUnpickler(pickle.Unpickler):
    """The pickle of one archive: globals resolved only to records, markers and :data:`PLAIN_CALLABLES`."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, path: Path) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.path = archive, prefix, path
        self.budget = _Budget()
        self.storages: dict[str, torch.Tensor] = {}
        self.record_classes: dict[str, type] = {}
        rebuild = {"torch._utils._rebuild_tensor_v2": self._rebuild_tensor,
                   "torch._utils._rebuild_tensor": self._rebuild_tensor,
                   "torch._utils._rebuild_parameter": self._rebuild_parameter,
                   "torch._utils._rebuild_parameter_with_state": self._rebuild_parameter,
                   "torch._tensor._rebuild_from_type_v2": self._rebuild_from_type}
        self.callables = {**PLAIN_CALLABLES, **rebuild}

    def find_class(self, module: str, name: str) -> Any:
        path = f"{module}.{name}"
        if path in self.callables:
            return self.callables[path]
        if module == "torch" and name in _STORAGE_DTYPES:
            return Marker(path, _STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:  # a fixed list: no attribute lookup by attacker name
            return getattr(torch, name)
        if path in ("torch.Tensor", "torch.nn.parameter.Parameter") or (
                module == "numpy.dtypes" and name.endswith("DType")):
            return Marker(path)
        kind = _classify_global(path)
        if kind is None:
            raise UnsafeCheckpointError(
                f"{self.path} references {path}, which is outside what an Ultralytics checkpoint holds (Ultralytics "
                "and torch modules, tensors, plain data). Nothing was run. If you trust this file (e.g. custom "
                "modules you wrote), pass --trust-checkpoint."
            )
        return record_class(path, kind == "module", self.record_classes)

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], Marker)
                and isinstance(pid[1].value, torch.dtype) and isinstance(pid[2], str) and type(pid[4]) is int):
            raise CheckpointError(f"{self.path}: malformed storage reference {pid!r:.120}.")
        _, kind, key, _location, numel = pid
        if key not in self.storages:
            self.storages[key] = self._read_storage(key, kind.value, numel)
        return self.storages[key]

    def _read_storage(self, key: str, dtype: torch.dtype, numel: int) -> torch.Tensor:
        name = f"{self.prefix}data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise CheckpointError(f"{self.path}: storage {key!r} is missing from the archive.") from None
        itemsize = torch.empty((), dtype=dtype).element_size()
        if info.compress_type != zipfile.ZIP_STORED or numel < 0 or info.file_size != numel * itemsize:
            raise CheckpointError(f"{self.path}: storage {key!r} declares {numel} elements but its member does not "
                                  "hold exactly those bytes.")
        self.budget.storage_elements += numel
        raw = bytearray(self.archive.read(name))
        return torch.frombuffer(raw, dtype=dtype) if numel else torch.empty(0, dtype=dtype)

    def _rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> TensorRef:
        if not isinstance(storage, torch.Tensor) or not _ints(size) or not _ints(stride) or type(offset) is not int:
            raise UnsafeCheckpointError(f"{self.path}: a tensor rebuild with non-integer layout; refused.")
        size, stride = tuple(size), tuple(stride)
        if len(size) != len(stride) or len(size) > MAX_DIMS or offset < 0:
            raise CheckpointError(f"{self.path}: tensor layout size={size} stride={stride} is malformed.")
        numel = math.prod(size)
        if numel and any(st == 0 for sz, st in zip(size, stride) if sz > 1):
            raise CheckpointError(f"{self.path}: tensor with size {size} repeats elements (stride {stride}); a "
                                  "copy of it would allocate memory the file does not hold. Refused.")
        last = offset + sum((sz - 1) * st for sz, st in zip(size, stride)) if numel else offset
        if numel > storage.numel() or (numel and last >= storage.numel()):
            raise CheckpointError(f"{self.path}: tensor size {size} stride {stride} offset {offset} reaches outside "
                                  f"its storage of {storage.numel()} elements.")
        self.budget.spend_view(numel, self.path)
        return TensorRef(torch.as_strided(storage, size, stride, offset))

    def _rebuild_parameter(self, data: Any, *_rest: Any) -> TensorRef:
        if not isinstance(data, TensorRef):
            raise UnsafeCheckpointError(f"{self.path}: a parameter rebuilt from {type(data).__name__}; refused.")
        return data

    def _rebuild_from_type(self, func: Any, new_type: Any, args: Any, state: Any) -> TensorRef:
        if func not in (self._rebuild_tensor, self._rebuild_parameter) or not isinstance(new_type, Marker) \
                or not isinstance(args, tuple):
            raise UnsafeCheckpointError(f"{self.path}: a tensor subclass rebuild; refused.")
        return func(*args)


def _ints(values: Any) -> bool:
    return isinstance(values, (tuple, list)) and all(type(v) is int and 0 <= v < (1 << 62) for v in values)


def _prescan(data: bytes, path: Path) -> None:
    """Refuse opcodes that run code outside ``find_class`` or make the C unpickler pre-allocate (memo, frames)."""
    count = 0
    try:
        for opcode, argument, _position in pickletools.genops(data):
            count += 1
            if opcode.name in _REFUSED_OPCODES:
                raise UnsafeCheckpointError(f"{path}: its pickle uses opcode {opcode.name}; refused. Nothing was run.")
            if opcode.name in _MEMO_OPCODES and not (isinstance(argument, int) and 0 <= argument <= count):
                raise CheckpointError(f"{path}: its pickle stores into memo slot {argument!r:.40} (a memory bomb).")
            if opcode.name == "FRAME" and argument > len(data):
                raise CheckpointError(f"{path}: its pickle declares a frame longer than the file.")
    except CheckpointError:
        raise
    except (ValueError, EOFError) as error:  # truncated argument, unknown opcode
        raise CheckpointError(f"{path}: its pickle is malformed ({error}).") from None


def read_archive(path: Path) -> Any:
    """Unpickle a ``torch.save`` zip archive into plain data, :class:`TensorRef`\\ s and :class:`Record`\\ s.

    Raises:
        CheckpointError: Not a torch archive, malformed, or tensors larger than the file.
        UnsafeCheckpointError: The pickle names or calls anything outside the allowed behaviour (nothing ran).
    """
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (not a torch.save zip archive, or truncated). Pass the best.pt/last.pt "
            "that Ultralytics wrote under runs/<task>/<name>/weights/."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pickles) != 1:
                raise CheckpointError(f"{path} is a zip file but not a torch.save archive (no single data.pkl).")
            prefix = pickles[0][: -len("data.pkl")]
            info = archive.getinfo(pickles[0])
            if info.compress_type != zipfile.ZIP_STORED:
                raise CheckpointError(f"{path}: data.pkl is compressed; torch.save never writes that. Refused.")
            if prefix + "byteorder" in archive.namelist() and archive.read(prefix + "byteorder") != b"little":
                raise CheckpointError(f"{path}: big-endian checkpoints are not supported.")
            data = archive.read(pickles[0])
            _prescan(data, path)
            return _ArchiveUnpickler(data, archive, prefix, path).load()
    except CheckpointError as error:
        if str(path) in str(error):
            raise
        if isinstance(error, UnsafeCheckpointError):
            raise UnsafeCheckpointError(f"{path}: {error} Nothing was run. If you trust this file, pass "
                                        "--trust-checkpoint.") from None
        raise CheckpointError(f"{path}: {error}") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, TypeError, AttributeError, KeyError,
            IndexError, RuntimeError, RecursionError, MemoryError, OverflowError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(error).__name__}: "
                              f"{str(error)[:200]}).") from None
