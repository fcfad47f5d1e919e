"""Push, pull and list yolo-transformers models on the Hugging Face Hub.

Everything goes through ``huggingface_hub`` and therefore honours ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HOME``
and the ``hf auth login`` token store. Tokens are resolved as ``token=`` argument, else ``HF_TOKEN``, else the
stored login; they are never written, logged or put into an error message.

Example:
    >>> from yolo_transformers.hub import upload_model, download_model, list_models   # doctest: +SKIP
    >>> upload_model("runs/detect/train/weights/best.pt", "alice/shapes-detector", tag="v1.0")
    >>> folder = download_model("alice/shapes-detector", revision="v1.0")
    >>> weights = download_model("alice/shapes-detector", format="ultralytics")     # a .pt for ultralytics.YOLO
    >>> [row.repo_id for row in list_models("alice")]
"""

from __future__ import annotations

from typing import Any

from .auth import resolve_token
from .download import download_model
from .listing import LIBRARY_TAG, ModelListing, list_models
from .upload import UploadResult, upload_model

__all__ = [
    "LIBRARY_TAG",
    "ModelListing",
    "UploadResult",
    "download_model",
    "generate_model_card",
    "list_models",
    "resolve_token",
    "upload_model",
]

def __getattr__(name: str) -> Any:
    """``generate_model_card`` lives in :mod:`yolo_transformers.cards`; imported on first use."""
    if name == "generate_model_card":
        from ..cards import generate_model_card

        return generate_model_card
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
