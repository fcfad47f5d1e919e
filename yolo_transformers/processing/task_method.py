"""``task_method``: a processor method that only exists on processors of the tasks it serves.

transformers' ``pipeline("image-segmentation")`` chooses how to post-process with ``hasattr``: it prefers
``post_process_instance_segmentation`` and falls back to ``post_process_semantic_segmentation``. One
``YoloImageProcessor`` class serves every YOLO task, so a semantic model's processor must *not* appear to have the
instance method. A processor records its model's task (``processor.task``); a method decorated with
``@task_method("segment")`` raises ``AttributeError`` (hence ``hasattr`` is False) on a processor of another task,
and is available everywhere when the processor's task is unknown (``task=None``, e.g. hand-made processors).
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable

__all__ = ["task_method"]


class _TaskMethod:
    """Descriptor returning the bound method, or raising ``AttributeError`` for processors of other tasks."""

    def __init__(self, tasks: tuple[str, ...], function: Callable[..., Any]) -> None:
        self.tasks = tasks
        self.function = function
        self.name = function.__name__
        functools.update_wrapper(self, function)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.function
        task = getattr(instance, "task", None)
        if task is not None and task not in self.tasks:
            raise AttributeError(
                f"{type(instance).__name__} of a {task!r} model has no {self.name}() (it serves "
                f"{' and '.join(repr(t) for t in self.tasks)} models); use the post-processing method of the "
                f"{task!r} task"
            )
        return types.MethodType(self.function, instance)


def task_method(*tasks: str) -> Callable[[Callable[..., Any]], _TaskMethod]:
    """Decorate a post-processing method that only makes sense for models of ``tasks``."""

    def decorate(function: Callable[..., Any]) -> _TaskMethod:
        return _TaskMethod(tuple(tasks), function)

    return decorate
