"""Batches of images whose letterbox shapes differ: every image gets exactly the input (and results) it gets alone.

transformers' pipelines preprocess every image alone (so each gets its own minimal, stride-multiple letterbox) and
then stack them with ``torch.cat``, which fails for images of different sizes. The processor therefore returns a
single image's ``pixel_values`` as a :class:`LetterboxedPixelValues`: an ordinary tensor, except that ``torch.cat``
of several of them with different shapes returns a :class:`MixedSizeBatch`: the images padded (bottom and right,
with the letterbox colour) to the batch's largest height and width, plus each image's own shape
(``image_sizes``, `(B, 2)`). The processor builds the same for a list of images of different sizes.

The models never run that padded tensor. Their forward asks :func:`size_groups` for the images grouped by shape
(plain tensors, each image cut back to its own letterbox), runs one network call per group, and
:meth:`SizeGroups.merge` pads the groups' outputs into batch tensors in the original order:

- per-anchor fields `(B, A, ...)` get padded anchors at the end; their ``logits`` are ``-inf`` (probability 0), so
  a padded anchor never passes a threshold, not even 0;
- dense maps (semantic logits, depth, mask prototypes, hidden states) are padded at the bottom and right;
- ``input_size`` `(B, 2)` (height, width) is each image's own network input and ``padded_input_size`` `(B, 2)` the
  padded shape the dense maps are laid out for, so that post-processing (which pipelines call one image at a time
  after slicing the batch) undoes each image's own letterbox and crops each dense map to the image's own part.

Every other operation on the marked tensors returns plain tensors (``.to`` keeps the type: pipelines cast and move
inputs before and after batching them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "LetterboxedPixelValues", "MixedSizeBatch", "SizeGroups", "letterboxed", "mixed_size_batch", "plain",
    "size_groups",
]

_CATS = {torch.cat, torch.concat, torch.concatenate}
#: Fill of padded anchors per output field: a logit of -inf is a probability of exactly 0.
_ANCHOR_FILL = {"logits": float("-inf")}


def plain(value: Any) -> Any:
    """``value`` with every tensor subclass instance (also inside lists and tuples) turned into a plain tensor."""
    if isinstance(value, torch.Tensor) and type(value) is not torch.Tensor:
        return value.as_subclass(torch.Tensor)
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


class LetterboxedPixelValues(torch.Tensor):
    """One image's letterboxed ``pixel_values`` `(1, 3, H, W)`; a ``torch.cat`` with other shapes batches them."""

    pad_fill: float = 114 / 255

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _CATS:
            tensors = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if dim == 0 and len({tuple(t.shape[-2:]) for t in tensors}) > 1:
                return mixed_size_batch(tensors, getattr(tensors[0], "pad_fill", cls.pad_fill))
        result = func(*plain(args), **{k: plain(v) for k, v in kwargs.items()})  # plain inputs: plain result
        if func is torch.Tensor.to and isinstance(args[0], LetterboxedPixelValues):
            result = letterboxed(result, args[0].pad_fill)  # pipelines cast inputs before batching them
        return result


class MixedSizeBatch(torch.Tensor):
    """`(B, 3, H, W)`: images of different shapes padded bottom/right to the largest; ``image_sizes`` `(B, 2)`."""

    image_sizes: torch.Tensor

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        result = func(*plain(args), **{k: plain(v) for k, v in (kwargs or {}).items()})
        if func is torch.Tensor.to and isinstance(args[0], MixedSizeBatch):
            result = _marked_batch(result, args[0].image_sizes)  # pipelines move the batch to the model's device
        return result


def _marked_batch(pixel_values: torch.Tensor, image_sizes: torch.Tensor) -> MixedSizeBatch:
    marked = pixel_values.as_subclass(MixedSizeBatch)
    marked.image_sizes = image_sizes
    return marked


def letterboxed(pixel_values: torch.Tensor, pad_fill: float) -> LetterboxedPixelValues:
    """Mark a single image's letterboxed ``pixel_values`` (fill on the ``[0, 1]`` scale) for mixed-size batching."""
    marked = pixel_values.as_subclass(LetterboxedPixelValues)
    marked.pad_fill = float(pad_fill)
    return marked


