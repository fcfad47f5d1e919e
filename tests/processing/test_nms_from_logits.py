"""NMS from raw logits (sigmoid only of the anchors that can pass) keeps exactly what NMS on the full sigmoid keeps."""

from __future__ import annotations

import pytest
import torch

from yolo_transformers.processing.nms import (
    non_max_suppression,
    non_max_suppression_from_logits,
    rotated_non_max_suppression,
)


def _logits_and_boxes(seed: int, batch: int = 3, anchors: int = 2000, classes: int = 20, box_dim: int = 4):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, anchors, classes, generator=generator) * 3 - 2  # ~25% of anchors above 0.25
    centres = torch.rand(batch, anchors, 2, generator=generator) * 600
    sizes = torch.rand(batch, anchors, 2, generator=generator) * 80 + 4
    boxes = torch.cat((centres - sizes / 2, centres + sizes / 2), -1)
    if box_dim == 5:  # rotated (cx, cy, w, h, angle)
        boxes = torch.cat((centres, sizes, torch.rand(batch, anchors, 1, generator=generator)), -1)
    return logits, boxes


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    assert sum(len(k.indices) for k in theirs) > 0
    for a, b in zip(ours, theirs):
        assert torch.equal(a.indices, b.indices) and torch.equal(a.labels, b.labels) and torch.equal(a.scores, b.scores)


@pytest.mark.parametrize("conf, agnostic, max_nms", [(0.25, False, 30000), (0.001, True, 30000), (0.5, False, 100)])
def test_from_logits_equals_nms_on_probabilities(conf, agnostic, max_nms):
    logits, boxes = _logits_and_boxes(0)
    theirs = non_max_suppression(logits.sigmoid(), boxes, conf, 0.7, 300, agnostic, max_nms)
    ours = non_max_suppression_from_logits(logits, boxes, conf, 0.7, 300, agnostic, max_nms)
    _assert_same(ours, theirs)


def test_from_logits_rotated_and_nothing_passing():
    logits, rboxes = _logits_and_boxes(1, box_dim=5)
    theirs = rotated_non_max_suppression(logits.sigmoid(), rboxes, 0.25, 0.7, 300)
    _assert_same(non_max_suppression_from_logits(logits, rboxes, 0.25, 0.7, 300, nms=rotated_non_max_suppression),
                 theirs)
    nothing = non_max_suppression_from_logits(torch.full((2, 50, 3), -20.0), torch.rand(2, 50, 4), 0.25, 0.7, 300)
    assert [len(k.indices) for k in nothing] == [0, 0] and nothing[0].indices.dtype == torch.int64


def test_from_logits_bad_shapes_and_thresholds_raise_like_nms():
    with pytest.raises(ValueError, match=r"\(B, A, 4\)"):
        non_max_suppression_from_logits(torch.zeros(1, 10, 3), torch.zeros(1, 9, 4), 0.25, 0.7, 300)
    with pytest.raises(ValueError, match="Confidence threshold"):
        non_max_suppression_from_logits(torch.zeros(1, 10, 3), torch.zeros(1, 10, 4), 1.5, 0.7, 300)
