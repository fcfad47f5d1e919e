"""``upload_model``: push a ``.pt``, a saved folder or a model object to the Hub as one verified commit.

A ``.pt`` is converted and verified against Ultralytics on the way (:mod:`yolo_transformers.convert`); folders and
model objects are staged by :mod:`.staging`; the commit itself is :func:`.commit.publish_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

from .commit import UploadResult, publish_model
from .staging import StagedModel, model_files, stage_folder, stage_model_object

if TYPE_CHECKING:
    from ..modeling_yolo import YoloPreTrainedModel

__all__ = ["ModelSource", "UploadResult", "stage_model", "upload_model"]

#: What :func:`upload_model` accepts: a ``.pt`` checkpoint, a saved folder, or a model object.
ModelSource = Union[str, Path, "YoloPreTrainedModel"]


def upload_model(
    model: ModelSource,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    tag: str | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    create_pr: bool = False,
    overwrite_card: bool = False,
    card_tags: Sequence[str] | None = None,
    verify_images: Sequence[str | Path] | None = None,
) -> UploadResult:
    """Push a YOLO model to the Hub as one commit: config, safetensors weights, preprocessor config, model card.

    Args:
        model: An Ultralytics ``.pt`` (converted and verified against Ultralytics on the way), a folder written
            by ``yolo-hf convert`` / ``save_pretrained``, or a ``YoloPreTrainedModel``.
        repo_id: ``namespace/name`` (``name`` alone means the token owner's namespace); created if missing.
        token: Token with write access; default ``HF_TOKEN``, then the ``hf auth login`` store.
        private: Create the repository as private (an existing repository keeps its visibility).
        revision: Branch to commit to; created from ``main`` if missing. Default ``main``.
        tag: Tag to create on the new commit (e.g. ``v1.0``).
        commit_message: Commit title; default names the model, its classes, metrics and source.
        commit_description: Commit description; default lists the provenance.
        create_pr: Open a pull request instead of committing to the branch.
        overwrite_card: Replace a ``README.md`` already on the Hub (kept by default).
        card_tags: Extra tags for the generated card's metadata.
        verify_images: Images for the parity check when ``model`` is a ``.pt``.

    Returns:
        An :class:`UploadResult`; ``str()`` of it is the URL to open.

    Raises:
        AuthenticationError: No token, a rejected token, or one without write access to ``repo_id`` (raised
            before anything is uploaded).
        HubConflictError: The branch kept moving under concurrent pushes; nothing was committed.
        HubError: Any other Hub failure; the repository is left at its previous commit.
    """
    return publish_model(
        lambda scratch: stage_model(model, scratch, verify_images=verify_images), repo_id, token=token,
        private=private, revision=revision, tag=tag, commit_message=commit_message,
        commit_description=commit_description, create_pr=create_pr, overwrite_card=overwrite_card,
        card_tags=card_tags,
    )  # fmt: skip


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
        return stage_model_object(model, staging)
    path = Path(model)
    if path.is_dir():
        return stage_folder(path, staging)
    if path.suffix == ".pt" or path.is_file():
        return _stage_checkpoint(path, staging, verify_images)
    raise FileNotFoundError(
        f"{path}: no such file or folder; pass an Ultralytics .pt, a folder written by `yolo-hf convert` "
        "(or save_pretrained), or a YoloPreTrainedModel."
    )


def _stage_checkpoint(path: Path, staging: Path, verify_images: Sequence[str | Path] | None) -> StagedModel:
    from ..convert.converter import convert_checkpoint

    folder = staging / "model"
    result = convert_checkpoint(path, folder, verify_images=verify_images)  # logs the parity measurements
    return StagedModel(result.model.config, model_files(folder), staging, source=path.name)
