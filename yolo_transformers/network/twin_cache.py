"""The cache of the fused inference twin (``YoloPreTrainedModel._inference_network``): what it was built from.

The key covers every parameter and buffer (BatchNorm statistics included) by storage and in-place version, so an edit
of any of them, under ``no_grad`` or not, rebuilds the twin.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TwinCache", "state_key", "state_tensors"]


def state_tensors(module: nn.Module) -> list[torch.Tensor]:
    """Every parameter, then every buffer, of ``module`` and its submodules: ``list(module.parameters())`` at a
    third of the cost, which matters on every inference call (a shared tensor may appear twice; harmless for a cache
    key). The first tensor is a parameter: it gives the model's device and dtype."""
    parameters, buffers, pending = [], [], [module]
    while pending:
        current = pending.pop()
        parameters.extend(p for p in current._parameters.values() if p is not None)
        buffers.extend(b for b in current._buffers.values() if b is not None)
        pending.extend(child for child in current._modules.values() if child is not None)
    return parameters + buffers


def state_key(tensors: list[torch.Tensor]) -> tuple:
    """What the fused twin depends on: device, dtype, and each tensor's storage and in-place version.

    Inference tensors (made under ``torch.inference_mode()``, e.g. a model loaded there) have no version counter:
    they can only be changed in place inside ``inference_mode``, which is not tracked (their version reads -1).
    """
    return (tensors[0].device, tensors[0].dtype,
            tuple(-1 if t.is_inference() else t._version for t in tensors),
            tuple(t.data_ptr() for t in tensors))  # fmt: skip


class TwinCache:
    """The cached inference twin and the parameter state it was built from.

    Copying or pickling a model drops it: the copy rebuilds its own on its first inference, and a pickle does not
    carry a second copy of every weight.
    """

    __slots__ = ("key", "network")

    def __init__(self, key: tuple | None = None, network: nn.Module | None = None) -> None:
        self.key, self.network = key, network

    def __deepcopy__(self, memo: dict) -> TwinCache:
        return TwinCache()

    def __reduce__(self) -> tuple:
        return (TwinCache, ())
