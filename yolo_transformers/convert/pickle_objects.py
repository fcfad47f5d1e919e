"""What the pickle of a checkpoint may create: inert records, wrapped tensors, named constants, and the small set of
functions (:data:`PLAIN_CALLABLES`) it may call, each written here to build plain data only.

Used by :mod:`.safe_unpickle`; nothing here imports or calls a class named by a checkpoint.
"""

from __future__ import annotations

import collections
from typing import Any, Callable

import torch

from ..errors import CheckpointError, UnsafeCheckpointError

__all__ = ["Record", "TensorRef", "Marker", "NumpyDtype", "record_class", "PLAIN_CALLABLES", "MAX_DIMS"]

MAX_DIMS = 16
_MAX_CONTAINER = 1 << 20  # elements a container call (set, OrderedDict, ...) may receive


class Record:
    """Inert stand-in for an object of a listed class: its class path, constructor arguments and pickled state.

    Attributes:
        args: Arguments the pickle gave ``__new__`` (or the call, for data classes).
        state: What the pickle's BUILD gave (a dict for modules and namespaces), or None.
    """

    __slots__ = ("args", "state")
    class_path = ""
    is_module = False

    def __new__(cls, *args: Any) -> "Record":
        if cls.is_module and args:
            raise UnsafeCheckpointError(f"the pickle creates {cls.class_path} with arguments {args!r:.80}; refused.")
        record = object.__new__(cls)
        record.args, record.state = args, None
        return record

    def __setstate__(self, state: Any) -> None:
        if self.state is not None:
            raise UnsafeCheckpointError(f"the pickle sets the state of one {self.class_path} twice; refused.")
        self.state = state

    def __reduce__(self):  # a record is never pickled again
        raise TypeError("records are not picklable")


class _RecordType(type):
    """Metaclass of record classes: calling a module class (a constructor call in the pickle) is refused."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Record:
        if cls.is_module or kwargs:
            raise UnsafeCheckpointError(
                f"the pickle calls {cls.class_path}(...): a checkpoint written by torch.save never calls a module "
                "constructor. Nothing was run."
            )
        return cls.__new__(cls, *args)


class TensorRef:
    """A tensor rebuilt from the archive; wrapped so that the pickle cannot call tensor methods on it."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def __setstate__(self, state: Any) -> None:
        raise UnsafeCheckpointError("the pickle sets state on a tensor; refused.")


class Marker:
    """A named constant of the pickle (storage type, numpy dtype class) that may be passed around, never called."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: Any = None) -> None:
        self.name, self.value = name, value

    def __setstate__(self, state: Any) -> None:
        raise UnsafeCheckpointError(f"the pickle sets state on {self.name}; refused.")


class NumpyDtype(Marker):
    """``numpy.dtype(code)`` for plain numeric codes; its pickled state may only confirm the byte order."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", "|", "="):
            raise UnsafeCheckpointError(f"numpy dtype state {state!r:.80} is not a little-endian plain dtype.")


def record_class(path: str, is_module: bool, cache: dict[str, type]) -> type:
    """The (cached) record class standing for ``path``."""
    if path not in cache:
        cache[path] = _RecordType(path.rpartition(".")[2], (Record,), {"__slots__": (), "class_path": path,
                                                                       "is_module": is_module})
    return cache[path]


# ---- the callables a pickle may invoke ---------------------------------------------------------------------------

def _sized(value: Any, kinds: tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kinds) or len(value) > _MAX_CONTAINER:
        raise UnsafeCheckpointError(f"{what} called with {type(value).__name__}; only plain data is allowed.")
    return value


def _ordered_dict(items: Any = ()) -> collections.OrderedDict:
    return collections.OrderedDict(_sized(items, (list, tuple, dict), "OrderedDict"))


def _plain_set(items: Any = ()) -> set:
    return set(_sized(items, (list, tuple, set), "set"))


def _plain_frozenset(items: Any = ()) -> frozenset:
    return frozenset(_sized(items, (list, tuple, set, frozenset), "frozenset"))


def _torch_size(dims: Any = ()) -> tuple:
    if not isinstance(dims, (list, tuple)) or len(dims) > MAX_DIMS or not all(type(d) is int for d in dims):
        raise UnsafeCheckpointError(f"torch.Size({dims!r:.80}) is not a list of ints.")
    return tuple(dims)


