"""Activation (gradient) checkpointing of the Ultralytics layers, for ``model.gradient_checkpointing_enable()``.

transformers' ``gradient_checkpointing_enable`` sets ``gradient_checkpointing`` and ``_gradient_checkpointing_func``
(``torch.utils.checkpoint.checkpoint``, non-reentrant by default) on the model; the model then runs every backbone and
neck layer through :func:`checkpointed_call`. The backward pass recomputes each layer's forward: BatchNorm layers in
training mode would update their running statistics a second time there, so the recomputation restores them, and
checkpointed training leaves exactly the weights, statistics and gradients of ordinary training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["checkpointed_call"]


def _batchnorm_state(layer: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(buffer, saved copy)`` of every BatchNorm running statistic inside ``layer``."""
    saved = []
    for module in layer.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)) and module.track_running_stats and module.training:
            for buffer in (module.running_mean, module.running_var, module.num_batches_tracked):
                if buffer is not None:
                    saved.append((buffer, buffer.detach().clone()))
    return saved


def checkpointed_call(checkpoint: Callable[..., Any], layer: nn.Module, inputs: Any) -> Any:
    """``layer(inputs)`` whose activations are recomputed in the backward pass instead of kept.

    Args:
        checkpoint: The checkpoint function transformers installed (``torch.utils.checkpoint.checkpoint`` with its
            keyword arguments bound).
        layer: One Ultralytics layer (``network.model[i]``).
        inputs: Its input: a tensor `(B, C, H, W)` or, for layers with several sources, a list of them.

    Returns:
        The layer's output, as ``layer(inputs)``.
    """
    calls = 0

    def run(value: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            return layer(value)
        saved = _batchnorm_state(layer)  # the recomputation: keep the statistics the first pass left
        try:
            return layer(value)
        finally:
            with torch.no_grad():
                for buffer, copy in saved:
                    buffer.copy_(copy)

    return checkpoint(run, inputs)
