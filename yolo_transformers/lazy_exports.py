"""Package attributes imported on first use (PEP 562), so importing a package never imports the layers above it.

A sub-package's ``__init__`` re-exports the public names of its modules without importing them: importing
``yolo_transformers.hub.errors`` must not pull in ``yolo_transformers.hub.upload`` and, through it, the converter.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports`` (public name -> module relative to ``package``) on demand.

    Args:
        package: The package's ``__name__``.
        exports: Name -> module path relative to the package, e.g. ``{"upload_model": ".upload"}``.

    Returns:
        The function to assign to the package's ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
