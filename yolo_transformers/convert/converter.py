"""Convert an Ultralytics checkpoint into a transformers model folder, proving predictions did not change.

The command line (``python -m yolo_transformers.convert``, ``yolo-hf convert``) is
:mod:`yolo_transformers.cli.convert_cmd`. The folder gets ``config.json``, ``model.safetensors`` and ``preprocessor_config.json``. Before anything is written
the converted model is compared with the checkpoint (see :mod:`yolo_transformers.convert.parity`); conversion fails
with :class:`ParityError` if the measured differences exceed the tolerances.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from .checkpoint import UltralyticsCheckpoint, load_checkpoint
from ..configuration_yolo import YoloConfig
from ..errors import WeightsError
from .parity import ParityReport, verify_conversion
from ..auto import model_class_for_task, processor_for_config

__all__ = ["convert_checkpoint", "config_from_checkpoint", "ConversionResult", "DTYPES"]

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class ConversionResult:
    """What :func:`convert_checkpoint` produced.

    Attributes:
        model: The converted ``YoloPreTrainedModel`` (in the requested dtype).
        processor: Its ``YoloImageProcessor``.
        checkpoint: The loaded source checkpoint.
        report: Parity measurements, or None when verification was skipped.
        output_dir: Where the folder was written, or None.
    """

    model: torch.nn.Module
    processor: object
    checkpoint: UltralyticsCheckpoint
    report: ParityReport | None
    output_dir: Path | None


def _converter_version() -> str:
    from ..version import __version__

    return __version__


def _default_end_to_end() -> bool:
    """Ultralytics' own predict default: the NMS-free head only when ``nms=False``."""
    from ultralytics.cfg import get_cfg

    return get_cfg().nms is False


def _keypoint_names(network: Any, num_classes: int) -> list[list[str]] | None:
    """``network.kpt_names`` (``{class_id: [names]}``, set by Ultralytics' pose trainer) as one list per class."""
    names = getattr(network, "kpt_names", None)
    if not isinstance(names, dict) or not names:
        return None
    return [[str(n) for n in names.get(i, names.get(str(i), []))] for i in range(num_classes)]


def _pose_fields(checkpoint: UltralyticsCheckpoint) -> dict[str, Any]:
    """Pose configs carry ``kpt_shape`` (mirrors ``architecture["kpt_shape"]``) and, when the training data named the
    keypoints, ``keypoint_names`` (one list of names per class, indexed by class id)."""
    if checkpoint.task != "pose":
        return {}
    fields: dict[str, Any] = {"kpt_shape": [int(v) for v in checkpoint.architecture["kpt_shape"]]}
    names = _keypoint_names(checkpoint.network, int(checkpoint.architecture.get("nc", len(checkpoint.names))))
    if names is not None:
        fields["keypoint_names"] = names
    return fields


def config_from_checkpoint(checkpoint: UltralyticsCheckpoint, *, end_to_end: bool | None = None) -> YoloConfig:
    """Build the :class:`YoloConfig` for a loaded checkpoint (architecture verbatim, labels, provenance)."""
    architecture = dict(checkpoint.architecture)
    architecture.pop("channels", None)
    has_one_to_one = getattr(checkpoint.network.model[-1], "one2one_cv2", None) is not None
    if end_to_end is None:
        end_to_end = _default_end_to_end() and has_one_to_one
    nc = int(architecture.get("nc", len(checkpoint.names)))
    if len(checkpoint.names) != nc:
        raise WeightsError(
            f"{checkpoint.path}: the checkpoint names {len(checkpoint.names)} classes but its head predicts {nc}."
        )
    id2label = {i: checkpoint.names.get(i, str(i)) for i in range(nc)}
    return YoloConfig(
        architecture=architecture,
        task=checkpoint.task,
        id2label=id2label,
        label2id={name: i for i, name in id2label.items()},
        image_size=checkpoint.image_size,
        stride=checkpoint.stride,
        num_channels=int(checkpoint.architecture.get("channels", 3)),
        end_to_end=bool(end_to_end),
        ultralytics_version=checkpoint.version,
        converter_version=_converter_version(),
        training_date=checkpoint.date,
        train_args=checkpoint.train_args,
        metrics=checkpoint.metrics,
        train_results=checkpoint.train_results or None,
        source_sha256=checkpoint.sha256,
        source_file=checkpoint.path.name,
        architectures=[model_class_for_task(checkpoint.task).__name__],
        **_pose_fields(checkpoint),
    )


def _load_weights(model: torch.nn.Module, checkpoint: UltralyticsCheckpoint) -> None:
    """Copy the checkpoint's state dict into ``model.model``; every key must fit."""
    result = model.model.load_state_dict(checkpoint.network.state_dict(), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise WeightsError(
            f"{checkpoint.path}: weights do not fit the architecture (missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]})."
        )


def _prepare_output(output_dir: Path, overwrite: bool) -> None:
    """Refuse to write into a non-empty folder unless asked."""
    if output_dir.exists() and not output_dir.is_dir():
        raise FileExistsError(f"{output_dir} exists and is not a folder; choose another --output.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
        raise FileExistsError(f"{output_dir} is not empty; choose another --output or pass --overwrite.")
    output_dir.mkdir(parents=True, exist_ok=True)


def convert_checkpoint(
    checkpoint: str | Path,
    output_dir: str | Path | None = None,
    *,
    end_to_end: bool | None = None,
    verify: bool = True,
    verify_images: Sequence[str | Path] | None = None,
    trust_checkpoint: bool = False,
    dtype: str | torch.dtype = "float32",
    overwrite: bool = False,
) -> ConversionResult:
    """Convert an Ultralytics ``.pt`` checkpoint into a transformers model (and folder).

    Args:
        checkpoint: Path of the ``.pt`` file, or an official name (``yolo11n.pt``) fetched like Ultralytics does.
        output_dir: Folder to write; nothing is written when None.
        end_to_end: Use the NMS-free one-to-one head of YOLOv10/YOLO26 (Ultralytics ``nms=False``); defaults to
            Ultralytics' own predict default.
        verify: Compare with Ultralytics before writing (raises :class:`ParityError` on mismatch).
        verify_images: Real images for the detection check (default: Ultralytics' bus.jpg and zidane.jpg).
        trust_checkpoint: Unpickle without the allowlist (custom modules); logs a warning.
        dtype: ``float32`` (default), ``float16`` or ``bfloat16`` for the saved weights; verification runs in float32.
        overwrite: Allow writing into a non-empty ``output_dir``.

    Returns:
        A :class:`ConversionResult`.
    """
    target_dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
    if output_dir is not None:
        output_dir = Path(output_dir)
        if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
            raise FileExistsError(f"{output_dir} is not empty; choose another --output or pass --overwrite.")
    source = load_checkpoint(checkpoint, trust_checkpoint=trust_checkpoint)
    config = config_from_checkpoint(source, end_to_end=end_to_end)
    model = model_class_for_task(config.task)(config).eval()
    _load_weights(model, source)
    processor = processor_for_config(config)
    report = None
    if verify:
        report = verify_conversion(source, model, processor, verify_images, trust_checkpoint=trust_checkpoint)
    if target_dtype != torch.float32:
        model = model.to(target_dtype)
    if output_dir is not None:
        _prepare_output(output_dir, overwrite)
        model.save_pretrained(output_dir)
        processor.save_pretrained(output_dir)
        logger.info("wrote %s", output_dir)
    return ConversionResult(model, processor, source, report, output_dir)