def _torch_device(kind: Any, index: Any = None) -> str:
    if not isinstance(kind, str) or not (index is None or type(index) is int):
        raise UnsafeCheckpointError(f"torch.device({kind!r:.40}) is not a device name.")
    return kind if index is None else f"{kind}:{index}"


def _codecs_encode(text: Any, encoding: Any = "latin1") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeCheckpointError("_codecs.encode may only turn a pickled str into bytes (latin1).")
    return text.encode("latin1")


def _plain_bytes(value: Any = b"", encoding: Any = None) -> bytes:
    """``bytes(...)`` of data already in the pickle; ``bytes(n)`` (n zero bytes) is a memory bomb and refused."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and encoding in ("latin1", "latin-1", "utf-8", "ascii"):
        return value.encode(encoding)
    raise UnsafeCheckpointError(f"bytes/bytearray({type(value).__name__}) refused: only copies of pickled bytes.")


def _plain_bytearray(value: Any = b"", encoding: Any = None) -> bytearray:
    return bytearray(_plain_bytes(value, encoding))


def _path_text(*parts: Any) -> str:
    """``pathlib.Path(...)`` in metadata (e.g. ``train_args.save_dir``) kept as text; never used as a path."""
    if not all(isinstance(p, str) for p in parts):
        raise UnsafeCheckpointError("a pickled path must be made of strings.")
    return "/".join(parts)


def _getattr(obj: Any, name: Any) -> Record:
    """Bound methods in the pickle (``getattr(module, "forward")``) become inert records of the method name."""
    if not isinstance(obj, Record) or not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise UnsafeCheckpointError(f"the pickle asks for getattr({type(obj).__name__}, {name!r:.40}); refused.")
    method = record_class(f"{obj.class_path}.{name}", False, {})
    return method.__new__(method, obj)


_NUMPY_CODES = frozenset("?bBhHiIlLqQefdgFD") | frozenset(
    {"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16"})


def _numpy_dtype(code: Any, align: Any = False, copy: Any = True) -> NumpyDtype:
    if not isinstance(code, str) or code not in _NUMPY_CODES:
        raise UnsafeCheckpointError(f"numpy dtype {code!r:.40} is not a plain numeric dtype.")
    return NumpyDtype("numpy.dtype", code)


def _numpy_scalar(dtype: Any, data: Any = b"") -> Any:
    import numpy as np

    if not isinstance(dtype, NumpyDtype) or not isinstance(data, bytes):
        raise UnsafeCheckpointError("a numpy scalar must be a plain dtype and its bytes.")
    kind = np.dtype(dtype.value).newbyteorder("<")
    if len(data) != kind.itemsize:
        raise CheckpointError(f"numpy scalar of {kind} holds {len(data)} bytes.")
    return np.frombuffer(data, dtype=kind)[0].item()


def _dill_load_type(name: Any) -> Callable:
    """dill (Ultralytics 8.1-8.2) names builtin types by string; only containers of plain data are given."""
    types = {"set": _plain_set, "frozenset": _plain_frozenset, "NoneType": lambda *a: None,
             "tuple": lambda items=(): tuple(_sized(items, (list, tuple), "tuple")),
             "list": lambda items=(): list(_sized(items, (list, tuple), "list")),
             "dict": lambda items=(): dict(_sized(items, (list, tuple, dict), "dict"))}
    if name not in types:
        raise UnsafeCheckpointError(f"the pickle asks dill for type {name!r:.40}; only plain containers are allowed.")
    return types[name]


PLAIN_CALLABLES: dict[str, Callable] = {
    "collections.OrderedDict": _ordered_dict,
    "builtins.set": _plain_set, "__builtin__.set": _plain_set,
    "builtins.frozenset": _plain_frozenset, "__builtin__.frozenset": _plain_frozenset,
    "builtins.bytes": _plain_bytes, "builtins.bytearray": _plain_bytearray, "__builtin__.bytearray": _plain_bytearray,
    "_codecs.encode": _codecs_encode,
    "builtins.getattr": _getattr,
    "torch.Size": _torch_size,
    "torch.device": _torch_device,
    "dill._dill._load_type": _dill_load_type,
    "numpy.dtype": _numpy_dtype,
    "numpy.core.multiarray.scalar": _numpy_scalar, "numpy._core.multiarray.scalar": _numpy_scalar,
    **{f"pathlib.{kind}": _path_text for kind in ("Path", "PosixPath", "WindowsPath", "PurePosixPath",
                                                 "PureWindowsPath", "_local.PosixPath", "_local.WindowsPath")},
}