def mixed_size_batch(tensors: Sequence[torch.Tensor], pad_fill: float) -> MixedSizeBatch:
    """Stack `(n_i, 3, h_i, w_i)` tensors into one `(sum n_i, 3, H, W)` batch, padded bottom/right with ``pad_fill``."""
    tensors = [plain(t) for t in tensors]
    height = max(int(t.shape[-2]) for t in tensors)
    width = max(int(t.shape[-1]) for t in tensors)
    padded = [F.pad(t, (0, width - t.shape[-1], 0, height - t.shape[-2]), value=pad_fill) for t in tensors]
    sizes = [[int(t.shape[-2]), int(t.shape[-1])] for t in tensors for _ in range(t.shape[0])]
    return _marked_batch(torch.cat(padded, dim=0), torch.tensor(sizes, dtype=torch.int64))


@dataclass
class SizeGroups:
    """The images of a :class:`MixedSizeBatch` grouped by shape, and how to put their outputs back together.

    Attributes:
        inputs: One plain `(n_k, 3, h_k, w_k)` tensor per shape, each image cut back to its own letterbox.
        indices: Batch positions of each group's images, `(n_k,)` int64.
        input_size: `(B, 2)` int64 (height, width) of every image's own network input.
        padded_size: ``(height, width)`` of the padded batch.
    """

    inputs: list[torch.Tensor]
    indices: list[torch.Tensor]
    input_size: torch.Tensor
    padded_size: tuple[int, int]

    def merge(self, outputs: Sequence[Mapping[str, Any]]) -> Any:
        """Pad the groups' outputs into batch tensors in the original image order.

        Args:
            outputs: One model output (a ``ModelOutput`` or dict) per group, in the order of :attr:`inputs`.

        Returns:
            The first group's output object, its fields replaced by the batch's, with ``input_size`` and
            ``padded_input_size`` `(B, 2)` added.
        """
        merged = outputs[0]
        for key in list(merged.keys()):
            values = [output[key] for output in outputs]
            if isinstance(values[0], torch.Tensor):
                merged[key] = self._pad_rows(values, _ANCHOR_FILL.get(key, 0.0) if values[0].ndim == 3 else 0.0)
            elif isinstance(values[0], tuple) and all(isinstance(v, torch.Tensor) for v in values[0]):
                merged[key] = tuple(self._pad_rows([v[j] for v in values], 0.0) for j in range(len(values[0])))
        merged["input_size"] = self.input_size
        merged["padded_input_size"] = torch.tensor([self.padded_size] * len(self.input_size), dtype=torch.int64)
        return merged

    def _pad_rows(self, values: list[torch.Tensor], fill: float) -> torch.Tensor:
        """`(n_k, *shape_k)` per group -> `(B, *max shape)`, each group's rows at its indices, padding at the ends."""
        shape = [max(int(v.shape[d]) for v in values) for d in range(1, values[0].ndim)]
        out = values[0].new_full((len(self.input_size), *shape), fill)
        for value, index in zip(values, self.indices):
            out[(index.to(out.device), *(slice(0, s) for s in value.shape[1:]))] = value
        return out


def size_groups(pixel_values: torch.Tensor, labels: Any = None) -> SizeGroups | None:
    """The images of a :class:`MixedSizeBatch` grouped by letterbox shape; None for any other input.

    Raises:
        ValueError: ``labels`` given with a mixed batch (training batches have one shape: pad them fully).
    """
    if not isinstance(pixel_values, MixedSizeBatch):
        return None
    if labels is not None:
        raise ValueError("labels were given with a batch of images of different letterbox shapes; training batches "
                         "need one shape: preprocess them with minimal_padding=False.")
    sizes = pixel_values.image_sizes
    batch = plain(pixel_values)
    positions: dict[tuple[int, int], list[int]] = {}
    for index, (height, width) in enumerate(sizes.tolist()):
        positions.setdefault((height, width), []).append(index)
    indices = [torch.tensor(rows, dtype=torch.int64) for rows in positions.values()]
    inputs = [batch[index.to(batch.device), :, :height, :width]
              for index, (height, width) in zip(indices, positions)]
    return SizeGroups(inputs, indices, sizes.clone(), (int(batch.shape[-2]), int(batch.shape[-1])))
