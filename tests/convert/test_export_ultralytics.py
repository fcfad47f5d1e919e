"""Back-conversion: a transformers YOLO model written as an Ultralytics .pt predicts like the original checkpoint."""

from __future__ import annotations

import copy
import os
import stat

import numpy as np
import pytest
import torch

from yolo_transformers import CheckpointError, YoloForObjectDetection, YoloImageProcessor
from yolo_transformers.convert import convert_checkpoint
from yolo_transformers.convert.to_ultralytics import DEFAULT_FILENAME, save_ultralytics_checkpoint
from yolo_transformers.convert.reference import read_image_bgr

LOW_CONF = 1e-6  # random yaml weights score ~1e-5: compare hundreds of detections, not none


def _yolo(path):
    from ultralytics import YOLO

    return YOLO(str(path))


def _predict(yolo, image_bgr, **kwargs):
    boxes = yolo.predict(image_bgr, verbose=False, device="cpu", **kwargs)[0].boxes
    return boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int)


def _hf_detections(model, processor, image_bgr, threshold):
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    with torch.no_grad():
        outputs = model(**processor(images=rgb, return_tensors="pt"))
    result = processor.post_process_object_detection(outputs, threshold, [rgb.shape[:2]])[0]
    return result["boxes"].float().numpy(), result["scores"].float().numpy(), result["labels"].numpy()


def _max_differences(ours, reference):
    """Same count and classes, then (max box diff px, max score diff) of detections matched by class and score."""
    (boxes, scores, labels), (ref_boxes, ref_scores, ref_labels) = ours, reference
    assert len(scores) == len(ref_scores) > 0
    order, ref_order = np.lexsort((-scores, labels)), np.lexsort((-ref_scores, ref_labels))
    np.testing.assert_array_equal(labels[order], ref_labels[ref_order])
    return (float(np.abs(boxes[order] - ref_boxes[ref_order]).max()),
            float(np.abs(scores[order] - ref_scores[ref_order]).max()))


@pytest.fixture(scope="module")
def tiny_hf_model(converted_tiny_detector):
    return YoloForObjectDetection.from_pretrained(converted_tiny_detector).eval()


@pytest.fixture(scope="module")
def exported_tiny(tiny_hf_model, tmp_path_factory):
    return save_ultralytics_checkpoint(tiny_hf_model, tmp_path_factory.mktemp("exported") / DEFAULT_FILENAME)


def test_trained_detector_round_trip_predicts_the_same(exported_tiny, tiny_detector_pt, tiny_hf_model,
                                                       converted_tiny_detector, shapes_images):
    processor = YoloImageProcessor.from_pretrained(converted_tiny_detector)
    exported, original = _yolo(exported_tiny), _yolo(tiny_detector_pt)
    assert exported.names == {0: "rectangle", 1: "ellipse"} and exported.task == "detect"
    total = 0
    for image in shapes_images[:6]:
        bgr = read_image_bgr(image)
        ours = _predict(exported, bgr)  # Ultralytics' defaults: conf 0.25, iou 0.7, imgsz from the checkpoint
        box_diff, score_diff = _max_differences(ours, _predict(original, bgr))
        assert box_diff <= 0.5 and score_diff <= 1e-3
        box_diff, score_diff = _max_differences(ours, _hf_detections(tiny_hf_model, processor, bgr, 0.25))
        assert box_diff <= 0.5 and score_diff <= 1e-3
        total += len(ours[1])
    assert total >= 6  # real detections were compared


def test_weights_are_the_original_checkpoint_weights(exported_tiny, tiny_detector_pt):
    exported = torch.load(exported_tiny, map_location="cpu", weights_only=False)  # our own file, trusted
    original = torch.load(tiny_detector_pt, map_location="cpu", weights_only=False)
    ours, theirs = exported["model"].state_dict(), original["model"].state_dict()
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert ours[key].dtype == value.dtype  # float16, as Ultralytics saves
        torch.testing.assert_close(ours[key], value, rtol=0, atol=0)


def test_checkpoint_layout_and_provenance(exported_tiny, tiny_hf_model):
    config = tiny_hf_model.config
    ckpt = torch.load(exported_tiny, map_location="cpu", weights_only=False)
    assert ckpt["ema"] is None and ckpt["optimizer"] is None
    assert ckpt["train_args"]["imgsz"] == 128 and ckpt["train_args"]["task"] == "detect"
    assert ckpt["train_metrics"] == config.metrics and ckpt["train_results"] == config.train_results
    assert ckpt["date"] == config.training_date and ckpt["license"].startswith("AGPL-3.0")
    assert ckpt["yolo_transformers"]["source_sha256"] == config.source_sha256
    network = ckpt["model"]
    assert network.names == {0: "rectangle", 1: "ellipse"} and network.args["imgsz"] == 128
    assert network.yaml["yaml_file"] == "yolov8n.yaml" and network.stride.tolist() == [8.0, 16.0, 32.0]
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(exported_tiny.stat().st_mode) == 0o666 & ~umask  # like any file the user writes


