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

from ..lazy_exports import lazy_attributes

__all__ = [
    "LIBRARY_TAG",
    "ModelListing",
    "UploadResult",
    "DatasetPushResult",
    "download_model",
    "generate_model_card",
    "list_models",
    "resolve_token",
    "upload_model",
    "push_dataset",
    "pull_dataset",
]

__getattr__ = lazy_attributes(__name__, {
    "resolve_token": ".auth", "download_model": ".download", "LIBRARY_TAG": ".listing", "ModelListing": ".listing",
    "list_models": ".listing", "UploadResult": ".upload", "upload_model": ".upload",
    "DatasetPushResult": ".datasets", "push_dataset": ".datasets", "pull_dataset": ".datasets",
    "generate_model_card": "..cards.model_card",
})
