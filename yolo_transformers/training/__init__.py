"""Fine-tuning and evaluation: Ultralytics' losses, ``Trainer`` transforms and COCO metrics.

:mod:`.loss` (below the models: their ``forward(labels=...)`` calls it), :mod:`.transforms` (``datasets`` rows to
``pixel_values`` and labels), :mod:`.evaluation` (``evaluate``) with :mod:`.coco_metrics`.
"""

from __future__ import annotations

from ..lazy_exports import lazy_attributes

__all__ = ["DetectionTransform", "collate_fn", "EndToEndLossSchedule", "coco_target", "evaluate", "record_metrics"]

__getattr__ = lazy_attributes(__name__, {
    "DetectionTransform": ".transforms", "collate_fn": ".transforms", "EndToEndLossSchedule": ".transforms",
    "coco_target": ".transforms", "evaluate": ".evaluation", "record_metrics": ".evaluation",
})
