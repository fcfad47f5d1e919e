"""Turn what the user gave :func:`upload_model` (a ``.pt``, a folder or a model) into the files of one commit.

The model files are ``config.json``, the safetensors weights (one file, or shards plus their index),
``preprocessor_config.json`` and, when a folder holds them, the exported graphs (``onnx/model.onnx``,
``openvino/model.xml`` + ``.bin`` written by ``yolo-hf export``). The model card (``README.md``) and its assets are produced only when the push will
write the card (see :meth:`StagedModel.card_files`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

from ..configuration_yolo import YoloConfig
from ..runtime.backends import GRAPH_FILES

if TYPE_CHECKING:
    from ..modeling_yolo import YoloPreTrainedModel

__all__ = ["ModelSource", "StagedModel", "stage_model", "default_commit_message"]

logger = logging.getLogger(__name__)

#: What :func:`upload_model` accepts: a ``.pt`` checkpoint, a saved folder, or a model object.
ModelSource = Union[str, Path, "YoloPreTrainedModel"]

_CONFIG = "config.json"
_PROCESSOR = "preprocessor_config.json"
_CARD = "README.md"
_WEIGHTS_INDEX = "model.safetensors.index.json"
_PICKLES = ("pytorch_model.bin", "model.pt", "model.pth")


@dataclass
class StagedModel:
    """The files of a push, on local disk.

    Attributes:
        config: The model's configuration.
        files: Path in the repo -> local file, for config, weights and preprocessor config.
        staging: A scratch folder this push owns (removed by the caller).
        source: Short description of the input, for the commit message (``best.pt``, a folder name, ...).
        user_card: A ``README.md`` that came with the input folder; pushed instead of a generated card.
    """

    config: YoloConfig
    files: dict[str, Path]
    staging: Path
    source: str
    user_card: Path | None = None
    _card: dict[str, Path] | None = field(default=None, repr=False)

    def card_files(self, repo_id: str, *, extra_tags: Sequence[str] | None = None) -> dict[str, Path]:
        """``README.md`` and its assets (e.g. ``training_curves.png``), rendered once and reused on retries.

        Args:
            repo_id: The target repository (used in the card's usage snippets).
            extra_tags: Tags to add to the card's metadata.
        """
        if self._card is None:
            self._card = self._render_card(repo_id, extra_tags)
        return self._card

    def _render_card(self, repo_id: str, extra_tags: Sequence[str] | None) -> dict[str, Path]:
        if self.user_card is not None:
            logger.info("using %s as the model card", self.user_card)
            return {_CARD: self.user_card}
        from ..cards.model_card import generate_model_card, write_card_assets

        folder = self.staging / "card"
        folder.mkdir(parents=True, exist_ok=True)
        files = {path.relative_to(folder).as_posix(): path for path in write_card_assets(self.config, folder)}
        runtimes = [runtime for runtime, names in GRAPH_FILES.items() if all(name in self.files for name in names)]
        card = generate_model_card(self.config, repo_id=repo_id, runtimes=runtimes)
        if extra_tags:
            card.data.tags = list(dict.fromkeys([*(card.data.tags or []), *extra_tags]))
        card_path = folder / _CARD
        card_path.write_text(str(card), encoding="utf-8")
        files[_CARD] = card_path
        return files


def stage_model(
    model: ModelSource, staging: Path, *, verify_images: Sequence[str | Path] | None = None
) -> StagedModel:
    """Prepare the model files of a push in ``staging``.

    Args:
        model: A ``.pt`` checkpoint (converted and verified against Ultralytics first), a folder written by
            ``save_pretrained`` / ``yolo-hf convert``, or a ``YoloPreTrainedModel``.
        staging: An empty scratch folder.
        verify_images: Images for the conversion's parity check (``.pt`` input only).

    Raises:
        FileNotFoundError: ``model`` is a path that does not exist.
        ConfigError: The folder's ``config.json`` is malformed.
        WeightsError: The folder has no safetensors weights.
        ParityError: The converted ``.pt`` does not predict like Ultralytics.
    """
    from ..modeling_yolo import YoloPreTrainedModel

    if isinstance(model, YoloPreTrainedModel):
        return _stage_model_object(model, staging)
    path = Path(model)
    if path.is_dir():
        return _stage_folder(path, staging)
    if path.suffix == ".pt" or path.is_file():
        return _stage_checkpoint(path, staging, verify_images)
    raise FileNotFoundError(
        f"{path}: no such file or folder; pass an Ultralytics .pt, a folder written by `yolo-hf convert` "
        "(or save_pretrained), or a YoloPreTrainedModel."
    )


def _stage_model_object(model: YoloPreTrainedModel, staging: Path) -> StagedModel:
    from ..auto import processor_for_config

    folder = staging / "model"
    model.save_pretrained(folder)
    processor_for_config(model.config).save_pretrained(folder)
    return StagedModel(model.config, _model_files(folder), staging, source=type(model).__name__)


def _stage_checkpoint(path: Path, staging: Path, verify_images: Sequence[str | Path] | None) -> StagedModel:
    from ..convert.converter import convert_checkpoint

    folder = staging / "model"
    result = convert_checkpoint(path, folder, verify_images=verify_images)  # logs the parity measurements
    return StagedModel(result.model.config, _model_files(folder), staging, source=path.name)


def _stage_folder(folder: Path, staging: Path) -> StagedModel:
    from ..auto import processor_for_config

    if not (folder / _CONFIG).is_file():
        from ..errors import ConfigError

        raise ConfigError(
            f"{folder} has no config.json; convert the checkpoint first (`yolo-hf convert best.pt --output {folder}`) "
            "or pass the .pt itself."
        )
    config = YoloConfig.from_pretrained(folder)
    files = _model_files(folder)
    if _PROCESSOR not in files:
        generated = staging / "processor"
        processor_for_config(config).save_pretrained(generated)
        files[_PROCESSOR] = generated / _PROCESSOR
        logger.info("%s has no preprocessor_config.json; pushing the one matching its config", folder)
    card = folder / _CARD
    return StagedModel(config, files, staging, source=folder.name, user_card=card if card.is_file() else None)


def _model_files(folder: Path) -> dict[str, Path]:
    """Config, safetensors weights (single or sharded) and preprocessor config of a saved folder."""
    from ..errors import WeightsError

    files = {name: folder / name for name in (_CONFIG, _PROCESSOR) if (folder / name).is_file()}
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickles = [name for name in _PICKLES if (folder / name).is_file()]
        hint = f" (found {', '.join(pickles)}: pickles are never pushed)" if pickles else ""
        raise WeightsError(
            f"{folder} has no .safetensors weights{hint}; re-create it with `yolo-hf convert best.pt --output DIR`."
        )
    files.update({path.name: path for path in weights})
    if (folder / _WEIGHTS_INDEX).is_file():
        files[_WEIGHTS_INDEX] = folder / _WEIGHTS_INDEX
    for names in GRAPH_FILES.values():  # exported graphs travel with the folder, each complete or not at all
        if all((folder / name).is_file() for name in names):
            files.update({name: folder / name for name in names})
    return files


def default_commit_message(staged: StagedModel) -> tuple[str, str]:
    """A commit title that says what changed, and a description with the provenance.

    Returns:
        ``(title, description)``, e.g. ``("Upload yolov8n detect model (3 classes, mAP50-95 0.712) from best.pt",
        "source sha256: ...\\nUltralytics: 8.4.190\\n...")``.
    """
    config = staged.config
    details = [f"{config.num_labels} classes"]
    score = (config.metrics or {}).get("metrics/mAP50-95(B)")
    if isinstance(score, (int, float)):
        details.append(f"mAP50-95 {score:.3f}")
    title = f"Upload {config.family or 'YOLO'} {config.task} model ({', '.join(details)}) from {staged.source}"
    provenance = {
        "source file": config.source_file,
        "source sha256": config.source_sha256,
        "Ultralytics version": config.ultralytics_version,
        "training date": config.training_date,
        "yolo_transformers version": config.converter_version,
    }
    description = "\n".join(f"{key}: {value}" for key, value in provenance.items() if value)
    return title, description
