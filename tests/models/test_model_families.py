"""Every Ultralytics detection family converts, saves, reloads and matches Ultralytics numerically."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo_transformers import YoloForObjectDetection, YoloImageProcessor
from yolo_transformers.convert import convert_checkpoint
from yolo_transformers.convert.reference import default_verification_images, read_image_bgr

FAMILIES = [
    "yolov3-tiny.yaml",  # YOLOv3u at the t scale
    "yolov5n.yaml",
    "yolov8n.yaml",
    "yolov9t.yaml",
    "yolov10n.yaml",
    "yolo11n.yaml",
    "yolo12n.yaml",
    "yolo26n.yaml",
]
LOW_CONF = 1e-6  # random weights keep the prior bias (scores ~1e-5): compare hundreds of detections, not none


def _ultralytics_predict(checkpoint, image_bgr, **kwargs):
    from ultralytics import YOLO

    from yolo_transformers.compat import ultralytics_safe_loading

    with ultralytics_safe_loading():
        yolo = YOLO(str(checkpoint))
    boxes = yolo.predict(image_bgr, verbose=False, device="cpu", **kwargs)[0].boxes
    return boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int)


def _ultralytics_postprocess(model, pixel_values, original_hw, conf):
    """Ultralytics' own NMS / top-k and scale_boxes applied to our model's head tensor."""
    from ultralytics.utils import nms, ops

    head = model.model.model[-1]
    with torch.no_grad():
        prediction = model.ultralytics_outputs(pixel_values)
        if model.config.end_to_end:
            prediction = head.postprocess(prediction.permute(0, 2, 1))
    kept = nms.non_max_suppression(prediction, conf, 0.7, max_det=300, end2end=model.config.end_to_end,
                                   max_time_img=1e9)[0]
    boxes = ops.scale_boxes(pixel_values.shape[2:], kept[:, :4].clone(), original_hw)
    return boxes.numpy(), kept[:, 4].numpy(), kept[:, 5].numpy().astype(int)


def _ours(model, processor, image_bgr, threshold):
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    inputs = processor(images=rgb, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    result = processor.post_process_object_detection(outputs, threshold, [rgb.shape[:2]])[0]
    return result["boxes"].numpy(), result["scores"].numpy(), result["labels"].numpy()


def _assert_same_detections(ours, reference, *, box_atol=0.5, score_atol=1e-3):
    boxes, scores, labels = ours
    ref_boxes, ref_scores, ref_labels = reference
    assert len(scores) == len(ref_scores) > 0
    order, ref_order = np.lexsort((-scores, labels)), np.lexsort((-ref_scores, ref_labels))
    np.testing.assert_array_equal(labels[order], ref_labels[ref_order])
    np.testing.assert_allclose(scores[order], ref_scores[ref_order], atol=score_atol)
    np.testing.assert_allclose(boxes[order], ref_boxes[ref_order], atol=box_atol)


def _check_post_processing(model, processor, image_bgr):
    """Hundreds of low-score detections: our NMS/top-k + un-letterbox against Ultralytics' on the same tensor."""
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    pixel_values = processor(images=rgb, return_tensors="pt")["pixel_values"]
    reference = _ultralytics_postprocess(model, pixel_values, rgb.shape[:2], LOW_CONF)
    assert len(reference[1]) >= 50
    _assert_same_detections(_ours(model, processor, image_bgr, LOW_CONF), reference, box_atol=1e-3, score_atol=1e-6)


@pytest.mark.parametrize("model_yaml", FAMILIES)
def test_family_converts_and_matches_ultralytics(model_yaml, yaml_checkpoint, tmp_path):
    checkpoint = yaml_checkpoint(model_yaml)
    image = default_verification_images()[0]
    result = convert_checkpoint(checkpoint, tmp_path / "hf", verify_images=[image])
    assert result.report.passed
    assert result.report.raw_max_abs_diff <= 1e-4
    assert {p.name for p in (tmp_path / "hf").iterdir()} >= {
        "config.json", "model.safetensors", "preprocessor_config.json"}

    model = YoloForObjectDetection.from_pretrained(tmp_path / "hf").eval()
    processor = YoloImageProcessor.from_pretrained(tmp_path / "hf")
    pixel_values = torch.rand(1, 3, 256, 320, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(pixel_values).logits, result.model(pixel_values).logits, rtol=0, atol=0)
    _check_post_processing(model, processor, read_image_bgr(image))


