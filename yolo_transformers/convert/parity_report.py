"""What the parity check measured: per-image comparisons, the report, and the default tolerances.

:mod:`.parity` fills these in; ``ParityReport.summary()`` is what ``yolo-hf convert`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tasks import TASK_SPECS

__all__ = ["ImageParity", "ParityReport", "TaskImageParity", "TaskParityReport", "TOLERANCES", "AT_LEAST"]


@dataclass
class ImageParity:
    """Detections of one image compared with Ultralytics'.

    Attributes:
        image: File name or description of the image.
        reference_count / our_count: Number of detections from Ultralytics / from us.
        classes_match: Every matched pair has the same class and counts are equal.
        max_box_diff: Largest absolute coordinate difference of matched boxes, pixels of the original image.
        max_score_diff: Largest absolute score difference of matched detections.
    """

    image: str
    reference_count: int
    our_count: int
    classes_match: bool
    max_box_diff: float
    max_score_diff: float

    def passed(self, box_tolerance: float, score_tolerance: float) -> bool:
        """Whether this image is within the tolerances."""
        return (
            self.reference_count == self.our_count
            and self.classes_match
            and self.max_box_diff <= box_tolerance
            and self.max_score_diff <= score_tolerance
        )


@dataclass
class ParityReport:
    """Result of :func:`verify_conversion`."""

    raw_max_abs_diff: float
    raw_tolerance: float
    images: list[ImageParity] = field(default_factory=list)
    box_tolerance: float = 0.5
    score_tolerance: float = 1e-3
    #: Raw values may also differ by this many float32 ulps of their magnitude, where that exceeds raw_tolerance.
    raw_ulps: int = 0
    #: Worst raw difference divided by its allowed difference (None: raw_max_abs_diff / raw_tolerance).
    raw_ratio: float | None = None

    @property
    def raw_passed(self) -> bool:
        """Whether every raw output value is within its allowed difference."""
        if self.raw_ratio is None:
            return self.raw_max_abs_diff <= self.raw_tolerance
        return self.raw_ratio <= 1.0

    def raw_rule(self) -> str:
        """The raw-output tolerance rule, in words."""
        if not self.raw_ulps:
            return f"tolerance {self.raw_tolerance:.0e}"
        return f"tolerance max({self.raw_tolerance:.0e}, {self.raw_ulps} float32 ulps of the value)"

    @property
    def passed(self) -> bool:
        """Whether every check is within its tolerance."""
        return self.raw_passed and all(image.passed(self.box_tolerance, self.score_tolerance) for image in self.images)

    def summary(self) -> str:
        """A human-readable multi-line summary with the measured numbers."""
        lines = [f"raw head outputs: max abs diff {self.raw_max_abs_diff:.3e} ({self.raw_rule()})"]
        for image in self.images:
            lines.append(
                f"{image.image}: ultralytics {image.reference_count} detections, ours {image.our_count}; "
                f"classes {'equal' if image.classes_match else 'DIFFER'}; max box diff {image.max_box_diff:.4f} px; "
                f"max score diff {image.max_score_diff:.2e}"
            )
        lines.append("PARITY OK" if self.passed else "PARITY FAILED")
        return "\n".join(lines)


#: Default post-processing tolerances (names as in :attr:`TaskImageParity.metrics`).
TOLERANCES = {
    "max_box_diff": 0.5, "max_score_diff": 1e-3, "min_mask_iou": 0.99, "max_keypoint_diff": 0.5,
    "max_corner_diff": 0.5, "max_prob_diff": 1e-4, "pixel_agreement": 0.999, "max_depth_rel_diff": 1e-4,
}
AT_LEAST = {"min_mask_iou", "pixel_agreement"}  # metrics that must be >= their tolerance (others <=)


@dataclass
class TaskImageParity:
    """Post-processed results of one image compared with Ultralytics'.

    Attributes:
        image: File name or description of the image.
        reference_count / our_count: Number of detections (or classes/pixels compared) from Ultralytics / from us.
        labels_match: Same classes (detections), same top-5 (classification); always True for dense tasks.
        metrics: Measured differences, e.g. ``max_box_diff`` (pixels), ``min_mask_iou``, ``max_prob_diff``.
    """

    image: str
    reference_count: int
    our_count: int
    labels_match: bool
    metrics: dict[str, float] = field(default_factory=dict)

    def passed(self, tolerances: dict[str, float]) -> bool:
        """Whether counts, labels and every metric are within ``tolerances``."""
        within = all(
            (value >= tolerances[name]) if name in AT_LEAST else (value <= tolerances[name])
            for name, value in self.metrics.items()
            if name in tolerances
        )
        return self.reference_count == self.our_count and self.labels_match and within

    def describe(self) -> str:
        """One summary line."""
        numbers = "; ".join(f"{name} {value:.4g}" for name, value in self.metrics.items())
        return (f"{self.image}: ultralytics {self.reference_count}, ours {self.our_count}; labels "
                f"{'equal' if self.labels_match else 'DIFFER'}; {numbers}")


@dataclass
class TaskParityReport(ParityReport):
    """Result of :func:`verify_task_conversion` (a :class:`ParityReport` whose images are :class:`TaskImageParity`)."""

    task: str = "detect"
    tolerances: dict[str, float] = field(default_factory=lambda: dict(TOLERANCES))

    @property
    def passed(self) -> bool:
        """Whether every check is within its tolerance."""
        return self.raw_passed and all(i.passed(self.tolerances) for i in self.images)

    def summary(self) -> str:
        """A human-readable multi-line summary with the measured numbers."""
        depth = TASK_SPECS[self.task].parity == "depth"
        kind = "max relative diff" if depth else "max abs diff"
        rule = f"tolerance {self.raw_tolerance:.0e}" if depth else self.raw_rule()
        lines = [f"{self.task} raw head outputs: {kind} {self.raw_max_abs_diff:.3e} ({rule})"]
        lines += [image.describe() for image in self.images]
        lines.append("PARITY OK" if self.passed else "PARITY FAILED")
        return "\n".join(lines)