def test_ultralytics_restricted_loader_accepts_it(exported_tiny, shapes_images):
    from ultralytics.nn.tasks import torch_safe_load

    from yolo_transformers.compat import ultralytics_safe_loading
    from yolo_transformers.convert.checkpoint import scan_checkpoint_globals

    referenced = scan_checkpoint_globals(exported_tiny)  # every global the pickle names, nothing run
    assert all(name.startswith(("torch.nn.modules.", "ultralytics.nn.")) for name in referenced)
    ckpt, _ = torch_safe_load(str(exported_tiny), safe_only=True)  # weights_only=True with Ultralytics' allowlist
    assert isinstance(ckpt["model"], torch.nn.Module)
    with ultralytics_safe_loading():  # as with ULTRALYTICS_SAFE_LOAD=1
        yolo = _yolo(exported_tiny)
    assert len(_predict(yolo, read_image_bgr(shapes_images[0]))[1]) > 0


def test_float16_model_exports_losslessly(converted_tiny_detector, exported_tiny, tmp_path):
    half = YoloForObjectDetection.from_pretrained(converted_tiny_detector, dtype=torch.float16).eval()
    path = save_ultralytics_checkpoint(half, tmp_path / "half.pt")
    assert half.dtype == torch.float16  # the model itself is untouched
    ours = torch.load(path, map_location="cpu", weights_only=False)["model"].state_dict()
    reference = torch.load(exported_tiny, map_location="cpu", weights_only=False)["model"].state_dict()
    for key, value in reference.items():
        torch.testing.assert_close(ours[key], value, rtol=0, atol=0)
    full = save_ultralytics_checkpoint(half, tmp_path / "full.pt", half=False)
    assert next(torch.load(full, map_location="cpu", weights_only=False)["model"].parameters()).dtype == torch.float32


def test_exporting_leaves_the_model_unchanged(tiny_hf_model, tmp_path):
    before = copy.deepcopy(tiny_hf_model.state_dict())
    head = tiny_hf_model.model.model[-1]
    pinned = {name: head.__dict__.get(name) for name in ("export", "format", "dynamic")}
    save_ultralytics_checkpoint(tiny_hf_model, tmp_path / "a.pt")
    assert tiny_hf_model.dtype == torch.float32 and not hasattr(tiny_hf_model.model, "args")
    assert {name: head.__dict__.get(name) for name in pinned} == pinned
    for key, value in tiny_hf_model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_folder_input_and_folder_output(converted_tiny_detector, tmp_path):
    path = save_ultralytics_checkpoint(converted_tiny_detector, tmp_path)
    assert path == tmp_path / DEFAULT_FILENAME and path.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # written atomically


@pytest.mark.parametrize("name", ["yolov5n.pt", "yolov3-tiny.pt", "model.pth", "model"])
def test_names_ultralytics_would_not_load_as_given_are_refused(tiny_hf_model, tmp_path, name):
    with pytest.raises(CheckpointError, match=r"\.pt|instead"):
        save_ultralytics_checkpoint(tiny_hf_model, tmp_path / name)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("end_to_end", [False, True])
def test_end_to_end_family_raw_outputs_and_predictions(yaml_checkpoint, shapes_images, tmp_path, end_to_end):
    original = yaml_checkpoint("yolo26n.yaml")
    result = convert_checkpoint(original, end_to_end=end_to_end, verify=False)
    model = result.model.eval()
    path = save_ultralytics_checkpoint(model, tmp_path / "yolo26n-random.pt")

    network = _yolo(path).model.float().eval()
    pixel_values = torch.rand(1, 3, 256, 320, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.ultralytics_outputs(pixel_values)
        theirs = network(pixel_values)
        theirs = theirs[0] if isinstance(theirs, (list, tuple)) else theirs
        if end_to_end:  # the module's own forward applies the one-to-one top-k
            ours = network.model[-1].postprocess(ours.permute(0, 2, 1))
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-4)

    exported, reference = _yolo(path), _yolo(original)
    bgr = read_image_bgr(shapes_images[0])
    for kwargs in ({}, {"nms": False}):  # default predict = NMS; nms=False = the one-to-one head
        box_diff, score_diff = _max_differences(_predict(exported, bgr, conf=LOW_CONF, **kwargs),
                                                _predict(reference, bgr, conf=LOW_CONF, **kwargs))
        assert box_diff <= 0.5 and score_diff <= 1e-3
    # Random weights score every anchor near the prior, so HF-vs-Ultralytics *detections* would hinge on near-ties
    # that Ultralytics' Conv+BN fusion reorders; the raw head outputs above are the comparison with the HF model, and
    # the trained detector's test compares detections.
