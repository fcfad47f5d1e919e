"""Turn a saved folder or a model object into the files of one commit (``.pt`` files go through the converter
first, in :mod:`.upload`).

The model files are ``config.json``, the safetensors weights (one file, or shards plus their index),
``preprocessor_config.json`` and, when a folder holds them, the exported graphs (``onnx/model.onnx``,
``openvino/model.xml`` + ``.bin`` written by ``yolo-hf export``). The model card (``README.md``) and its assets
are produced only when the push will write the card (see :meth:`StagedModel.card_files`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..configuration_yolo import YoloConfig
from ..errors import ConfigError, WeightsError
from ..image_processing_auto import processor_for_config
from ..runtime.backends import GRAPH_FILES

if TYPE_CHECKING:
    from ..modeling_yolo import YoloPreTrainedModel

__all__ = ["StagedModel", "default_commit_message", "model_files", "stage_folder", "stage_model_object"]

logger = logging.getLogger(__name__)


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


def stage_model_object(model: YoloPreTrainedModel, staging: Path) -> StagedModel:
    """Save ``model`` and its matching image processor into ``staging``."""
    folder = staging / "model"
    model.save_pretrained(folder)
    processor_for_config(model.config).save_pretrained(folder)
    return StagedModel(model.config, model_files(folder), staging, source=type(model).__name__)


def stage_folder(folder: Path, staging: Path) -> StagedModel:
    """Use a folder written by ``save_pretrained`` / ``yolo-hf convert`` (adding a processor config if it has none).

    Raises:
        ConfigError: The folder has no or a malformed ``config.json``.
        WeightsError: The folder has no safetensors weights.
    """
    if not (folder / _CONFIG).is_file():
        raise ConfigError(
            f"{folder} has no config.json; convert the checkpoint first (`yolo-hf convert best.pt --output {folder}`) "
            "or pass the .pt itself."
        )
    config = YoloConfig.from_pretrained(folder)
    files = model_files(folder)
    if _PROCESSOR not in files:
        generated = staging / "processor"
        processor_for_config(config).save_pretrained(generated)
        files[_PROCESSOR] = generated / _PROCESSOR
        logger.info("%s has no preprocessor_config.json; pushing the one matching its config", folder)
    card = folder / _CARD
    return StagedModel(config, files, staging, source=folder.name, user_card=card if card.is_file() else None)


def model_files(folder: Path) -> dict[str, Path]:
    """Config, safetensors weights (single or sharded) and preprocessor config of a saved folder."""
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
