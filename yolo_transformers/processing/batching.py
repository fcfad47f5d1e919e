"""Mixed-size batches built by someone else's collate: one shared letterbox shape, as Ultralytics' predictor uses.

transformers' pipelines preprocess every image alone (so each gets its own minimal, stride-multiple letterbox) and
then stack them with ``torch.cat``, which fails for images of different sizes. The processor therefore returns a
single image's ``pixel_values`` as a :class:`LetterboxedPixelValues`: an ordinary tensor, except that ``torch.cat``
of several of them along the batch axis pads each one, centred, with the letterbox colour to the batch's largest
height and width. Centring a minimal letterbox inside a larger stride multiple gives exactly the letterbox of the
original image at that larger shape (same resize, and Ultralytics' padding rounding shifted by whole pixels), so the
batch is what Ultralytics would build with one shared letterbox shape. The result is a
:class:`SharedLetterboxBatch`; the model reports that shape in its outputs (``input_size``) so that post-processing,
which pipelines call one image at a time, undoes the right letterbox.

Every other operation on these tensors returns plain tensors (``.to`` keeps the type: pipelines cast and move
inputs before and after batching them).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["LetterboxedPixelValues", "SharedLetterboxBatch", "letterboxed", "shared_input_size"]

_CATS = {torch.cat, torch.concat, torch.concatenate}


def _plain(value: Any) -> Any:
    """``value`` with every tensor subclass instance turned back into a plain tensor."""
    if isinstance(value, torch.Tensor) and type(value) is not torch.Tensor:
        return value.as_subclass(torch.Tensor)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _pad_centred(pixels: torch.Tensor, height: int, width: int, fill: float) -> torch.Tensor:
    """`(B, C, h, w)` → `(B, C, height, width)`, the extra rows/columns split evenly on both sides (whole pixels)."""
    top, left = (height - pixels.shape[-2]) // 2, (width - pixels.shape[-1]) // 2
    padding = (left, width - pixels.shape[-1] - left, top, height - pixels.shape[-2] - top)
    return F.pad(pixels, padding, value=fill) if any(padding) else pixels


class LetterboxedPixelValues(torch.Tensor):
    """One image's letterboxed ``pixel_values`` `(1, 3, H, W)` that a batch ``torch.cat`` pads to a shared shape."""

    pad_fill: float = 114 / 255

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _CATS:
            tensors = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if dim == 0 and len({tuple(t.shape[-2:]) for t in tensors}) > 1:
                return _shared_batch(tensors)
        result = func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})  # plain inputs: plain result
        if func is torch.Tensor.to and isinstance(args[0], LetterboxedPixelValues):
            result = letterboxed(result, args[0].pad_fill)  # pipelines cast inputs before batching them
        return result


class SharedLetterboxBatch(torch.Tensor):
    """`(B, 3, H, W)`: images letterboxed to one shared shape by :class:`LetterboxedPixelValues` concatenation."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        result = func(*_plain(args), **{k: _plain(v) for k, v in (kwargs or {}).items()})
        if func is torch.Tensor.to and isinstance(args[0], SharedLetterboxBatch):
            result = result.as_subclass(SharedLetterboxBatch)  # pipelines move the batch to the model's device
        return result


def _shared_batch(tensors: list[torch.Tensor]) -> SharedLetterboxBatch:
    """Pad every image to the largest height and width of the batch, centred, and stack them."""
    height = max(int(t.shape[-2]) for t in tensors)
    width = max(int(t.shape[-1]) for t in tensors)
    fill = getattr(tensors[0], "pad_fill", LetterboxedPixelValues.pad_fill)
    padded = [_pad_centred(_plain(t), height, width, fill) for t in tensors]
    return torch.cat(padded, dim=0).as_subclass(SharedLetterboxBatch)


def letterboxed(pixel_values: torch.Tensor, pad_fill: float) -> LetterboxedPixelValues:
    """Mark a single image's letterboxed ``pixel_values`` (fill on the ``[0, 1]`` scale) for shared-shape batching."""
    marked = pixel_values.as_subclass(LetterboxedPixelValues)
    marked.pad_fill = float(pad_fill)
    return marked


def shared_input_size(pixel_values: torch.Tensor) -> torch.Tensor | None:
    """`(B, 2)` int64 ``(height, width)`` for a :class:`SharedLetterboxBatch`, None for any other input."""
    if not isinstance(pixel_values, SharedLetterboxBatch):
        return None
    height, width = pixel_values.shape[-2:]
    return torch.tensor([[int(height), int(width)]] * pixel_values.shape[0], dtype=torch.int64)
