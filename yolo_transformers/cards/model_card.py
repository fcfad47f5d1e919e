"""Model cards for converted YOLO models: Hub metadata, a readable body, and the training-curves picture.

The card is rendered from the Jinja template ``model_card.md.jinja`` shipped in :mod:`yolo_transformers.model_cards`
(the repository's top-level ``model_cards/`` folder). Its YAML metadata is built with ``huggingface_hub``'s
``ModelCardData``/``EvalResult``, so it parses back with ``ModelCard.load`` and passes the Hub's validation.

Example::

    from .model_card import generate_model_card, write_card_assets

    assets = write_card_assets(model.config, folder)          # training_curves.png when results were recorded
    card = generate_model_card(model, repo_id="user/yolov8n-shapes")
    card.save(folder / "README.md")
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path, PurePath
from typing import Any, Sequence

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .training_curves import has_training_curves, save_training_curves
from ..errors import ConfigError
from ..tasks import TASK_SPECS
from ..version import LIBRARY_TAG
from .paths import dataset_label, public_path
from .text import card_template, check_repo_id, code_span, markdown_cell

__all__ = ["generate_model_card", "write_card_assets", "card_metadata", "TRAINING_CURVES_FILENAME",
           "TEMPLATE_NAME"]

logger = logging.getLogger(__name__)

#: File name of the training-curves picture, relative to the repository root (the card links it).
TRAINING_CURVES_FILENAME = "training_curves.png"
#: The template inside the ``yolo_transformers.model_cards`` package.
TEMPLATE_NAME = "model_card.md.jinja"

_PIPELINE_VARIABLES = {
    "object-detection": "detector",
    "image-segmentation": "segmenter",
    "depth-estimation": "estimator",
    "image-classification": "classifier",
    "keypoint-detection": "estimator",
}
_FAMILY_NAMES = {"yolov3": "YOLOv3", "yolov5": "YOLOv5", "yolov6": "YOLOv6", "yolov8": "YOLOv8", "yolov9": "YOLOv9",
                 "yolov10": "YOLOv10", "yolo11": "YOLO11", "yolo12": "YOLO12", "yolo26": "YOLO26"}
# Mask/pose metrics carry a suffix in Ultralytics' column names: metrics/mAP50(M), metrics/mAP50(P).
_METRIC_KINDS = {"B": None, "M": "mask", "P": "pose", "S": "segmentation"}
# Training arguments shown in the card, in this order (those recorded).
_HYPERPARAMETERS = ("model", "data", "epochs", "imgsz", "batch", "optimizer", "lr0", "lrf", "momentum", "weight_decay",
                    "warmup_epochs", "cos_lr", "mosaic", "close_mosaic", "amp", "pretrained", "patience", "seed")
# library_name "transformers": the repo is a transformers model (config.json, model.safetensors,
# preprocessor_config.json), so the Hub's "Use this model → Transformers" snippet (pipeline / Auto classes with the
# repo id) is the right code once yolo_transformers is imported, and the Hub counts downloads by config.json. A
# "yolo-transformers" library name is not in the Hub's library registry (huggingface.js model-libraries), so the
# Hub would show no snippet at all; the "yolo-transformers" tag is what finds these repos (list_models filters on it).
_LIBRARY_NAME = "transformers"
# Class tables longer than this are folded (<details>) so the usage section stays near the top.
_UNFOLDED_CLASSES = 20


# ---------------------------------------------------------------------------------------------------- inputs
def _split_model(model_or_config: Any) -> tuple[Any, Any | None]:
    """``(config, model or None)`` from a ``YoloPreTrainedModel`` or a ``YoloConfig``."""
    from ..configuration_yolo import YoloConfig

    if isinstance(model_or_config, YoloConfig):
        return model_or_config, None
    config = getattr(model_or_config, "config", None)
    if isinstance(config, YoloConfig):
        return config, model_or_config
    raise TypeError(
        f"generate_model_card needs a YoloPreTrainedModel or a YoloConfig, not {type(model_or_config).__name__}."
    )


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# ---------------------------------------------------------------------------------------------------- formatting
def _iso_date(value: str | None) -> str | None:
    """An ISO 8601 date to the second (``2026-11-26T07:11:16+00:00``); other text unchanged."""
    from datetime import datetime

    if not value:
        return None
    try:
        return datetime.fromisoformat(value).isoformat(timespec="seconds")
    except ValueError:
        return value


def _model_stem(config: Any) -> str | None:
    """``yolov8n`` from ``architecture.yaml_file`` (or family + scale)."""
    architecture = config.architecture or {}
    yaml_file = architecture.get("yaml_file")
    if yaml_file:
        return PurePath(str(yaml_file).replace("\\", "/")).stem
    if config.family:
        return f"{config.family}{architecture.get('scale') or ''}"
    return None


def _image_size_text(config: Any) -> str:
    height, width = config.image_hw
    return str(height) if height == width else f"{height}×{width} (h×w)"


def _parameter_count(model: Any) -> str | None:
    if model is None:
        return None
    count = sum(p.numel() for p in model.parameters())
    return f"{count / 1e6:.2f} M ({count:,})"


def _dtype_name(dtype: Any) -> str | None:
    """``float32`` for ``torch.float32`` or ``"float32"``; None when unknown."""
    return str(dtype).replace("torch.", "") if dtype else None


def _number(config: Any, name: str) -> float | int:
    """A numeric config field as a number (it is pasted into code snippets), or a ConfigError."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"config.{name}={value!r:.60} must be a finite number.")
    return value


