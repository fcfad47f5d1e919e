"""transformers pipelines and Auto classes for the task models, and the processor's task-specific surface."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    AutoModelForDepthEstimation,
    AutoModelForImageClassification,
    AutoModelForImageSegmentation,
    AutoModelForInstanceSegmentation,
    AutoModelForObjectDetection,
    AutoModelForSemanticSegmentation,
    pipeline,
)

from yolo_transformers import (
    TaskMismatchError,
    YoloForDepthEstimation,
    YoloForImageClassification,
    YoloForInstanceSegmentation,
    YoloForOrientedObjectDetection,
    YoloForSemanticSegmentation,
    YoloImageProcessor,
)
from yolo_transformers.convert.reference import read_image_bgr
from yolo_transformers.convert.reference import ultralytics_task_results


def _reference(result, image_bgr, **kwargs):
    from ultralytics import YOLO

    from yolo_transformers.compat import ultralytics_safe_loading

    with ultralytics_safe_loading():
        yolo = YOLO(str(result.checkpoint.path))
    return ultralytics_task_results(yolo, image_bgr, result.model.config.task, **kwargs)


@pytest.mark.parametrize(
    ("auto_class", "model_yaml", "expected"),
    [
        (AutoModelForSemanticSegmentation, "yolo26n-sem.yaml", YoloForSemanticSegmentation),
        (AutoModelForImageSegmentation, "yolo26n-sem.yaml", YoloForSemanticSegmentation),
        (AutoModelForImageSegmentation, "yolo11n-seg.yaml", YoloForInstanceSegmentation),
        (AutoModelForInstanceSegmentation, "yolo11n-seg.yaml", YoloForInstanceSegmentation),
        (AutoModelForDepthEstimation, "yolo26n-depth.yaml", YoloForDepthEstimation),
        (AutoModelForImageClassification, "yolo11n-cls.yaml", YoloForImageClassification),
    ],
)
def test_auto_classes_load_the_task_class(auto_class, model_yaml, expected, converted_task_model):
    assert type(auto_class.from_pretrained(converted_task_model(model_yaml).output_dir)) is expected


def test_object_detection_pipeline_serves_oriented_boxes_as_their_envelopes(converted_task_model, small_image):
    result = converted_task_model("yolov8n-obb.yaml")
    assert type(AutoModelForObjectDetection.from_pretrained(result.output_dir)) is YoloForOrientedObjectDetection
    detector = pipeline("object-detection", model=str(result.output_dir))
    detections = detector(Image.open(small_image), threshold=1e-6)
    reference = _reference(result, read_image_bgr(small_image), conf=1e-6)
    corners = reference["corners"].reshape(-1, 4, 2)
    envelopes = np.concatenate((corners.min(1), corners.max(1)), axis=1)  # Ultralytics' obb.xyxy
    assert len(detections) == len(envelopes) >= 20
    for detection, envelope, label in zip(detections, envelopes, reference["labels"]):
        box = detection["box"]
        assert [box["xmin"], box["ymin"], box["xmax"], box["ymax"]] == [int(v) for v in envelope]  # the pipeline int()s
        assert detection["label"] == result.model.config.id2label[int(label)]


def test_a_detector_folder_is_not_loaded_as_another_task(converted_task_model):
    with pytest.raises(TaskMismatchError, match="'obb' model"):
        AutoModelForImageClassification.from_pretrained(converted_task_model("yolo11n-obb.yaml").output_dir)


def test_semantic_segmentation_pipeline_matches_ultralytics_class_map(converted_task_model, small_image):
    result = converted_task_model("yolo26n-sem.yaml")
    segmenter = pipeline("image-segmentation", model=str(result.output_dir))
    assert isinstance(segmenter.model, YoloForSemanticSegmentation)
    assert not hasattr(segmenter.image_processor, "post_process_instance_segmentation")
    annotations = segmenter(Image.open(small_image))
    class_map = _reference(result, read_image_bgr(small_image))["class_map"]
    assert {a["label"] for a in annotations} == {result.model.config.id2label[c] for c in np.unique(class_map)}
    label2id = result.model.config.label2id
    for annotation in annotations:
        mask = np.asarray(annotation["mask"]) > 0
        assert annotation["score"] is None and mask.shape == class_map.shape
        assert (mask == (class_map == label2id[annotation["label"]])).mean() >= 0.999


def test_instance_segmentation_pipeline_lists_non_overlapping_instances(converted_task_model, small_image):
    result = converted_task_model("yolo11n-seg.yaml")
    segmenter = pipeline("image-segmentation", model=str(result.output_dir))
    assert isinstance(segmenter.model, YoloForInstanceSegmentation)
    annotations = segmenter(Image.open(small_image), threshold=1e-6)
    reference = _reference(result, read_image_bgr(small_image), conf=1e-6)
    assert 5 <= len(annotations) <= len(reference["scores"])
    covered = np.zeros(reference["masks"].shape[1:], dtype=int)
    for annotation in annotations:
        mask = np.asarray(annotation["mask"]) > 0
        same_score = np.flatnonzero(np.abs(reference["scores"] - annotation["score"]) <= 5e-7)  # rounded to 1e-6
        # a visible part of the mask Ultralytics gives an instance of that score
        assert any(not (mask & ~reference["masks"][i]).any() for i in same_score)
        covered += mask
    assert covered.max() == 1  # the pipeline's contract: one segment per pixel


def test_depth_estimation_pipeline_matches_ultralytics_depth(converted_task_model, small_image):
    result = converted_task_model("yolo26n-depth.yaml")
    estimator = pipeline("depth-estimation", model=str(result.output_dir))
    assert isinstance(estimator.model, YoloForDepthEstimation)
    output = estimator(Image.open(small_image))
    reference = _reference(result, read_image_bgr(small_image))["depth"]
    depth = output["predicted_depth"].double().numpy()
    assert depth.shape == reference.shape and output["depth"].size == reference.shape[::-1]
    assert np.max(np.abs(depth - reference) / np.abs(reference)) <= 1e-4


@pytest.mark.parametrize(
    ("task", "present", "absent"),
    [
        ("segment", "post_process_instance_segmentation", "post_process_semantic_segmentation"),
        ("semantic", "post_process_semantic_segmentation", "post_process_instance_segmentation"),
        ("depth", "post_process_depth_estimation", "post_process_pose_estimation"),
        ("pose", "post_process_pose_estimation", "post_process_oriented_object_detection"),
        ("obb", "post_process_oriented_object_detection", "post_process_depth_estimation"),
        ("detect", "post_process_object_detection", "post_process_instance_segmentation"),
    ],
)
def test_processor_offers_only_its_tasks_post_processing(task, present, absent, tmp_path):
    processor = YoloImageProcessor(task=task)
    assert hasattr(processor, present) and not hasattr(processor, absent)
    with pytest.raises(AttributeError, match=f"of a '{task}' model has no {absent}"):
        getattr(processor, absent)
    processor.save_pretrained(tmp_path)
    reloaded = YoloImageProcessor.from_pretrained(tmp_path)
    assert reloaded.task == task and not hasattr(reloaded, absent)
    assert hasattr(YoloImageProcessor(), absent)  # a processor without a task keeps every method


def _pixel_values(processor, images):
    return processor(images=[np.ascontiguousarray(read_image_bgr(i)[..., ::-1]) for i in images], return_tensors="pt")


def _assert_same_result(single, batched, task: str) -> None:
    """One image's post-processing result equals its entry of the batch: same detections, same numbers."""
    if task == "semantic":  # a class map
        assert single.shape == batched.shape and torch.equal(single, batched)
        return
    assert single.keys() == batched.keys()
    if "scores" in single:
        assert len(single["scores"]) == len(batched["scores"]) >= 20  # a real comparison, not of two empty lists
        assert torch.equal(single["labels"], batched["labels"])
    for key, value in single.items():
        other = batched[key]
        if key == "segments_info":  # ids, labels and scores rounded to 1e-6
            assert value == other
        elif key == "scores":
            torch.testing.assert_close(value, other, rtol=0, atol=1e-5)
        elif key == "predicted_depth":
            torch.testing.assert_close(value, other, rtol=1e-5, atol=1e-5)
        elif value.is_floating_point():  # boxes, rotated boxes, corners, keypoints: pixels
            torch.testing.assert_close(value, other, rtol=0, atol=1e-4)
        else:  # labels, masks, segmentation maps
            assert value.shape == other.shape and torch.equal(value, other), key


