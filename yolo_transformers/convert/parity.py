"""Proof that a converted model predicts what the Ultralytics checkpoint predicts.

Two checks, both against Ultralytics itself:

1. Raw head outputs on fixed inputs (a seeded random tensor and the letterboxed verification images): the
   maximum absolute difference must not exceed ``raw_tolerance`` (1e-4 in float32).
2. Post-processed detections on real images: ``YOLO(checkpoint).predict(image)`` with its default settings against
   our processor + model + post-processing: same number of detections and classes, boxes within 0.5 px, scores
   within 1e-3.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ..compat import keep_torch_threads
from ..errors import ParityError

__all__ = ["ImageParity", "ParityReport", "verify_conversion", "default_verification_images", "read_image_bgr"]

logger = logging.getLogger(__name__)


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

    @property
    def passed(self) -> bool:
        """Whether every check is within its tolerance."""
        return self.raw_max_abs_diff <= self.raw_tolerance and all(
            image.passed(self.box_tolerance, self.score_tolerance) for image in self.images
        )

    def summary(self) -> str:
        """A human-readable multi-line summary with the measured numbers."""
        lines = [f"raw head outputs: max abs diff {self.raw_max_abs_diff:.3e} (tolerance {self.raw_tolerance:.0e})"]
        for image in self.images:
            lines.append(
                f"{image.image}: ultralytics {image.reference_count} detections, ours {image.our_count}; "
                f"classes {'equal' if image.classes_match else 'DIFFER'}; max box diff {image.max_box_diff:.4f} px; "
                f"max score diff {image.max_score_diff:.2e}"
            )
        lines.append("PARITY OK" if self.passed else "PARITY FAILED")
        return "\n".join(lines)


def default_verification_images() -> list[Path]:
    """The real photos Ultralytics ships (``bus.jpg``, ``zidane.jpg``)."""
    from ultralytics.utils import ASSETS

    return [p for p in (Path(ASSETS) / "bus.jpg", Path(ASSETS) / "zidane.jpg") if p.is_file()]


def read_image_bgr(path: Path) -> np.ndarray:
    """Read an image as Ultralytics does (OpenCV, BGR uint8)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: not a readable image.")
    return image


def _reference_head_tensor(network: torch.nn.Module, pixel_values: torch.Tensor, end_to_end: bool) -> torch.Tensor:
    """Ultralytics' decoded head tensor ``(B, 4 + nc, anchors)``; for end-to-end heads the one-to-one branch."""
    head = network.model[-1]
    if getattr(head, "one2one_cv2", None) is not None:
        head.end2end = end_to_end
    head.shape = None
    decoded, raw = network(pixel_values.contiguous())  # NCHW, as Ultralytics' own preprocessing makes it
    if end_to_end:
        return head._inference(raw["one2one"])
    return decoded


def _match(reference: dict[str, np.ndarray], ours: dict[str, np.ndarray], name: str) -> ImageParity:
    """Pair each reference detection (by descending score) with our nearest unused detection of the same class."""
    unused = set(range(len(ours["scores"])))
    classes_match = len(reference["scores"]) == len(ours["scores"])
    max_box = max_score = 0.0
    for index in np.argsort(-reference["scores"], kind="stable"):
        candidates = [j for j in unused if ours["labels"][j] == reference["labels"][index]]
        if not candidates:
            classes_match = False
            continue
        distances = [np.abs(ours["boxes"][j] - reference["boxes"][index]).max() for j in candidates]
        best = candidates[int(np.argmin(distances))]
        unused.discard(best)
        max_box = max(max_box, float(min(distances)))
        max_score = max(max_score, float(abs(ours["scores"][best] - reference["scores"][index])))
    return ImageParity(name, len(reference["scores"]), len(ours["scores"]), classes_match, max_box, max_score)


def _load_reference_yolo(checkpoint, trust: bool):
    """``YOLO(checkpoint.path)`` through Ultralytics' restricted loader.

    Ultralytics' restricted loader refuses some checkpoints of its own older releases (8.1-8.2 pickled with dill);
    those are re-saved from the network we already loaded safely, in the current format, and loaded from there.
    """
    from ultralytics import YOLO

    from .checkpoint import ultralytics_safe_loading

    if trust:
        with _ultralytics_loadable(checkpoint.path) as loadable:
            return YOLO(str(loadable))
    try:
        with ultralytics_safe_loading(), _ultralytics_loadable(checkpoint.path) as loadable:
            return YOLO(str(loadable))
    except TypeError as error:
        logger.info("Ultralytics' restricted loader refused %s (%s); re-saving it for the reference run",
                    checkpoint.path.name, error)
    with tempfile.TemporaryDirectory() as folder:
        resaved = Path(folder) / "reference.pt"
        torch.save({"model": copy.deepcopy(checkpoint.network), "train_args": checkpoint.train_args,
                    "date": checkpoint.date, "version": checkpoint.version}, resaved)
        with ultralytics_safe_loading():
            return YOLO(str(resaved))


