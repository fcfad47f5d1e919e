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


def register_pipeline_model_names(table: str, model_type: str, class_names: tuple[str, ...]) -> None:
    """Add YOLO class names to one of transformers' static ``MODEL_FOR_..._MAPPING_NAMES`` tables.

    Written against transformers 5.x. Pipelines check a model against these tables (``Pipeline.check_model_type``)
    and log an error for a class they do not list; ``register`` on an Auto class does not add it there.
    ``"yolo"`` is absent from ``CONFIG_MAPPING_NAMES``, so the lazy Auto mappings never import anything from these
    entries: they are only read by that check.

    Args:
        table: Attribute name in ``transformers.models.auto.modeling_auto``.
        model_type: The config's ``model_type`` (``"yolo"``).
        class_names: Model class names; a single name is stored as a string, several as a tuple.
    """
    from transformers.models.auto import modeling_auto

    getattr(modeling_auto, table)[model_type] = class_names[0] if len(class_names) == 1 else class_names
