"""Every Ultralytics task of YOLOv8, YOLO11 and YOLO26 converts, reloads and matches Ultralytics numerically.

Random weights give no detections at the default confidence, so detection-like tasks are compared at a very low
threshold (hundreds of detections) against ``YOLO(checkpoint).predict`` itself, and once more on the very same head
tensor against Ultralytics' own NMS / mask / keypoint functions. Random-weight scores are nearly tied (they all sit
near the class prior), so these comparisons only hold because our inference network computes bit-identical numbers
(see ``YoloPreTrainedModel._inference_network``).
"""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import AutoImageProcessor, AutoModel

from yolo_transformers import (
    YoloClassificationImageProcessor,
    YoloForDepthEstimation,
    YoloForImageClassification,
    YoloForInstanceSegmentation,
    YoloForOrientedObjectDetection,
    YoloForPoseEstimation,
    YoloForSemanticSegmentation,
    YoloImageProcessor,
)
from yolo_transformers.convert.reference import read_image_bgr
from yolo_transformers.convert.parity import compare_task_results, our_task_results
from yolo_transformers.convert.reference import ultralytics_task_results

CLASSES = {
    "segment": YoloForInstanceSegmentation, "pose": YoloForPoseEstimation, "obb": YoloForOrientedObjectDetection,
    "classify": YoloForImageClassification, "semantic": YoloForSemanticSegmentation, "depth": YoloForDepthEstimation,
}
MODELS = [
    ("yolov8n-seg.yaml", "segment"), ("yolo11n-seg.yaml", "segment"), ("yolo26n-seg.yaml", "segment"),
    ("yolov8n-pose.yaml", "pose"), ("yolo11n-pose.yaml", "pose"), ("yolo26n-pose.yaml", "pose"),
    ("yolov8n-obb.yaml", "obb"), ("yolo11n-obb.yaml", "obb"), ("yolo26n-obb.yaml", "obb"),
    ("yolov8n-cls.yaml", "classify"), ("yolo11n-cls.yaml", "classify"), ("yolo26n-cls.yaml", "classify"),
    ("yolo26n-sem.yaml", "semantic"), ("yolo26n-depth.yaml", "depth"),
]
LOW_CONF = 1e-6  # random weights keep the prior class bias (scores ~1e-5): compare hundreds of detections
IMGSZ = 320  # both sides predict at 320 to keep the low-threshold comparisons cheap


def _reference_yolo(checkpoint):
    from ultralytics import YOLO

    from yolo_transformers.compat import ultralytics_safe_loading

    with ultralytics_safe_loading():
        return YOLO(str(checkpoint))


def _low_threshold_parity(result, image_path, end_to_end: bool = False):
    """Ours (reloaded through the Auto classes) against ``YOLO.predict`` at a very low threshold, at 320 px."""
    model = AutoModel.from_pretrained(result.output_dir).eval()
    processor = AutoImageProcessor.from_pretrained(result.output_dir)
    processor.image_size = IMGSZ
    task = model.config.task
    kwargs = {"imgsz": IMGSZ}
    if task in ("segment", "pose", "obb"):
        kwargs["conf"] = LOW_CONF
    if end_to_end:
        kwargs["nms"] = False
    image = read_image_bgr(image_path)
    reference = ultralytics_task_results(_reference_yolo(result.checkpoint.path), image, task, **kwargs)
    ours = our_task_results(model, processor, image, LOW_CONF)
    return compare_task_results(reference, ours, task, "bus-crop")


def _assert_parity(parity, task: str) -> None:
    metrics = parity.metrics
    assert parity.labels_match and parity.reference_count == parity.our_count, parity.describe()
    if task in ("segment", "pose", "obb"):
        assert parity.reference_count >= 20, parity.describe()
        assert metrics["max_score_diff"] <= 1e-3 and metrics["matched_fraction"] == 1.0, parity.describe()
    if task == "segment":
        assert metrics["min_mask_iou"] >= 0.99 and metrics["max_box_diff"] <= 0.5, parity.describe()
    elif task == "pose":
        assert metrics["max_keypoint_diff"] <= 0.5 and metrics["max_box_diff"] <= 0.5, parity.describe()
    elif task == "obb":
        assert metrics["max_corner_diff"] <= 0.5, parity.describe()
    elif task == "classify":
        assert metrics["max_prob_diff"] <= 1e-4, parity.describe()
    elif task == "semantic":
        assert metrics["pixel_agreement"] >= 0.999, parity.describe()
    elif task == "depth":
        assert metrics["max_depth_rel_diff"] <= 1e-4, parity.describe()