def _ultralytics_detections(yolo, image_bgr: np.ndarray, end_to_end: bool) -> dict:
    """``yolo.predict(image)`` with Ultralytics' default settings (``nms=False`` for the end-to-end head)."""
    kwargs = {"nms": False} if end_to_end else {}
    with keep_torch_threads():  # Ultralytics resets the process's thread count on every predict
        result = yolo.predict(image_bgr, verbose=False, device="cpu", **kwargs)[0]
    boxes = result.boxes
    return {
        "boxes": boxes.xyxy.cpu().numpy().astype(np.float64),
        "scores": boxes.conf.cpu().numpy().astype(np.float64),
        "labels": boxes.cls.cpu().numpy().astype(np.int64),
    }


@contextlib.contextmanager
def _restore(obj: object, attribute: str, value: object) -> Iterator[None]:
    """Set ``obj.attribute`` back to ``value`` when the block exits."""
    try:
        yield
    finally:
        setattr(obj, attribute, value)


@contextlib.contextmanager
def _ultralytics_loadable(checkpoint: Path) -> Iterator[Path]:
    """A path ``YOLO()`` loads as is: Ultralytics renames local ``yolov5n.pt``-style names to ``yolov5nu.pt``."""
    from ultralytics.utils.checks import check_yolov5u_filename

    if check_yolov5u_filename(str(checkpoint), verbose=False) == str(checkpoint):
        yield checkpoint
        return
    with tempfile.TemporaryDirectory() as folder:
        link = Path(folder) / "checkpoint.pt"
        link.symlink_to(Path(checkpoint).resolve())
        yield link


def _our_detections(model, processor, image_bgr: np.ndarray, threshold: float) -> dict:
    """Our processor + model + post-processing on one image (given as BGR, fed as RGB)."""
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    inputs = processor(images=rgb, return_tensors="pt")
    with torch.no_grad():
        outputs = model(pixel_values=inputs["pixel_values"])
    detection = processor.post_process_object_detection(outputs, threshold, [rgb.shape[:2]])[0]
    return {
        "boxes": detection["boxes"].double().cpu().numpy(),
        "scores": detection["scores"].double().cpu().numpy(),
        "labels": detection["labels"].cpu().numpy().astype(np.int64),
    }


def verify_conversion(
    checkpoint,
    model,
    processor,
    images: Sequence[Path] | None = None,
    *,
    raw_tolerance: float = 1e-4,
    box_tolerance: float = 0.5,
    score_tolerance: float = 1e-3,
    trust_checkpoint: bool = False,
    raise_on_failure: bool = True,
) -> ParityReport:
    """Compare a converted model with its source checkpoint, numerically.

    Args:
        checkpoint: The :class:`~yolo_transformers.convert.checkpoint.UltralyticsCheckpoint` the model came from.
        model: The converted float32 model.
        processor: Its :class:`YoloImageProcessor`.
        images: Real images for the detection check; defaults to Ultralytics' ``bus.jpg`` and ``zidane.jpg``.
        raw_tolerance: Largest allowed absolute difference of raw head outputs.
        box_tolerance: Largest allowed box coordinate difference in pixels.
        score_tolerance: Largest allowed score difference.
        trust_checkpoint: Load the reference without Ultralytics' restricted loader.
        raise_on_failure: Raise :class:`ParityError` if a check fails.

    Returns:
        The :class:`ParityReport` with every measured difference.
    """
    if model.config.task != "detect":  # masks, keypoints, rotated boxes, probabilities, class maps, depth
        from .parity_tasks import verify_task_conversion

        return verify_task_conversion(checkpoint, model, processor, images, raw_tolerance=raw_tolerance,
                                      trust_checkpoint=trust_checkpoint, raise_on_failure=raise_on_failure)
    images = list(images) if images is not None else default_verification_images()
    end_to_end = bool(model.config.end_to_end)
    model = model.eval()
    network = checkpoint.network.float().eval()
    generator = torch.Generator().manual_seed(0)
    height, width = model.config.image_hw
    inputs = [torch.rand(2, model.config.num_channels, height, width, generator=generator)]
    loaded = [(Path(p).name, read_image_bgr(Path(p))) for p in images]
    for _, image in loaded:
        inputs.append(processor(images=np.ascontiguousarray(image[..., ::-1]), return_tensors="pt")["pixel_values"])
    raw_diff = 0.0
    # Raw outputs compare like with like: both networks unfused. (Detections below go through the fused inference
    # path on both sides, as Ultralytics' predictor fuses too.)
    fuse_setting = model.fuse_for_inference
    model.fuse_for_inference = False
    with torch.no_grad(), _restore(model, "fuse_for_inference", fuse_setting):
        for pixel_values in inputs:
            reference = _reference_head_tensor(network, pixel_values, end_to_end)
            ours = model.ultralytics_outputs(pixel_values)
            raw_diff = max(raw_diff, float((reference - ours).abs().max()))
    report = ParityReport(raw_diff, raw_tolerance, box_tolerance=box_tolerance, score_tolerance=score_tolerance)
    threshold = float(model.config.conf_threshold)
    yolo = _load_reference_yolo(checkpoint, trust_checkpoint) if loaded else None
    for name, image in loaded:
        reference = _ultralytics_detections(yolo, image, end_to_end)
        ours = _our_detections(model, processor, image, threshold)
        report.images.append(_match(reference, ours, name))
    logger.info("%s", report.summary())
    if raise_on_failure and not report.passed:
        raise ParityError(f"{checkpoint.path}: converted model does not match Ultralytics.\n{report.summary()}")
    return report