def _head_mode(config: Any) -> str:
    conf, iou, max_det = (_number(config, n) for n in ("conf_threshold", "iou_threshold", "max_det"))
    if config.end_to_end:
        return f"NMS-free one-to-one head (top-{int(max_det)}), confidence {conf}"
    return f"NMS (IoU {iou}), confidence {conf}, at most {int(max_det)} detections"


# ---------------------------------------------------------------------------------------------------- metrics
def _metric_names(key: str) -> tuple[str, str] | None:
    """``(metric_type, display name)`` of an Ultralytics metric column, or None for losses and fitness."""
    if not key.startswith("metrics/"):
        return None
    name = key[len("metrics/"):]
    kind = None
    if name.endswith(")") and "(" in name:
        name, _, suffix = name[:-1].partition("(")
        kind = _METRIC_KINDS.get(suffix, suffix)
    return name, f"{name} ({kind})" if kind else name


def _final_metrics(config: Any) -> list[tuple[str, str, float]]:
    """``(metric_type, display name, value)`` of the finite final validation metrics, in the checkpoint's order."""
    rows = []
    for key, value in (config.metrics or {}).items():
        names = _metric_names(str(key))
        if names is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            rows.append((*names, round(float(value), 5)))
    return rows


def _dataset_label(config: Any, datasets: list[str]) -> str | None:
    """What the model was validated on: the card's Hub dataset if given, else :func:`.paths.dataset_label`."""
    if datasets:
        return datasets[0]
    data = (config.train_args or {}).get("data")
    return dataset_label(data) if data else None


def _eval_results(config: Any, pipeline_tag: str, datasets: list[str]) -> list[EvalResult]:
    metrics = _final_metrics(config)
    label = _dataset_label(config, datasets)
    if not metrics or not label:
        return []
    return [
        EvalResult(
            task_type=pipeline_tag,
            dataset_type=label,
            dataset_name=label,
            dataset_split=(config.train_args or {}).get("split") or "val",
            metric_type=metric_type,
            metric_name=name,
            metric_value=value,
        )
        for metric_type, name, value in metrics
    ]


# ---------------------------------------------------------------------------------------------------- metadata
def card_metadata(
    config: Any, *, model_name: str, base_model: str | Sequence[str] | None = None,
    datasets: str | Sequence[str] | None = None, license: str = "agpl-3.0",
) -> ModelCardData:
    """The card's YAML metadata: pipeline tag, library, license, tags, datasets, base model, model-index.

    Args:
        config: The model's ``YoloConfig``.
        model_name: Name used in ``model-index``.
        base_model: Hub id(s) of the model this one was fine-tuned from.
        datasets: Hub id(s) of the training datasets.
        license: License id (Ultralytics weights are ``agpl-3.0``).
    """
    base_models = [check_repo_id(b, "base_model") for b in _as_list(base_model)]
    dataset_ids = [check_repo_id(d, "datasets") for d in _as_list(datasets)]
    pipeline_tag = TASK_SPECS[config.task].pipeline_tag
    tags = ["yolo", "ultralytics", config.family, config.task, LIBRARY_TAG, pipeline_tag]
    eval_results = _eval_results(config, pipeline_tag, dataset_ids)
    return ModelCardData(
        model_name=model_name if eval_results else None,  # only model-index uses it; alone it is a stray key
        library_name=_LIBRARY_NAME,
        pipeline_tag=pipeline_tag,
        license=license,
        tags=list(dict.fromkeys(t for t in tags if t)),
        datasets=dataset_ids or None,
        base_model=(base_models[0] if len(base_models) == 1 else base_models) or None,
        eval_results=eval_results or None,
    )


