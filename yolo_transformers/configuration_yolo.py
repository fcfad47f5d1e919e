"""``YoloConfig``: the Ultralytics architecture dict plus what transformers and the Hub need around it."""

from __future__ import annotations

import contextvars
import logging
import numbers
import os
from typing import Any

from transformers import PreTrainedConfig

from .network.architecture import TASKS, validate_architecture
from .errors import ConfigError
from .tasks import task_spec

__all__ = ["YoloConfig"]

logger = logging.getLogger(__name__)

# Set while ``from_dict`` runs: transformers logs ``f"Model config {config}"`` there at INFO level, and the f-string
# renders the whole config as JSON even when the message is dropped (20 ms for a 1000-class classifier).
_BUILDING_FROM_DICT: contextvars.ContextVar[bool] = contextvars.ContextVar("yolo_config_from_dict", default=False)


class YoloConfig(PreTrainedConfig):
    r"""Configuration of a YOLO model converted from (or trained with) Ultralytics.

    Args:
        architecture (`dict`):
            The Ultralytics ``model.yaml`` dict, verbatim (``backbone``, ``head``, ``nc``, ``scale``/``scales``,
            ``end2end``, ``reg_max``, ``kpt_shape``, ...). It is validated against an allowlist of module names and
            activations before any network is built from it.
        task (`str`, defaults to `"detect"`):
            Ultralytics task: one of ``detect``, ``segment``, ``semantic``, ``depth``, ``pose``, ``obb``, ``classify``.
        image_size (`int` or `list[int]`, defaults to 640):
            Inference size in pixels the model was trained at (Ultralytics ``imgsz``); ``[height, width]`` if not square.
        stride (`list[float]`):
            Output stride of each head level in input pixels, e.g. ``[8.0, 16.0, 32.0]``.
        num_channels (`int`, defaults to 3):
            Input channels.
        conf_threshold / iou_threshold / max_det:
            Default post-processing settings (Ultralytics ``predict`` defaults: 0.25, 0.7, 300).
        end_to_end (`bool`, defaults to `False`):
            Predict with the NMS-free one-to-one branch of a YOLOv10/YOLO26 head (Ultralytics ``predict(nms=False)``)
            instead of the one-to-many branch plus NMS (Ultralytics' default). Needs a head with a one-to-one branch.
        ultralytics_version, converter_version, training_date, train_args, metrics, train_results, source_sha256,
        source_file:
            Provenance of the weights: the Ultralytics release that wrote the checkpoint, this library's version at
            conversion, the checkpoint's training date (ISO 8601), its training arguments, its final validation
            metrics, its per-epoch results (column name -> list, as Ultralytics' results.csv), the sha256 and file
            name of the source ``.pt``.
    """

    model_type = "yolo"

    architecture: dict | None = None
    task: str = "detect"
    image_size: int | list[int] = 640
    stride: list[float] | None = None
    num_channels: int = 3
    conf_threshold: float = 0.25
    iou_threshold: float = 0.7
    max_det: int = 300
    end_to_end: bool = False
    ultralytics_version: str | None = None
    converter_version: str | None = None
    training_date: str | None = None
    train_args: dict | None = None
    metrics: dict | None = None
    train_results: dict | None = None
    source_sha256: str | None = None
    source_file: str | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        if self.architecture is not None:
            self._validate()
            if self.id2label is None and kwargs.get("num_labels") is None:
                kwargs["num_labels"] = int(self.architecture["nc"])
        super().__post_init__(**kwargs)
        if self.architecture is not None and self.num_labels != self.architecture["nc"]:
            raise ConfigError(
                f"id2label has {self.num_labels} classes but architecture.nc={self.architecture['nc']}; "
                "they must agree (one label per class the head predicts)."
            )

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        """Check field types and the architecture allowlist; raise ``ConfigError`` naming the field and the fix."""
        validate_architecture(self.architecture)
        if self.task not in TASKS:
            raise ConfigError(f"task={self.task!r} is not one of {', '.join(TASKS)}.")
        size = self.image_size
        if isinstance(size, bool) or not (
            isinstance(size, int) and size > 0
            or isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size)
        ):
            raise ConfigError(f"image_size={size!r} must be a positive int or [height, width].")
        if self.stride is None or not isinstance(self.stride, (list, tuple)) or not self.stride or not all(
            isinstance(s, numbers.Number) and not isinstance(s, bool) and s > 0 for s in self.stride
        ):
            raise ConfigError(f"stride={self.stride!r} must be a non-empty list of positive numbers, e.g. [8, 16, 32].")
        for name, kind in (("conf_threshold", numbers.Number), ("iou_threshold", numbers.Number), ("max_det", int),
                           ("num_channels", int)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ConfigError(f"{name}={value!r} must be a {kind.__name__ if kind is int else 'number'}.")
        if not isinstance(self.end_to_end, bool):
            raise ConfigError(f"end_to_end={self.end_to_end!r} must be true or false.")
        if self.end_to_end and not self.has_one_to_one_head:
            raise ConfigError(
                "end_to_end=true needs a head with a one-to-one branch (YOLOv10/YOLO26); set it to false for NMS."
            )
        for name in ("train_args", "metrics", "train_results"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"{name}={value!r} must be a dict or null.")

    # ------------------------------------------------------------------ derived values
    @property
    def has_one_to_one_head(self) -> bool:
        """Whether the head has an NMS-free one-to-one branch (YOLOv10, YOLO26)."""
        if not self.architecture:
            return False
        if self.architecture.get("end2end") is not None:
            return bool(self.architecture["end2end"])
        return any(row[2] == "v10Detect" for row in self.architecture.get("head", []))

    @property
    def image_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the square or rectangular inference size."""
        if isinstance(self.image_size, int):
            return self.image_size, self.image_size
        return int(self.image_size[0]), int(self.image_size[1])

    @property
    def max_stride(self) -> int:
        """Largest head stride in pixels (letterbox padding multiple)."""
        return int(max(self.stride)) if self.stride else 32

    @property
    def family(self) -> str | None:
        """Model family guessed from the architecture (``yolov8``, ``yolo11``, ``yolo26``, ...), if recognisable."""
        yaml_file = (self.architecture or {}).get("yaml_file", "")
        name = os.path.basename(str(yaml_file)).lower()
        for family in ("yolov3", "yolov5", "yolov6", "yolov8", "yolov9", "yolov10", "yolo11", "yolo12", "yolo26"):
            if name.startswith(family):
                return family
        return None

    # ------------------------------------------------------------------ new classes
    def set_classes(self, id2label: dict | None = None, *, num_labels: int | None = None) -> None:
        """Give the config other classes, rewriting ``architecture["nc"]`` to match (re-heading a model).

        A model built from the result has class layers of the new size; load the old weights into it with
        ``from_pretrained(..., ignore_mismatched_sizes=True)`` so those layers are re-initialised.

        Args:
            id2label: New ``{class index: name}`` (indices ``0..N-1``); ``label2id`` is rebuilt from it.
            num_labels: New class count when no names are given (names become ``LABEL_i``, as in transformers).

        Raises:
            ConfigError: The task has no classes (depth), or the ids are not ``0..N-1`` or the names repeat.
        """
        if id2label is None:
            if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1:
                raise ConfigError(f"num_labels={num_labels!r} must be a positive int.")
            id2label = {i: f"LABEL_{i}" for i in range(num_labels)}
        try:
            labels = {int(k): str(v) for k, v in dict(id2label).items()}
        except (TypeError, ValueError):
            raise ConfigError(f"id2label={id2label!r} must map class indices 0..N-1 to names.") from None
        if sorted(labels) != list(range(len(labels))) or not labels:
            raise ConfigError(f"id2label keys {sorted(labels)} must be the class indices 0..{len(labels) - 1}.")
        if len(set(labels.values())) != len(labels):
            raise ConfigError(f"id2label={labels!r} repeats a class name; every class needs its own name.")
        if self.architecture is not None and len(labels) != self.architecture["nc"]:
            if not task_spec(self.task).has_classes:
                raise ConfigError(f"a {self.task!r} model has no classes; do not pass id2label or num_labels.")
            logger.info("classes: %d -> %d (architecture.nc rewritten)", self.architecture["nc"], len(labels))
            self.architecture = {**self.architecture, "nc": len(labels)}
        self.id2label = labels
        self.label2id = {name: i for i, name in labels.items()}

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any):
        """Build a config from a dict, as transformers does, without rendering it for a log line nobody sees.

        ``id2label``/``label2id``/``num_labels`` passed as keyword arguments (``from_pretrained(path, id2label=...)``)
        give the model new classes: ``architecture["nc"]`` follows them (see :meth:`set_classes`). A ``config.json``
        whose own ``id2label`` disagrees with its ``nc`` is still an error.
        """
        id2label, num_labels = kwargs.pop("id2label", None), kwargs.pop("num_labels", None)
        label2id = kwargs.pop("label2id", None)
        token = _BUILDING_FROM_DICT.set(True)
        try:
            result = super().from_dict(config_dict, **kwargs)
        finally:
            _BUILDING_FROM_DICT.reset(token)
        config = result[0] if isinstance(result, tuple) else result
        if id2label is not None or num_labels is not None:
            if id2label is None and num_labels == config.num_labels:
                return result
            config.set_classes(id2label, num_labels=None if id2label is not None else num_labels)
            if label2id is not None and {str(k): int(v) for k, v in dict(label2id).items()} != config.label2id:
                raise ConfigError(f"label2id={label2id!r} is not the inverse of id2label={config.id2label!r}.")
        elif label2id is not None:
            raise ConfigError("label2id was given without id2label; pass id2label (label2id follows from it).")
        return result

    def __repr__(self) -> str:
        if _BUILDING_FROM_DICT.get() and not logging.getLogger("transformers.configuration_utils").isEnabledFor(
            logging.INFO
        ):
            return f"{type(self).__name__}(task={self.task!r})"  # only ever formatted into a dropped log message
        return super().__repr__()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any) -> YoloConfig:
        """Load a config; a malformed ``config.json`` raises ``ConfigError`` naming the file."""
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except ConfigError as error:
            raise type(error)(f"{pretrained_model_name_or_path}/config.json: {error}") from None
        except TypeError as error:  # a field of a type the dataclass cannot take
            raise ConfigError(
                f"{pretrained_model_name_or_path}/config.json: {error}. Re-create the folder with "
                "`python -m yolo_transformers.convert best.pt --output DIR`."
            ) from None
