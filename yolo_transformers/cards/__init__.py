"""Model and dataset cards: Hub metadata, a readable body, and the pictures they show.

:mod:`.text` escapes what cards interpolate, :mod:`.model_card` and :mod:`.dataset_card` build the two cards,
:mod:`.training_curves` draws a model's loss and mAP per epoch.
"""

from __future__ import annotations

from ..lazy_exports import lazy_attributes

__all__ = ["generate_model_card", "write_card_assets", "generate_dataset_card"]

__getattr__ = lazy_attributes(__name__, {
    "generate_model_card": ".model_card", "write_card_assets": ".model_card",
    "generate_dataset_card": ".dataset_card",
})