# ---------------------------------------------------------------------------------------------------- body
def _hyperparameters(config: Any) -> list[tuple[str, str]]:
    args = config.train_args or {}
    rows = []
    for name in _HYPERPARAMETERS:
        value = args.get(name)
        if value is None or value == "":
            continue
        rows.append((name, public_path(value) if name in ("model", "data") else str(value)))
    return rows


def _provenance(config: Any) -> list[tuple[str, str]]:
    """``(name, value)`` rows; each value is Markdown already escaped for a table cell."""
    rows = [
        ("Source checkpoint", code_span(public_path(config.source_file)) if config.source_file else None),
        ("Source SHA-256", code_span(config.source_sha256) if config.source_sha256 else None),
        ("Ultralytics version", markdown_cell(config.ultralytics_version) if config.ultralytics_version else None),
        ("Training date", markdown_cell(_iso_date(config.training_date)) if config.training_date else None),
        ("Converter", markdown_cell(f"yolo-transformers {config.converter_version}")
         if config.converter_version else None),
    ]
    return [(name, value) for name, value in rows if value]


def _model_import(task: str) -> tuple[str, str]:
    """``(class name, import line)`` of the model class serving ``task`` (AutoModel for a task not in the table)."""
    if task in TASK_SPECS:
        name = TASK_SPECS[task].model_class
        return name, f"from yolo_transformers import {name}"
    return "AutoModel", "from transformers import AutoModel\nimport yolo_transformers  # noqa: F401"


def _pulled_checkpoint_name(repo_id: str) -> str:
    """The ``.pt`` name ``yolo-hf pull --format ultralytics`` writes (see ``hub.download``): ``<repo name>.pt``, with
    ``-hf`` for YOLOv3/v5-style names so Ultralytics does not swap in its own ``...u.pt``."""
    name = repo_id.split("/")[-1]
    return f"{name}-hf.pt" if re.match(r"yolov[35]", name, re.IGNORECASE) else f"{name}.pt"


def _summary(config: Any, title: str, family: str | None) -> str:
    names = [config.id2label[i] for i in sorted(config.id2label)]
    shown = ", ".join(markdown_cell(n) for n in names[:8]) + (", …" if len(names) > 8 else "")
    what = f"{family or 'YOLO'} {TASK_SPECS[config.task].description}"
    return (
        f"**{markdown_cell(title)}** is an {what} for {len(names)} class{'es' if len(names) != 1 else ''} "
        f"({shown}) at {_image_size_text(config)} px input, built with [Ultralytics](https://docs.ultralytics.com) "
        "and converted to a native 🤗 transformers model (safetensors weights, `AutoModel` and `pipeline` support) "
        "by yolo-transformers."
    ).replace(" an Y", " a Y")


