"""Ultralytics checkpoints in and out: safe reading, conversion with proven parity, and export back to a ``.pt``.

``python -m yolo_transformers.convert best.pt`` runs :mod:`yolo_transformers.cli.convert_cmd`. Modules, from the
bottom up: :mod:`.checkpoint` (the only unpickler), :mod:`.parity` (the comparison against Ultralytics itself),
:mod:`.converter` (``convert_checkpoint``), :mod:`.to_ultralytics` (a converted model back to a ``.pt``).
"""

from __future__ import annotations

from ..lazy_exports import lazy_attributes

__all__ = ["convert_checkpoint", "ConversionResult", "save_ultralytics_checkpoint"]

__getattr__ = lazy_attributes(__name__, {
    "convert_checkpoint": ".converter", "ConversionResult": ".converter",
    "save_ultralytics_checkpoint": ".to_ultralytics",
})
