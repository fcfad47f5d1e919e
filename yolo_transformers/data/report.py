"""What a conversion kept, skipped or repaired, counted per reason.

``strict=True`` turns every problem into a :class:`~yolo_transformers.errors.DatasetFormatError`;
``strict=False`` does what Ultralytics' ``verify_image_label`` would do (skip the image, clip the value,
drop the duplicate) and records it here. The report is logged and attached to the returned
``DatasetDict`` as ``conversion_report``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["ConversionReport", "MAX_MESSAGES"]

logger = logging.getLogger(__name__)

#: At most this many individual messages are kept (counts are always complete).
MAX_MESSAGES = 100


@dataclass
class ConversionReport:
    """Counts and sample messages of one conversion.

    Attributes:
        images: Images written, per split.
        backgrounds: Images written without any object (no label file or an empty one), per split.
        counts: Problems handled in non-strict mode, per reason (``"corrupt_image"``, ``"bad_label"``, ...).
        messages: The first :data:`MAX_MESSAGES` messages, each naming the file and what was done.
    """

    images: Counter = field(default_factory=Counter)
    backgrounds: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)

    def add(self, reason: str, message: str, n: int = 1) -> None:
        """Count ``n`` occurrences of ``reason`` and keep ``message`` while there is room."""
        self.counts[reason] += n
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)

    def merge(self, other: ConversionReport) -> None:
        """Add another report's counts and messages to this one."""
        self.images.update(other.images)
        self.backgrounds.update(other.backgrounds)
        self.counts.update(other.counts)
        room = MAX_MESSAGES - len(self.messages)
        self.messages.extend(other.messages[: max(room, 0)])

    def to_dict(self) -> dict:
        """JSON-serializable form (stored next to cached shards)."""
        return {
            "images": dict(self.images),
            "backgrounds": dict(self.backgrounds),
            "counts": dict(self.counts),
            "messages": list(self.messages),
        }

    def replace_with(self, data: dict) -> None:
        """Make this report equal to a :meth:`to_dict` result (a cache hit reuses the original report)."""
        self.images = Counter(data.get("images", {}))
        self.backgrounds = Counter(data.get("backgrounds", {}))
        self.counts = Counter(data.get("counts", {}))
        self.messages = list(data.get("messages", []))

    @property
    def ok(self) -> bool:
        """True when nothing had to be skipped, clipped or repaired."""
        return not self.counts

    def summary(self) -> str:
        """One line per split and per problem, for logs."""
        lines = [
            f"{split}: {n} images" + (f" ({self.backgrounds[split]} backgrounds)" if self.backgrounds[split] else "")
            for split, n in sorted(self.images.items())
        ]
        lines += [f"{reason}: {n}" for reason, n in sorted(self.counts.items())]
        return "; ".join(lines) if lines else "nothing converted"

    def log(self) -> None:
        """Log the summary (INFO) and, when something was skipped or clipped, the sample messages (WARNING)."""
        logger.info("YOLO dataset conversion: %s", self.summary())
        if self.counts:
            shown = "\n  ".join(self.messages)
            logger.warning("Non-strict conversion changed the data: %s\n  %s", dict(self.counts), shown)
