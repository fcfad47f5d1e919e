"""The reference side of the parity check: what Ultralytics itself computes for a checkpoint.

Everything here runs Ultralytics' own code: its network on fixed inputs (raw head tensors) and ``YOLO(checkpoint)``'s
predictor on real images, around the network that :mod:`.checkpoint` rebuilt (the file is not unpickled again). :mod:`.parity` compares our model with it.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from ..compat import one_to_one_inference, predict_at_current_threads, yolo_for_network
from ..processing.result_comparison import default_verification_images, read_image_bgr
from ..tasks import TASK_SPECS

__all__ = ["default_verification_images", "read_image_bgr", "load_reference_yolo", "ultralytics_detections",
           "reference_head_outputs", "ultralytics_task_results"]

logger = logging.getLogger(__name__)


def load_reference_yolo(checkpoint, trust: bool):
    """The ``ultralytics.YOLO`` the parity check predicts with; call it inside ``preserved_process_state()``.

    Untrusted (default): a ``YOLO`` around a copy of the network that :mod:`.checkpoint` rebuilt from the validated
    architecture with the pickled weights and plain attributes; the file itself is not read again. Trusted
    (``--trust-checkpoint``): ``YOLO(checkpoint.path)``, Ultralytics' own full unpickling of the file.
    """
    if trust:
        from ultralytics import YOLO

        with _ultralytics_loadable(checkpoint.path) as loadable:
            return YOLO(str(loadable))
    return yolo_for_network(copy.deepcopy(checkpoint.network).float().eval(), checkpoint.train_args, checkpoint.task)


def ultralytics_detections(yolo, image_bgr: np.ndarray, end_to_end: bool) -> dict:
    """``yolo.predict(image)`` with Ultralytics' default settings (``nms=False`` for the end-to-end head)."""
    kwargs = {"nms": False} if end_to_end else {}
    with predict_at_current_threads():  # both sides at one thread count: the same summation order
        result = yolo.predict(image_bgr, verbose=False, device="cpu", **kwargs)[0]
    boxes = result.boxes
    return {
        "boxes": boxes.xyxy.cpu().numpy().astype(np.float64),
        "scores": boxes.conf.cpu().numpy().astype(np.float64),
        "labels": boxes.cls.cpu().numpy().astype(np.int64),
    }


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


def reference_head_outputs(network: torch.nn.Module, pixel_values: torch.Tensor, task: str,
                           end_to_end: bool) -> list[torch.Tensor]:
    """Ultralytics' inference tensors, shaped like ``ultralytics_outputs()`` of our task models."""
    head = network.model[-1]
    if getattr(head, "one2one_cv2", None) is not None:
        head.end2end = end_to_end
    if hasattr(head, "shape"):
        head.shape = None
    out = network(pixel_values.contiguous())  # NCHW, as Ultralytics' own preprocessing makes it
    spec = TASK_SPECS[task]
    if spec.parity == "probabilities":
        return [out[0]]  # (probabilities, logits)
    if spec.parity != "detections":  # class maps, depth
        return [out]
    decoded, raw = out
    tensors = list(decoded) if "masks" in spec.detection_extras else [decoded]  # segment: (predictions, prototypes)
    if end_to_end:  # the pre-top-k tensor of the one-to-one branch
        tensors[0] = one_to_one_inference(head, raw)
    return tensors


def ultralytics_task_results(
    yolo: Any, image_bgr: np.ndarray, task: str, **predict_kwargs: Any
) -> dict[str, np.ndarray]:
    """``yolo.predict(image)`` as plain arrays (segmentation with ``retina_masks=True``)."""
    spec = TASK_SPECS[task]
    if "masks" in spec.detection_extras:
        predict_kwargs.setdefault("retina_masks", True)
    with predict_at_current_threads():  # both sides at one thread count: the same summation order
        result = yolo.predict(image_bgr, verbose=False, device="cpu", **predict_kwargs)[0]
    if spec.parity == "probabilities":
        return {"probs": result.probs.data.double().numpy()}
    if spec.parity == "class_map":
        return {"class_map": result.semantic_mask.data.long().numpy()}
    if spec.parity == "depth":
        return {"depth": result.depth.data.double().numpy()}
    corners = spec.detection_geometry == "corners"
    boxes = result.obb if corners else result.boxes
    out = {"scores": boxes.conf.double().numpy(), "labels": boxes.cls.long().numpy()}
    if corners:
        out["corners"] = boxes.xyxyxyxy.double().numpy().reshape(-1, 8)
    else:
        out["boxes"] = boxes.xyxy.double().numpy()
    if "masks" in spec.detection_extras:
        out["masks"] = result.masks.data.bool().numpy() if result.masks is not None else np.zeros((0, 1, 1), bool)
    if "keypoints" in spec.detection_extras:
        out["keypoints"] = result.keypoints.data.double().numpy()
    return out
