"""Keep the process's torch thread count when calling into Ultralytics' predictor."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["keep_torch_threads"]


@contextlib.contextmanager
def keep_torch_threads() -> Iterator[None]:
    """Restore ``torch.get_num_threads()`` on exit.

    Ultralytics' ``select_device`` (run by every ``YOLO.predict``) calls ``torch.set_num_threads(cpu_count - 1)``
    for the whole process: on a 2-core machine that halves the speed of every later CPU forward, ours included.
    """
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