@pytest.mark.parametrize("model_yaml", ["yolov10n.yaml", "yolo26n.yaml"])
def test_end_to_end_head_needs_no_nms(model_yaml, yaml_checkpoint, tmp_path):
    checkpoint = yaml_checkpoint(model_yaml)
    image = default_verification_images()[1]
    result = convert_checkpoint(checkpoint, tmp_path / "e2e", end_to_end=True, verify_images=[image])
    assert result.model.config.end_to_end and result.processor.end_to_end
    assert result.report.passed and result.report.raw_max_abs_diff <= 1e-4
    reloaded = YoloForObjectDetection.from_pretrained(tmp_path / "e2e").eval()
    assert reloaded.config.end_to_end
    _check_post_processing(reloaded, result.processor, read_image_bgr(image))


def test_trained_detector_real_detections(converted_tiny_detector, tiny_detector_pt, shapes_images):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector).eval()
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    assert model.config.id2label == {0: "rectangle", 1: "ellipse"}
    total = 0
    for image in shapes_images[:6]:
        bgr = read_image_bgr(image)
        reference = _ultralytics_predict(tiny_detector_pt, bgr)  # Ultralytics' defaults: conf 0.25, iou 0.7
        ours = _ours(model, processor, bgr, 0.25)
        _assert_same_detections(ours, reference)
        total += len(reference[1])
    assert total >= 6


def test_batch_of_mixed_sizes_matches_single_images(converted_tiny_detector, shapes_images):
    from PIL import Image

    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector).eval()
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    images = [Image.open(shapes_images[0]).convert("RGB"), Image.open(shapes_images[1]).convert("RGB").resize((200, 96))]
    sizes = [img.size[::-1] for img in images]
    inputs = processor(images=images, return_tensors="pt")
    assert inputs["pixel_values"].shape[0] == 2
    with torch.no_grad():
        batched = processor.post_process_object_detection(model(**inputs), 0.25, sizes)
    for image, size, expected in zip(images, sizes, batched):
        # a mixed batch is padded to the full square, exactly as Ultralytics pads it; one image alone is padded minimally
        single = processor(images=image, return_tensors="pt")
        with torch.no_grad():
            alone = processor.post_process_object_detection(model(**single), 0.25, [size])[0]
        assert len(alone["scores"]) == len(expected["scores"])
        torch.testing.assert_close(alone["boxes"], expected["boxes"], atol=2.0, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_load(dtype, converted_tiny_detector, shapes_images):
    from PIL import Image

    full = YoloForObjectDetection.from_pretrained(converted_tiny_detector).eval()
    half = YoloForObjectDetection.from_pretrained(converted_tiny_detector, dtype=dtype).eval()
    assert half.dtype == dtype and all(p.dtype == dtype for p in half.parameters())
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    inputs = processor(images=Image.open(shapes_images[0]).convert("RGB"), return_tensors="pt")
    with torch.no_grad():
        reference = full(**inputs).logits.sigmoid()
        scores = half(**inputs).logits.float().sigmoid()
    assert scores.dtype == torch.float32
    assert (scores - reference).abs().max() < (0.02 if dtype == torch.bfloat16 else 0.005)


def test_loading_never_unpickles(converted_tiny_detector, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("from_pretrained must not unpickle anything")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
    assert model.config.task == "detect"


def test_auto_classes_and_pipeline_match_ultralytics(converted_tiny_detector, tiny_detector_pt, shapes_images):
    from PIL import Image
    from transformers import AutoConfig, AutoImageProcessor, AutoModelForObjectDetection, pipeline

    from yolo_transformers import YoloConfig

    assert isinstance(AutoConfig.from_pretrained(converted_tiny_detector), YoloConfig)
    assert isinstance(AutoImageProcessor.from_pretrained(converted_tiny_detector), YoloImageProcessor)
    assert isinstance(AutoModelForObjectDetection.from_pretrained(converted_tiny_detector), YoloForObjectDetection)
    detector = pipeline("object-detection", model=str(converted_tiny_detector))
    compared = 0
    for path in shapes_images[:4]:
        found = detector(Image.open(path).convert("RGB"), threshold=0.25)
        ref_boxes, ref_scores, ref_labels = _ultralytics_predict(tiny_detector_pt, read_image_bgr(path))
        assert len(found) == len(ref_scores)
        names = {0: "rectangle", 1: "ellipse"}
        for detection in found:  # the pipeline rounds boxes to whole pixels
            box = np.array([detection["box"][k] for k in ("xmin", "ymin", "xmax", "ymax")], dtype=float)
            distance = np.abs(ref_boxes - box).max(axis=1)
            match = int(np.argmin(distance))
            assert distance[match] <= 1.0
            assert names[int(ref_labels[match])] == detection["label"]
            assert abs(ref_scores[match] - detection["score"]) <= 1e-3
            compared += 1
    assert compared >= 4