@pytest.mark.parametrize(
    "model_yaml",
    ["yolo11n-seg.yaml", "yolo26n-sem.yaml", "yolo26n-depth.yaml", "yolo11n-pose.yaml", "yolo26n-obb.yaml"],
)
def test_batched_post_processing_equals_single_images(model_yaml, tmp_path, converted_task_model, small_image):
    result = converted_task_model(model_yaml)
    processor = copy.deepcopy(result.processor)
    processor.image_size = 320
    # A batch of mixed sizes is always letterboxed to the full 320×320 square (as Ultralytics' predictor pads it),
    # while one image alone would be padded only to a stride multiple: a different network input, hence different
    # detections. Full padding in both paths gives every image the very same input tensor alone and in the batch.
    processor.minimal_padding = False
    other = tmp_path / "small.png"
    Image.open(small_image).resize((200, 150)).save(other)
    images, task = [small_image, other], result.model.config.task
    method = {"segment": "post_process_instance_segmentation", "semantic": "post_process_semantic_segmentation",
              "depth": "post_process_depth_estimation", "pose": "post_process_pose_estimation",
              "obb": "post_process_oriented_object_detection"}[task]
    sizes = [Image.open(i).size[::-1] for i in images]
    # random weights keep every score near the class prior (~1e-5): 1e-3 would keep nothing and compare empty lists
    kwargs = {} if task in ("semantic", "depth") else {"threshold": 1e-6}
    batch_inputs = _pixel_values(processor, images)
    with torch.no_grad():
        batched = getattr(processor, method)(result.model(**batch_inputs), target_sizes=sizes, **kwargs)
        assert len(batched) == len(images)
        for index, (image, size, expected) in enumerate(zip(images, sizes, batched)):
            single_inputs = _pixel_values(processor, [image])
            assert torch.equal(single_inputs["pixel_values"], batch_inputs["pixel_values"][index:index + 1])
            single = getattr(processor, method)(result.model(**single_inputs), target_sizes=[size], **kwargs)[0]
            if task in ("semantic", "depth"):  # maps come back at the original image size
                assert (single if task == "semantic" else single["predicted_depth"]).shape == size
            _assert_same_result(single, expected, task)


def test_outputs_without_target_sizes_stay_at_the_network_input_size(converted_task_model, small_image):
    for model_yaml in ("yolo11n-seg.yaml", "yolo26n-sem.yaml", "yolo26n-depth.yaml"):
        result = converted_task_model(model_yaml)
        inputs = _pixel_values(result.processor, [small_image])
        input_size = tuple(inputs["pixel_values"].shape[-2:])
        with torch.no_grad():
            outputs = result.model(**inputs)
        task = result.model.config.task
        if task == "segment":
            post = result.processor.post_process_instance_segmentation
            masks = post(outputs, 1e-6, input_size=input_size)[0]["masks"]
            assert masks.shape[1:] == input_size and len(masks) > 0
        elif task == "semantic":
            class_map = result.processor.post_process_semantic_segmentation(outputs, input_size=input_size)[0]
            assert class_map.shape == input_size
        else:
            depth = result.processor.post_process_depth_estimation(outputs, input_size=input_size)[0]["predicted_depth"]
            assert depth.shape == input_size
