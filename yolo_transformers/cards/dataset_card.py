"""Dataset cards: Hub metadata, statistics (split sizes, instances per class) and a readable body.

The body is rendered from ``dataset_card.md.jinja`` in :mod:`yolo_transformers.model_cards` (the repository's
top-level ``model_cards/`` folder), like the model card. The metadata is a ``huggingface_hub.DatasetCardData``;
:func:`merge_card_metadata` folds in the ``dataset_info``/``configs`` blocks that ``push_to_hub`` writes, so the card
that ends up on the Hub keeps the features ``load_dataset`` needs.

License: ``license`` from ``data.yaml`` (kept in the dataset metadata) when it names a Hub license id
(``cc-by-4.0``, ``CC BY 4.0``, ``AGPL-3.0`` ... are normalized); any other text becomes ``license: other`` with a
``license_name`` and the original text in the body; no license at all becomes ``license: unknown`` (a Hub license
id) and the card says so, rather than guessing a license for someone else's images.

Example::

    card = generate_dataset_card(load_yolo_dataset("coco8/data.yaml"), repo_id="me/coco8", license="agpl-3.0")
    print(card.data.license, card.text[:200])
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import datasets
import numpy as np
from huggingface_hub import DatasetCard, DatasetCardData

from ..tasks import TASK_SPECS
from .text import card_template, check_repo_id
from ..data.dense import decode_mask
from ..data.metadata import YoloMetadata, read_metadata
from ..data.report import ConversionReport
from ..data.samples import SAMPLES_FILENAME
from ..version import LIBRARY_TAG

__all__ = [
    "DatasetStats",
    "dataset_stats",
    "generate_dataset_card",
    "merge_card_metadata",
    "is_generated_card",
    "resolve_license",
    "DATASET_TEMPLATE_NAME",
    "HUB_LICENSES",
]

logger = logging.getLogger(__name__)

#: The template inside the ``yolo_transformers.model_cards`` package.
DATASET_TEMPLATE_NAME = "dataset_card.md.jinja"
_UNFOLDED_CLASSES = 20
#: Metadata keys written by ``datasets.push_to_hub``; the Hub's copy wins when cards are merged.
_DATASETS_KEYS = ("dataset_info", "configs", "dataset_infos")
#: Keys of an older card that must not outlive a new ``license``.
_LICENSE_KEYS = ("license", "license_name", "license_link")
#: Last line of a generated card's body: the digest of the body above it, so an unedited card can be told from one
#: a person wrote or edited (the first is refreshed on every push, the second kept).
_MARKER = re.compile(r"\n?<!-- yolo-transformers dataset card sha256=([0-9a-f]{64})[^\n]*-->\s*$")
_MARKER_TEXT = "<!-- yolo-transformers dataset card sha256={digest} (regenerated on each push while unedited) -->\n"

#: License ids the Hub accepts in ``license:`` (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = frozenset(
    """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
    bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc
    cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0
    cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0
    cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1
    eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c
    ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl
    lgpl-lr deepfloyd-if-license fair-noncommercial-research-license unknown other""".split()
)
_LICENSE_ALIASES = {"cc0": "cc0-1.0", "public-domain": "pddl", "gplv3": "gpl-3.0", "agplv3": "agpl-3.0"}

_SOURCE_NAMES = {"yolo": "YOLO folder (Ultralytics layout)", "coco": "COCO JSON file"}
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))


# ---------------------------------------------------------------------------------------------------- statistics
@dataclass
class DatasetStats:
    """What the card tells about the data.

    Attributes:
        task: The YOLO task.
        names: Class names, index = class id.
        images: Rows per split, in split order.
        backgrounds: Images without any object, per split (detection-like tasks).
        instances: Per split, per class: objects (detection-like) or images (classify).
    """

    task: str
    names: list[str]
    images: dict[str, int] = field(default_factory=dict)
    backgrounds: dict[str, int] = field(default_factory=dict)
    instances: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total_images(self) -> int:
        """Images over all splits."""
        return sum(self.images.values())

    @property
    def class_totals(self) -> list[int]:
        """Instances per class over all splits."""
        return [sum(counts[c] for counts in self.instances.values()) for c in range(len(self.names))]

    def split_instances(self, split: str) -> int:
        """Instances of one split, all classes."""
        return sum(self.instances.get(split, []))


def dataset_stats(dataset: datasets.DatasetDict, meta: YoloMetadata | None = None) -> DatasetStats:
    """Count images, backgrounds and instances per class, reading only the label columns (no image is decoded).

    Args:
        dataset: A dataset in this package's schema.
        meta: Its metadata (read from ``dataset`` when None).

    Returns:
        The counts.
    """
    meta = meta or read_metadata(dataset)
    stats = DatasetStats(task=meta.task, names=list(meta.names))
    n_classes = len(meta.names)
    dense = TASK_SPECS[meta.task].dense_column
    for name, split in dataset.items():
        counts = np.zeros(n_classes, dtype=np.int64)
        backgrounds = 0
        if dense:
            stats.images[name], stats.backgrounds[name] = len(split), 0
            stats.instances[name] = _dense_counts(split, meta, dense)
            continue
        column = "label" if meta.task == "classify" else "objects"
        for batch in split.with_format("arrow").select_columns([column]).iter(batch_size=10_000):
            array = batch.column(column).combine_chunks()
            if meta.task == "classify":
                classes = array.to_numpy(zero_copy_only=False)
            else:
                category = array.field("category")
                backgrounds += int(np.count_nonzero(category.value_lengths().fill_null(0).to_numpy() == 0))
                classes = category.flatten().to_numpy(zero_copy_only=False)
            counts += np.bincount(classes.astype(np.int64), minlength=n_classes)[:n_classes]
        stats.images[name] = len(split)
        stats.backgrounds[name] = backgrounds
        stats.instances[name] = counts.tolist()
    return stats


def _depth_scale(meta: YoloMetadata) -> str:
    """The dataset's ``depth_scale`` as a number for the card (metadata is untrusted: anything else is the default)."""
    value = (meta.extra or {}).get("depth_scale", 1000)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")
    return f"{float(value) if ok else 1000.0:g}"