@pytest.mark.parametrize(("model_yaml", "task"), MODELS)
def test_task_converts_reloads_and_matches_ultralytics(model_yaml, task, converted_task_model, small_image):
    result = converted_task_model(model_yaml)
    assert result.report.passed, result.report.summary()
    assert result.report.raw_max_abs_diff <= 1e-4
    assert type(result.model) is CLASSES[task] and result.model.config.task == task
    assert result.model.config.architectures == [CLASSES[task].__name__]
    reloaded = AutoModel.from_pretrained(result.output_dir).eval()
    assert type(reloaded) is CLASSES[task]
    processor = AutoImageProcessor.from_pretrained(result.output_dir)
    expected = YoloClassificationImageProcessor if task == "classify" else YoloImageProcessor
    assert type(processor) is expected and processor.task == task
    assert getattr(processor, "scale_fill", False) is (task == "depth")
    rgb = read_image_bgr(small_image)[..., ::-1].copy()
    pixel_values = processor(images=rgb, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        for ours, theirs in zip(reloaded(pixel_values).to_tuple(), result.model(pixel_values).to_tuple()):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    _assert_parity(_low_threshold_parity(result, small_image), task)


@pytest.mark.parametrize("model_yaml", ["yolo26n-seg.yaml", "yolo26n-pose.yaml", "yolo26n-obb.yaml"])
def test_end_to_end_task_heads_match_ultralytics_nms_free_predict(model_yaml, converted_task_model, small_image):
    result = converted_task_model(model_yaml, end_to_end=True)
    assert result.model.config.end_to_end and result.processor.end_to_end
    assert result.report.passed, result.report.summary()
    parity = _low_threshold_parity(result, small_image, end_to_end=True)
    assert parity.reference_count == 300  # the one-to-one head keeps its top 300 above the threshold
    _assert_parity(parity, result.model.config.task)


# ------------------------------------------------------------------ same head tensor, Ultralytics' own functions
def _inputs(result, image_path):
    processor = copy.deepcopy(result.processor)
    processor.image_size = IMGSZ
    rgb = read_image_bgr(image_path)[..., ::-1].copy()
    return processor, rgb, processor(images=rgb, return_tensors="pt")["pixel_values"]


def test_instance_masks_equal_ultralytics_functions_on_the_same_tensor(converted_task_model, small_image):
    from ultralytics.utils import nms, ops

    result = converted_task_model("yolo11n-seg.yaml")
    processor, rgb, pixel_values = _inputs(result, small_image)
    with torch.no_grad():
        outputs = result.model(pixel_values)
        prediction, prototypes = result.model.ultralytics_outputs(pixel_values)
    ours = processor.post_process_instance_segmentation(outputs, LOW_CONF, [rgb.shape[:2]])[0]
    kept = nms.non_max_suppression(prediction, LOW_CONF, 0.7, max_det=300, nc=result.model.config.num_labels,
                                   max_time_img=1e9)[0]
    boxes = ops.scale_boxes(pixel_values.shape[2:], kept[:, :4].clone(), rgb.shape[:2])
    masks = ops.process_mask_native(prototypes[0], kept[:, 6:], boxes, rgb.shape[:2]).bool()
    present = masks.flatten(1).any(1)
    assert len(ours["scores"]) == int(present.sum()) >= 20
    torch.testing.assert_close(ours["scores"], kept[present, 4], rtol=0, atol=1e-6)
    torch.testing.assert_close(ours["boxes"], boxes[present], rtol=0, atol=1e-3)
    assert torch.equal(ours["masks"], masks[present])
    segmentation = ours["segmentation"]
    assert segmentation.shape == rgb.shape[:2] and int(segmentation.max()) < len(ours["scores"])
    for info in ours["segments_info"]:  # every listed segment owns pixels of its own mask only
        assert bool(ours["masks"][info["id"]][segmentation == info["id"]].all())


def test_keypoints_equal_ultralytics_functions_on_the_same_tensor(converted_task_model, small_image):
    from ultralytics.utils import nms, ops

    result = converted_task_model("yolo11n-pose.yaml")
    processor, rgb, pixel_values = _inputs(result, small_image)
    with torch.no_grad():
        outputs = result.model(pixel_values)
        prediction = result.model.ultralytics_outputs(pixel_values)
    ours = processor.post_process_pose_estimation(outputs, LOW_CONF, [rgb.shape[:2]])[0]
    kept = nms.non_max_suppression(prediction, LOW_CONF, 0.7, max_det=300, nc=result.model.config.num_labels,
                                   max_time_img=1e9)[0]
    keypoints = ops.scale_coords(pixel_values.shape[2:], kept[:, 6:].view(len(kept), 17, 3).clone(), rgb.shape[:2])
    assert len(ours["scores"]) == len(kept) >= 100
    torch.testing.assert_close(ours["scores"], kept[:, 4], rtol=0, atol=1e-6)
    torch.testing.assert_close(ours["keypoints"], keypoints, rtol=0, atol=1e-3)
    assert ours["keypoints"][..., 0].max() <= rgb.shape[1] and ours["keypoints"][..., 1].max() <= rgb.shape[0]


def test_rotated_boxes_equal_ultralytics_functions_on_the_same_tensor(converted_task_model, small_image):
    from ultralytics.utils import nms, ops

    result = converted_task_model("yolo11n-obb.yaml")
    processor, rgb, pixel_values = _inputs(result, small_image)
    with torch.no_grad():
        outputs = result.model(pixel_values)
        prediction = result.model.ultralytics_outputs(pixel_values)
    ours = processor.post_process_oriented_object_detection(outputs, LOW_CONF, [rgb.shape[:2]])[0]
    kept = nms.non_max_suppression(prediction, LOW_CONF, 0.7, max_det=300, nc=result.model.config.num_labels,
                                   rotated=True, max_time_img=1e9)[0]
    rboxes = torch.cat((ops.scale_boxes(pixel_values.shape[2:], kept[:, :4].clone(), rgb.shape[:2], xywh=True),
                        kept[:, -1:]), dim=-1)
    assert len(ours["scores"]) == len(kept) >= 20
    torch.testing.assert_close(ours["scores"], kept[:, 4], rtol=0, atol=1e-6)
    torch.testing.assert_close(ours["rotated_boxes"], rboxes, rtol=0, atol=1e-3)
    torch.testing.assert_close(ours["corners"], ops.xywhr2xyxyxyxy(rboxes), rtol=0, atol=1e-3)
    envelope = ours["boxes"]
    assert (envelope[:, :2] <= ours["corners"].amin(1) + 1e-6).all()
    assert (envelope[:, 2:] >= ours["corners"].amax(1) - 1e-6).all()
