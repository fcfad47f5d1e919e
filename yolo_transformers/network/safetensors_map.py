"""Map a ``model.safetensors`` file into tensors with one memory map and no per-tensor file handle.

``safetensors.torch.load_file`` costs about 15 µs per tensor whatever the tensor's size, so a YOLO network's
~700 small tensors take ~10 ms to open, as long as building the network. Here the file is mapped once,
copy-on-write, and each tensor is a view of its bytes: ~3 µs per tensor. Pages are read from disk (or the page
cache) when first touched, as with ``load_file``. Writing to a tensor never changes the file.
"""

from __future__ import annotations

import json
import math
import mmap
import sys
from pathlib import Path

import numpy as np
import torch

from ..errors import WeightsError

__all__ = ["map_safetensors", "read_layout"]

# safetensors dtype names -> torch dtypes (the format is little-endian).
_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U64": torch.uint64, "U32": torch.uint32, "U16": torch.uint16, "U8": torch.uint8, "BOOL": torch.bool,
    "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}  # fmt: skip


def map_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Read every tensor of a safetensors file as a view of a private (copy-on-write) memory map.

    Args:
        path: The ``.safetensors`` file.

    Returns:
        Tensor name -> tensor (CPU, the stored dtype and shape). Each tensor has its own storage.

    Raises:
        WeightsError: As :func:`read_layout`.
    """
    path = Path(path)
    if sys.byteorder != "little":  # the format is little-endian: let safetensors byte-swap
        from safetensors.torch import load_file

        read_layout(path)
        return load_file(str(path))
    entries, data_start = read_layout(path)
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    return {name: _view(mapped, data_start + begin, end - begin, dtype, shape)
            for name, dtype, begin, end, shape in entries}  # fmt: skip


def read_layout(path: Path) -> tuple[list[tuple[str, torch.dtype, int, int, list[int]]], int]:
    """Read and check a safetensors header (the header only): where every tensor is and what it is.

    Returns:
        ``(entries, data_start)``: ``(name, dtype, begin, end, shape)`` per tensor, ordered by ``begin``, with
        byte offsets relative to ``data_start``, the file offset where tensor data begins.

    Raises:
        WeightsError: The header is unreadable, a dtype is unknown, a tensor's byte range does not fit its shape,
            overlaps another or lies beyond the end of the file.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        if size < 8:
            raise WeightsError(f"{path} is truncated or corrupt ({size} bytes; a safetensors file starts with 8).")
        handle.seek(0)
        header_len = int.from_bytes(handle.read(8), "little")
        try:
            if not 0 < header_len <= size - 8:
                raise ValueError(f"header length {header_len} in a {size}-byte file")
            header = json.loads(handle.read(header_len))
            if not isinstance(header, dict):
                raise ValueError(f"a JSON {type(header).__name__}, not an object")
        except (ValueError, RecursionError) as error:
            raise WeightsError(f"{path} is truncated or corrupt (unreadable header: {error}).") from None
    header.pop("__metadata__", None)
    data_start = 8 + header_len
    entries = sorted((_checked_entry(path, name, entry) for name, entry in header.items()), key=lambda e: e[2])
    previous_end = 0
    for name, _, begin, end, _ in entries:
        if begin < previous_end:
            raise WeightsError(f"{path} is corrupt: tensor {name!r} overlaps the tensor stored before it.")
        if data_start + end > size:
            raise WeightsError(
                f"{path} is truncated: tensor {name!r} needs bytes {begin}..{end} of the data but the file holds "
                f"{size - data_start}. Re-download it, or re-create it with `python -m yolo_transformers.convert`."
            )
        previous_end = end
    return entries, data_start


_MAX_DIMS = 16
_MAX_DIM = 1 << 48


def _checked_entry(path: Path, name: str, entry: object) -> tuple[str, torch.dtype, int, int, list[int]]:
    """:func:`_read_entry`, with anything unforeseen in a hostile header also reported as a :class:`WeightsError`."""
    try:
        return _read_entry(path, name, entry)
    except WeightsError:
        raise
    except Exception as error:  # noqa: BLE001 - malformed input must always be a typed error
        raise WeightsError(f"{path}: tensor {name!r} has a malformed header entry ({type(error).__name__}: "
                           f"{str(error)[:200]}).") from None


def _read_entry(path: Path, name: str, entry: object) -> tuple[str, torch.dtype, int, int, list[int]]:
    """``(name, dtype, begin, end, shape)`` of one header entry, each field checked."""
    if not isinstance(entry, dict):
        raise WeightsError(f"{path}: tensor {name!r} has a header entry that is a {type(entry).__name__}, not an "
                           "object.")
    try:
        dtype_name, offsets, shape = entry["dtype"], entry["data_offsets"], entry["shape"]
    except KeyError as error:
        raise WeightsError(f"{path}: tensor {name!r} has an unreadable header entry ({error!r}).") from None
    if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:
        raise WeightsError(f"{path}: tensor {name!r} has dtype {dtype_name!r}, which this reader does not support "
                           f"(supported: {', '.join(_DTYPES)}).")  # fmt: skip
    integers = list(offsets) + list(shape) if isinstance(offsets, list) and isinstance(shape, list) else None
    if not integers or len(offsets) != 2 or not all(type(v) is int and v >= 0 for v in integers):
        raise WeightsError(f"{path}: tensor {name!r} needs two offsets and a shape of non-negative integers, got "
                           f"data_offsets={offsets!r}, shape={shape!r}.")  # fmt: skip
    if len(shape) > _MAX_DIMS or any(v > _MAX_DIM for v in integers):
        raise WeightsError(f"{path}: tensor {name!r} has shape {shape!r:.80} / offsets {offsets!r:.80} beyond any "
                           "real tensor.")
    dtype, (begin, end) = _DTYPES[dtype_name], offsets
    needed = dtype.itemsize * math.prod(shape)
    if end - begin != needed:
        raise WeightsError(
            f"{path}: tensor {name!r} holds {end - begin} bytes, but {dtype_name} of shape {shape} needs {needed}. "
            "Re-create it with `python -m yolo_transformers.convert`."
        )
    return name, dtype, begin, end, shape


def _view(mapped: mmap.mmap, offset: int, length: int, dtype: torch.dtype, shape: list[int]) -> torch.Tensor:
    """The tensor stored in ``mapped[offset:offset + length]`` (a view when aligned, else a copy)."""
    if length == 0:
        return torch.empty(shape, dtype=dtype)
    raw = np.frombuffer(mapped, dtype=np.uint8, count=length, offset=offset)
    if offset % dtype.itemsize:  # safetensors' writer aligns every tensor; another writer may not
        raw = raw.copy()
    return torch.from_numpy(raw).view(dtype).reshape(shape)