def _context(config: Any, model: Any, repo_id: str, model_id: str, data: ModelCardData,
             dataset_label: str | None, training_curves: bool) -> dict[str, Any]:
    family = _FAMILY_NAMES.get(config.family or "")
    stem = _model_stem(config)
    model_class, model_import = _model_import(config.task)
    architecture = config.architecture or {}
    architecture_name = " ".join(x for x in (family, code_span(stem) if stem else None) if x)
    return {
        "card_data": data.to_yaml(),
        "title": model_id,
        "summary": _summary(config, model_id, family),
        "architecture_name": architecture_name or "YOLO",
        "scale": architecture.get("scale"),
        "task": config.task,
        "pipeline_tag": data.pipeline_tag,
        "pipeline_variable": _PIPELINE_VARIABLES.get(data.pipeline_tag, "model"),
        "input_size": _image_size_text(config),
        "classes": [(i, config.id2label[i]) for i in sorted(config.id2label)],
        "fold_classes": len(config.id2label) > _UNFOLDED_CLASSES,
        "parameters": _parameter_count(model),
        "dtype": _dtype_name(model.dtype if model is not None else getattr(config, "dtype", None)),
        "head_mode": _head_mode(config) if config.task in ("detect", "obb", "segment", "pose") else None,
        "end_to_end": bool(config.end_to_end),
        "conf_threshold": _number(config, "conf_threshold"),
        "converter_version": config.converter_version,
        "ultralytics_version": config.ultralytics_version,
        "source_sha256": config.source_sha256,
        "evaluation": [(name, f"{value:.4f}") for _, name, value in _final_metrics(config)],
        "dataset_label": dataset_label,
        "training_curves": TRAINING_CURVES_FILENAME if training_curves else None,
        "repo_id": repo_id,
        "local_dir": repo_id.split("/")[-1],
        "ultralytics_file": _pulled_checkpoint_name(repo_id),
        "model_class": model_class,
        "model_import": model_import,
        "hyperparameters": _hyperparameters(config),
        "provenance": _provenance(config),
    }


def generate_model_card(
    model_or_config: Any,
    *,
    repo_id: str | None = None,
    base_model: str | Sequence[str] | None = None,
    datasets: str | Sequence[str] | None = None,
    license: str = "agpl-3.0",
    training_curves: bool | None = None,
    runtimes: Sequence[str] = (),
) -> ModelCard:
    """Render the model card of a converted YOLO model.

    Args:
        model_or_config: A ``YoloPreTrainedModel`` (adds parameter count and dtype) or its ``YoloConfig``.
        repo_id: The Hub repository (``owner/name``) the card is for; used in the title and usage snippets.
            Without it the snippets show ``your-username/<model>``.
        base_model: Hub id(s) of the model this one was fine-tuned from.
        datasets: Hub id(s) of the training datasets (metadata and the evaluation's dataset).
        license: License id for the metadata; Ultralytics weights, and anything converted from them, are AGPL-3.0.
        training_curves: Embed ``training_curves.png``; by default when ``config.train_results`` has per-epoch
            values, which is exactly when :func:`write_card_assets` writes the picture.
        runtimes: Exported graphs the repo holds (``"onnx"``, ``"openvino"``): the card shows how to run them.

    Returns:
        A ``huggingface_hub.ModelCard``; ``str(card)`` is the README, ``card.data`` its metadata.

    Raises:
        HubError: ``repo_id``, ``base_model`` or ``datasets`` is not a valid Hub repository id.
        TypeError: ``model_or_config`` is neither a YOLO model nor a ``YoloConfig``.
    """
    config, model = _split_model(model_or_config)
    stem = _model_stem(config) or "yolo"
    if repo_id is not None:
        check_repo_id(repo_id, "repo_id")
    model_id = repo_id.split("/")[-1] if repo_id else stem
    data = card_metadata(config, model_name=model_id, base_model=base_model, datasets=datasets, license=license)
    if training_curves is None:
        training_curves = has_training_curves(config.train_results)
    context = _context(config, model, repo_id or f"your-username/{stem}", model_id, data,
                       _dataset_label(config, _as_list(datasets)), training_curves)
    context["runtimes"] = [runtime for runtime in ("onnx", "openvino") if runtime in runtimes]
    card = ModelCard(card_template(TEMPLATE_NAME).render(**context).lstrip())
    logger.debug("rendered model card for %s (%d characters)", model_id, len(str(card)))
    return card


def write_card_assets(config: Any, folder: str | Path) -> list[Path]:
    """Write the card's pictures into ``folder``: ``training_curves.png`` (loss and mAP per epoch).

    Nothing is written when ``config.train_results`` holds no per-epoch values (e.g. a model built from a yaml).

    Args:
        config: The model's ``YoloConfig`` (or a model; its ``config`` is used).
        folder: The folder the README goes into (the card links the picture relative to it).

    Returns:
        The files written (possibly none).
    """
    config, _ = _split_model(config)
    title = " · ".join(x for x in (_model_stem(config), config.training_date and config.training_date[:10]) if x)
    path = save_training_curves(config.train_results, Path(folder) / TRAINING_CURVES_FILENAME, title or None)
    return [path] if path is not None else []

