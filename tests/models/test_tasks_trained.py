"""Really trained task models (seconds of CPU training, cached): classification, pose and instance segmentation.

Random weights keep BatchNorm at its initial statistics and every score near its prior; trained weights exercise
what they do not (the classifier's BatchNorm settings, confident masks, keypoint names from the dataset).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoImageProcessor, AutoModel, pipeline

from yolo_transformers import YoloClassificationImageProcessor, YoloForImageClassification, YoloForPoseEstimation
from yolo_transformers.convert.reference import read_image_bgr
from yolo_transformers.convert.parity import compare_task_results, our_task_results
from yolo_transformers.convert.reference import ultralytics_task_results


def _reference_yolo(checkpoint):
    from ultralytics import YOLO

    from yolo_transformers.compat import ultralytics_safe_loading

    with ultralytics_safe_loading():
        return YOLO(str(checkpoint))


@pytest.fixture(scope="module")
def classifier(converted_task_model, trained_task_checkpoint, trained_task_images):
    images = trained_task_images("classify")
    return converted_task_model(trained_task_checkpoint("classify"), images=images[:3]), images


def test_trained_classifier_converts_with_exact_probabilities(classifier):
    result, _ = classifier
    report = result.report
    assert report.passed, report.summary()
    assert report.raw_max_abs_diff <= 1e-4
    assert all(image.metrics["max_prob_diff"] <= 1e-4 and image.labels_match for image in report.images)
    assert result.model.config.id2label == {0: "circle", 1: "square", 2: "triangle"}
    processor = AutoImageProcessor.from_pretrained(result.output_dir)
    assert type(processor) is YoloClassificationImageProcessor and processor.input_shape() == (64, 64)
    # Ultralytics' classifiers keep PyTorch's BatchNorm settings (it never re-initialises them)
    assert {m.eps for m in result.model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-5}


def test_image_classification_pipeline_agrees_with_ultralytics_top5(classifier):
    from PIL import Image

    result, images = classifier
    classify = pipeline("image-classification", model=str(result.output_dir))
    assert isinstance(classify.model, YoloForImageClassification)
    yolo = _reference_yolo(result.checkpoint.path)
    processor = classify.image_processor
    for path in images[:6]:
        reference = yolo.predict(read_image_bgr(path), verbose=False, device="cpu")[0].probs
        predicted = classify(Image.open(path))
        assert [p["label"] for p in predicted] == [yolo.names[i] for i in reference.top5]
        np.testing.assert_allclose([p["score"] for p in predicted], reference.data[reference.top5].numpy(), atol=1e-4)
        with torch.no_grad():
            outputs = classify.model(**processor(images=Image.open(path), return_tensors="pt"))
        top = processor.post_process_image_classification(outputs)[0]
        assert top["labels"].tolist() == list(reference.top5)


def test_trained_pose_model_keeps_keypoint_shape_and_names(
    converted_task_model, trained_task_checkpoint, trained_task_images
):
    result = converted_task_model(trained_task_checkpoint("pose"), images=trained_task_images("pose")[:2])
    assert result.report.passed, result.report.summary()
    config = AutoModel.from_pretrained(result.output_dir).config
    assert config.kpt_shape == [4, 3] and config.architecture["kpt_shape"] == [4, 3]
    assert config.keypoint_names == [["0", "1", "2", "3"]] * 3  # Ultralytics' default names for unnamed keypoints
    model = YoloForPoseEstimation.from_pretrained(result.output_dir).eval()
    processor = AutoImageProcessor.from_pretrained(result.output_dir)
    total = 0
    for path in trained_task_images("pose")[:4]:
        image = read_image_bgr(path)
        reference = ultralytics_task_results(_reference_yolo(result.checkpoint.path), image, "pose", conf=1e-4)
        ours = our_task_results(model, processor, image, 1e-4)
        parity = compare_task_results(reference, ours, "pose", path.name)
        assert parity.passed({"max_box_diff": 0.5, "max_score_diff": 1e-3, "max_keypoint_diff": 0.5}), parity.describe()
        assert ours["keypoints"].shape[1:] == (4, 3)
        total += parity.reference_count
    assert total >= 5


def test_trained_segmentation_masks_match_ultralytics(
    converted_task_model, trained_task_checkpoint, trained_task_images
):
    images = trained_task_images("segment")
    result = converted_task_model(trained_task_checkpoint("segment"), images=images[:2])
    assert result.report.passed, result.report.summary()
    yolo = _reference_yolo(result.checkpoint.path)
    total = 0
    for path in images[:4]:
        image = read_image_bgr(path)
        reference = ultralytics_task_results(yolo, image, "segment", conf=0.001)
        ours = our_task_results(result.model, result.processor, image, 0.001)
        parity = compare_task_results(reference, ours, "segment", path.name)
        assert parity.passed({"max_box_diff": 0.5, "max_score_diff": 1e-3, "min_mask_iou": 0.99}), parity.describe()
        assert ours["masks"].shape[1:] == image.shape[:2]  # retina masks: the original image size
        total += parity.reference_count
    assert total >= 5


def test_mask_threshold_is_a_probability_cut(converted_task_model, trained_task_checkpoint, trained_task_images):
    images = trained_task_images("segment")
    result = converted_task_model(trained_task_checkpoint("segment"), images=images[:2])
    rgb = np.ascontiguousarray(read_image_bgr(images[0])[..., ::-1])
    with torch.no_grad():
        outputs = result.model(**result.processor(images=rgb, return_tensors="pt"))
    post = result.processor.post_process_instance_segmentation
    default = post(outputs, 0.001, [rgb.shape[:2]])[0]
    strict = post(outputs, 0.001, [rgb.shape[:2]], mask_threshold=0.7)[0]
    loose = post(outputs, 0.001, [rgb.shape[:2]], mask_threshold=0.3)[0]
    assert len(default["masks"]) > 0
    assert strict["masks"].sum() < default["masks"].sum() < loose["masks"].sum()
    binary = post(outputs, 0.001, [rgb.shape[:2]], return_binary_maps=True)[0]
    assert torch.equal(binary["segmentation"], default["masks"])
