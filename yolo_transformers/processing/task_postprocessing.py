"""The task post-processing methods :class:`~yolo_transformers.YoloImageProcessor` inherits.

Each task's post-processing lives in its own module; this mixin gathers them so one processor class serves every
YOLO task (the model folder's ``preprocessor_config.json`` records which one as ``task``):

* ``post_process_instance_segmentation`` (:mod:`.postprocess_instance_segmentation`), task ``segment``;
* ``post_process_semantic_segmentation`` and ``post_process_depth_estimation`` (:mod:`.postprocess_dense`), tasks
  ``semantic`` and ``depth``;
* ``post_process_pose_estimation`` (:mod:`.postprocess_pose`), task ``pose``;
* ``post_process_oriented_object_detection`` (:mod:`.postprocess_obb`), task ``obb``.

Classification has its own processor, :class:`~yolo_transformers.YoloClassificationImageProcessor`.
"""

from __future__ import annotations

from .postprocess_dense import DensePostProcessing
from .postprocess_segmentation import InstanceSegmentationPostProcessing
from .postprocess_obb import OrientedDetectionPostProcessing
from .postprocess_pose import PosePostProcessing
from .selection import DetectionSelection

__all__ = ["TaskPostProcessingMixin"]


class TaskPostProcessingMixin(
    InstanceSegmentationPostProcessing, DensePostProcessing, PosePostProcessing, OrientedDetectionPostProcessing,
    DetectionSelection,
):
    """Every task-specific ``post_process_*`` method; mixed into :class:`~yolo_transformers.YoloImageProcessor`."""
