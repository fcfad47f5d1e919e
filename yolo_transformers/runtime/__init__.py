"""The fast path: a YOLO model exported to ONNX or OpenVINO, verified, and run behind the same processor.

Modules, from the bottom up: :mod:`.backends` (the ONNX Runtime and OpenVINO sessions, the optional-extra check),
:mod:`.model` (:class:`YoloRuntimeModel`, what ``from_pretrained(..., runtime=...)`` returns),
:mod:`.verification` (the graph against the PyTorch model), :mod:`.export` (``export_model``, which
``model.export`` and ``yolo-hf export`` call).
"""

from __future__ import annotations

from ..lazy_exports import lazy_attributes

__all__ = ["YoloRuntimeModel", "export_model", "ExportResult", "ExportReport", "ONNX_OPSET", "RUNTIMES"]

__getattr__ = lazy_attributes(__name__, {
    "YoloRuntimeModel": ".model", "export_model": ".export", "ExportResult": ".export", "ONNX_OPSET": ".export",
    "ExportReport": ".verification", "RUNTIMES": ".backends",
})
