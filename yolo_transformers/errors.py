"""Typed exceptions raised by yolo_transformers; every message names the file or value and the fix."""

from __future__ import annotations

__all__ = [
    "YoloTransformersError",
    "CheckpointError",
    "UnsafeCheckpointError",
    "ConfigError",
    "UnsafeConfigError",
    "WeightsError",
    "TaskMismatchError",
    "UnsupportedTaskError",
    "ParityError",
    "DatasetFormatError",
    "HubError",
    "AuthenticationError",
    "HubConflictError",
    "MissingExtraError",
    "ExportError",
    "ExportParityError",
]


class YoloTransformersError(Exception):
    """Base class of every error this library raises on purpose."""


class CheckpointError(YoloTransformersError, ValueError):
    """A ``.pt`` file is missing, unreadable or not an Ultralytics checkpoint."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint's pickle references a global outside the allowlist; nothing from it was run."""


class ConfigError(YoloTransformersError, ValueError):
    """A ``config.json`` (or architecture dict) is missing fields or has wrong types."""


class UnsafeConfigError(ConfigError):
    """An architecture dict names a module or activation that is not on the allowlist."""


class WeightsError(YoloTransformersError, ValueError):
    """Weights are missing, truncated, or do not fit the config."""


class TaskMismatchError(YoloTransformersError, ValueError):
    """A model of one task was given to a class of another task."""


class UnsupportedTaskError(YoloTransformersError, ValueError):
    """A checkpoint's task (RT-DETR, YOLO-World, ...) is not served by this library."""


class ParityError(YoloTransformersError, AssertionError):
    """Converted predictions differ from Ultralytics' beyond the tolerance."""


class DatasetFormatError(YoloTransformersError, ValueError):
    """A YOLO/COCO dataset file is malformed; the message names the file, line and fix."""


class HubError(YoloTransformersError, RuntimeError):
    """A Hub operation failed."""


class AuthenticationError(HubError):
    """No token, or a token without the needed scope."""


class HubConflictError(HubError):
    """The branch moved while a push was in flight (another push landed first); nothing was committed."""


class MissingExtraError(YoloTransformersError, ImportError):
    """An optional dependency (``onnx``, ``onnxruntime``, ``openvino``) is not installed; the message names the extra."""


class ExportError(YoloTransformersError, ValueError):
    """An ONNX/OpenVINO export or an exported graph is unusable (unknown format, missing or malformed graph file)."""


class ExportParityError(ParityError):
    """An exported graph's predictions differ from the PyTorch model's beyond the tolerance; nothing was written."""