def _dense_counts(split: datasets.Dataset, meta: YoloMetadata, column: str) -> list[int]:
    """Semantic: per class, the images whose mask has that class (masks are decoded); depth: the image count."""
    if meta.task != "semantic":
        return [len(split)]
    counts = np.zeros(len(meta.names), dtype=np.int64)
    for batch in split.with_format("arrow").select_columns([column]).iter(batch_size=256):
        for data in batch.column(column).combine_chunks().field("bytes").to_pylist():
            if data:
                ids = np.unique(decode_mask(data, column))
                counts[ids[ids < len(meta.names)]] += 1
    return counts.tolist()


# ---------------------------------------------------------------------------------------------------- license
def resolve_license(value: Any) -> tuple[str, str | None]:
    """Hub ``license`` (and ``license_name`` for ``other``) of a license declaration.

    Args:
        value: ``license`` from ``data.yaml`` or the caller; None or empty for "not declared".

    Returns:
        ``(license id, license_name or None)``: a Hub id such as ``cc-by-4.0``; ``("unknown", None)`` when
        nothing was declared; ``("other", slug)`` for a license the Hub has no id for.
    """
    text = " ".join(str(value or "").split())
    if not text:
        return "unknown", None
    slug = re.sub(r"[^a-z0-9.+]+", "-", text.lower()).strip("-")
    slug = _LICENSE_ALIASES.get(slug, slug)
    if slug in HUB_LICENSES:
        return slug, None
    return "other", re.sub(r"[^a-z0-9.]+", "-", slug).strip("-.") or "custom"  # the Hub's license_name alphabet


def _size_category(total: int) -> str:
    for limit, name in _SIZE_CATEGORIES:
        if total < limit:
            return name
    return "n>1T"


def _card_data(meta: YoloMetadata, stats: DatasetStats, license_id: str, license_name: str | None,
               pretty_name: str) -> DatasetCardData:
    """The card's YAML metadata (without ``dataset_info``/``configs``, which ``push_to_hub`` writes)."""
    extra: dict[str, Any] = {"license_name": license_name} if license_name else {}
    tags = ["yolo", "ultralytics", LIBRARY_TAG, meta.task, "image"]
    return DatasetCardData(
        license=license_id,
        task_categories=[TASK_SPECS[meta.task].pipeline_tag],
        task_ids=list(TASK_SPECS[meta.task].dataset_task_ids) or None,
        size_categories=[_size_category(stats.total_images)],
        pretty_name=pretty_name,
        tags=tags,
        **extra,
    )


def _body_digest(text: str) -> str:
    """sha256 of a card body, insensitive to line endings and trailing spaces (editors and the Hub change those)."""
    import hashlib

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return hashlib.sha256("\n".join(line.rstrip() for line in lines).strip().encode("utf-8")).hexdigest()


def _with_marker(body: str) -> str:
    body = body.rstrip("\n") + "\n"
    return f"{body}\n{_MARKER_TEXT.format(digest=_body_digest(body))}"


def is_generated_card(readme: str) -> bool:
    """Whether ``readme`` is a dataset card generated by this package and not edited since (metadata aside).

    Args:
        readme: A README.md's text.

    Returns:
        True when its body ends with our marker and the digest in it matches the body: safe to regenerate.
    """
    text = DatasetCard(readme).text
    match = _MARKER.search(text)
    return bool(match) and _body_digest(text[: match.start()]) == match.group(1)


