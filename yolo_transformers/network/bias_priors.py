"""Ultralytics' prior biases of the detection heads, attached to the convolutions they initialise.

Ultralytics' ``Detect.bias_init`` (shared by ``Segment``, ``Pose``, ``OBB``, ``v10Detect`` and their YOLO26 variants)
sets every box-regression output bias to 2.0 and every class output bias to ``log(5 / nc / (640 / stride) ** 2)``
(about 0.01 objects per class in a 640-pixel image), on the one-to-many and the one-to-one branch. transformers
initialises a model module by module and, for a model defined outside its code base, skips modules without
parameters of their own: the head itself. So the prior is attached to each output convolution here (a plain
attribute, not saved), and the model's ``_init_weights`` applies it when it initialises that convolution: at
random initialisation, and when ``from_pretrained(..., ignore_mismatched_sizes=True)`` re-initialises the class
layers for new classes.
"""

from __future__ import annotations

import logging
import math

from torch import nn

__all__ = ["BIAS_PRIOR", "attach_bias_priors"]

logger = logging.getLogger(__name__)

#: Name of the attribute holding a convolution's prior bias (a float).
BIAS_PRIOR = "yolo_bias_prior"

_BOX_PRIOR = 2.0


def _uses_detect_priors(head: nn.Module) -> bool:
    """Whether ``head`` initialises its biases with ``Detect.bias_init`` itself (not a YOLO-World/YOLOE variant)."""
    from ultralytics.nn.modules.head import Detect

    return isinstance(head, Detect) and type(head).bias_init is Detect.bias_init


def attach_bias_priors(head: nn.Module) -> int:
    """Attach Ultralytics' prior bias to the output convolutions of a ``Detect``-family head.

    Args:
        head: The network's last layer; other heads (``Classify``, ``SemanticSegment``, ``Depth``) keep PyTorch's
            default initialisation, as in Ultralytics.

    Returns:
        How many convolutions got a prior (0 for heads without one).
    """
    if not _uses_detect_priors(head):
        return 0
    marked = 0
    for box_name, cls_name in (("cv2", "cv3"), ("one2one_cv2", "one2one_cv3")):
        box_branches, cls_branches = getattr(head, box_name, None), getattr(head, cls_name, None)
        if box_branches is None or cls_branches is None:
            continue
        for level, (box_branch, cls_branch) in enumerate(zip(box_branches, cls_branches)):
            stride = float(head.stride[level])
            setattr(box_branch[-1], BIAS_PRIOR, _BOX_PRIOR)
            setattr(cls_branch[-1], BIAS_PRIOR, math.log(5 / head.nc / (640 / stride) ** 2))
            marked += 2
    logger.debug("attached prior biases to %d convolutions of %s", marked, type(head).__name__)
    return marked