def merge_card_metadata(card: DatasetCard, hub_readme: str | None) -> DatasetCard:
    """``card`` with the metadata of the README now on the Hub folded in.

    ``dataset_info``/``configs`` (what ``push_to_hub`` just wrote) come from the Hub; keys this card sets come from
    the card; other keys of the Hub's README (e.g. a ``language`` someone added) are kept.

    Args:
        card: A card from :func:`generate_dataset_card`.
        hub_readme: The README text now on the Hub (None when there is none).

    Returns:
        A new card with this card's body.
    """
    ours = card.data.to_dict()
    theirs = DatasetCard(hub_readme).data.to_dict() if hub_readme else {}
    merged = dict(ours)  # our keys first (they are what a reader looks for), then the Hub's
    merged.update({k: v for k, v in theirs.items() if k not in ours and k not in _LICENSE_KEYS})
    merged.update({k: theirs[k] for k in _DATASETS_KEYS if k in theirs})
    return DatasetCard(f"---\n{DatasetCardData(**merged).to_yaml()}\n---\n{card.text}")


# ---------------------------------------------------------------------------------------------------- body
def _report_lines(report: ConversionReport | None) -> list[tuple[str, int]]:
    """What a lenient conversion skipped or clipped, for the card (empty for a clean conversion)."""
    if report is None or report.ok:
        return []
    return sorted((reason.replace("_", " "), int(n)) for reason, n in report.counts.items())


def _context(meta: YoloMetadata, stats: DatasetStats, *, repo_id: str, title: str, license_id: str,
             license_name: str | None, license_text: str | None, revision: str | None, samples: bool,
             report: ConversionReport | None, card_data: DatasetCardData) -> dict[str, Any]:
    splits = list(stats.images)
    classes = [
        (i, name, [stats.instances[s][i] for s in splits], total)
        for i, (name, total) in enumerate(zip(stats.names, stats.class_totals))
    ]
    return {
        "card_data": card_data.to_yaml(),
        "title": title,
        "repo_id": repo_id,
        "local_dir": repo_id.split("/")[-1],
        "revision": revision if revision and revision != "main" else None,
        "task": meta.task,
        "task_name": TASK_SPECS[meta.task].dataset_task,
        "article": "an" if TASK_SPECS[meta.task].dataset_task[0] in "aeiou" else "a",
        "task_category": card_data.task_categories[0],
        "source_format": _SOURCE_NAMES.get(meta.source_format, meta.source_format),
        "splits": [(s, stats.images[s], stats.backgrounds.get(s, 0), stats.split_instances(s)) for s in splits],
        "split_names": splits,
        "total_images": stats.total_images,
        "total_instances": sum(stats.class_totals),
        "classes": classes,
        "fold_classes": len(classes) > _UNFOLDED_CLASSES,
        "instance_word": "images" if meta.task in {"classify", "semantic"} else "instances",
        "dense": bool(TASK_SPECS[meta.task].dense_column),
        "depth_scale": _depth_scale(meta) if meta.task == "depth" else None,
        "kpt_shape": meta.kpt_shape,
        "flip_idx": meta.flip_idx,
        "license_id": license_id,
        "license_name": license_name,
        "license_text": license_text,
        "samples": SAMPLES_FILENAME if samples else None,
        "report": _report_lines(report),
    }


def generate_dataset_card(
    dataset: datasets.DatasetDict,
    *,
    repo_id: str,
    license: str | None = None,
    revision: str | None = None,
    samples: bool = True,
    report: ConversionReport | None = None,
    pretty_name: str | None = None,
) -> DatasetCard:
    """Render the dataset card of a converted YOLO dataset.

    Args:
        dataset: A dataset in this package's schema (from ``load_yolo_dataset`` or ``from_coco``).
        repo_id: The Hub repository (``owner/name``); used in the title and usage snippets.
        license: License to declare; default ``license`` from ``data.yaml``, else ``unknown`` (see module docstring).
        revision: Branch the card is for (shown in the snippets when not ``main``).
        samples: Embed ``samples.png`` (written by :func:`~yolo_transformers.data.samples.save_samples_grid`).
        report: The conversion report; a lenient conversion's skips and clips are listed in the card.
        pretty_name: Display name (default: the repository name).

    Returns:
        A ``huggingface_hub.DatasetCard``; ``str(card)`` is the README.

    Raises:
        HubError: ``repo_id`` is not a valid repository id.
    """
    check_repo_id(repo_id, "repo_id")
    meta = read_metadata(dataset)
    stats = dataset_stats(dataset, meta)
    declared = license if license is not None else (meta.extra or {}).get("license")
    license_id, license_name = resolve_license(declared)
    title = pretty_name or repo_id.split("/")[-1]
    card_data = _card_data(meta, stats, license_id, license_name, title)
    context = _context(
        meta, stats, repo_id=repo_id, title=title, license_id=license_id, license_name=license_name,
        license_text=" ".join(str(declared).split()) if declared else None, revision=revision, samples=samples,
        report=report, card_data=card_data,
    )
    rendered = DatasetCard(card_template(DATASET_TEMPLATE_NAME).render(**context).lstrip())
    card = DatasetCard(f"---\n{rendered.data.to_yaml()}\n---\n{_with_marker(rendered.text)}")
    logger.debug("rendered dataset card for %s (%d characters)", repo_id, len(str(card)))
    return card
