"""YoloImageProcessor against Ultralytics itself: letterbox pixels, NMS / top-k selection and un-letterboxing.

Everything is compared with Ultralytics' own code on the same inputs: ``LetterBox``, the detection predictor's
``preprocess``, ``utils.nms.non_max_suppression``, ``Detect.postprocess`` and ``ops.scale_boxes``. Models are
built from yaml (no downloads); their BatchNorm statistics are calibrated on one batch and their class biases
raised so that random weights still produce a realistic spread of scores and many detections.
"""

from __future__ import annotations

import io
import os
import zlib
from contextlib import contextmanager
from types import SimpleNamespace

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image
from ultralytics import YOLO
from ultralytics.data.augment import LetterBox
from ultralytics.data.loaders import LoadPilAndNumpy
from ultralytics.nn.modules.head import Detect
from ultralytics.utils import nms as ul_nms
from ultralytics.utils import ops as ul_ops
from ultralytics.utils.checks import check_imgsz

from yolo_transformers.processing.letterbox import compute_letterbox, letterbox_image, network_input_shape
from yolo_transformers.processing.nms import end_to_end_topk, non_max_suppression
from yolo_transformers.image_processing_yolo import YoloImageProcessor

POST_IMAGE_SIZE = 320  # network input used for the model-based post-processing tests (CPU time)


# --------------------------------------------------------------------------- helpers


def _rgb(rng: np.random.Generator, height: int, width: int, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    """Random image; smooth-ish so that bilinear resizing actually mixes values."""
    high = 65536 if dtype == np.uint16 else 256
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, high, shape, dtype=dtype)


def _for_ultralytics(image):
    """Ultralytics reads NumPy arrays as BGR(A); give it the same picture our RGB(A) input shows."""
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] in (3, 4):
        order = [2, 1, 0] if image.shape[2] == 3 else [2, 1, 0, 3]
        return np.ascontiguousarray(image[..., order])
    return image


def _ultralytics_pixels(predictor, images: list) -> torch.Tensor:
    """The detection predictor's own preprocessing of ``images`` (as ``YOLO.predict`` loads in-memory images)."""
    return predictor.preprocess(LoadPilAndNumpy([_for_ultralytics(im) for im in images]).im0)


def _max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item() if a.numel() else 0.0


def _pil_palette(rng):
    image = Image.fromarray(_rgb(rng, 150, 220)).convert("P")
    image.info["transparency"] = 0
    return image


SINGLE_CASES = {
    "pil_landscape": lambda rng: Image.fromarray(_rgb(rng, 480, 640)),
    "pil_landscape_odd": lambda rng: Image.fromarray(_rgb(rng, 333, 517)),
    "pil_portrait": lambda rng: Image.fromarray(_rgb(rng, 700, 301)),
    "pil_tiny_20x13": lambda rng: Image.fromarray(_rgb(rng, 13, 20)),
    "pil_huge_4000x3000": lambda rng: Image.fromarray(_rgb(rng, 3000, 4000)),
    "pil_thin_1x900": lambda rng: Image.fromarray(_rgb(rng, 1, 900)),
    "pil_L": lambda rng: Image.fromarray(_rgb(rng, 210, 290, channels=1)),
    "pil_LA": lambda rng: Image.fromarray(_rgb(rng, 210, 290, channels=4)).convert("LA"),
    "pil_RGBA": lambda rng: Image.fromarray(_rgb(rng, 199, 301, channels=4)),
    "pil_P": _pil_palette,
    "pil_I;16": lambda rng: Image.fromarray(_rgb(rng, 180, 260, channels=1, dtype=np.uint16)),
    "pil_1bit": lambda rng: Image.fromarray(_rgb(rng, 64, 96, channels=1) > 127),
    "np_rgb": lambda rng: _rgb(rng, 333, 517),
    "np_portrait": lambda rng: _rgb(rng, 517, 333),
    "np_tiny": lambda rng: _rgb(rng, 13, 20),
    "np_huge": lambda rng: _rgb(rng, 3000, 4000),
    "np_gray_2d": lambda rng: _rgb(rng, 100, 50, channels=1),
    "np_gray_hw1": lambda rng: _rgb(rng, 100, 50, channels=1)[..., None],
    "np_gray_alpha": lambda rng: _rgb(rng, 100, 50, channels=2),
    "np_rgba": lambda rng: _rgb(rng, 120, 90, channels=4),
    "np_uint16": lambda rng: _rgb(rng, 99, 201, dtype=np.uint16),
    "np_uint16_gray": lambda rng: _rgb(rng, 99, 201, channels=1, dtype=np.uint16),
    "np_float32_0_255": lambda rng: rng.uniform(0, 255, (99, 201, 3)).astype(np.float32),
    "np_exact_640": lambda rng: _rgb(rng, 640, 640),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def predictor():
    """Ultralytics' detection predictor, set up by one real ``predict`` call on a yaml-built model."""
    model = YOLO("yolov8n.yaml")
    model.predict(np.zeros((32, 32, 3), np.uint8), verbose=False)
    return model.predictor


@pytest.fixture(scope="module")
def processor() -> YoloImageProcessor:
    return YoloImageProcessor()


def _calibrated_model(yaml: str, cls_bias: float) -> torch.nn.Module:
    """Build a random model whose scores spread realistically: BN stats from one batch, raised class biases."""
    torch.manual_seed(0)
    model = YOLO(yaml).model
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 3, POST_IMAGE_SIZE, POST_IMAGE_SIZE))
    model.eval()
    head = model.model[-1]
    for branch in (head.cv3, getattr(head, "one2one_cv3", None)):
        for seq in branch or []:
            seq[-1].bias.data[:] = cls_bias
    return model


@pytest.fixture(scope="module")
def post_images() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(7)
    return {
        "single": [_rgb(rng, 333, 517)],
        "same_shape": [_rgb(rng, 250, 400), _rgb(rng, 250, 400)],
        "mixed": [_rgb(rng, 333, 517), _rgb(rng, 700, 300), _rgb(rng, 40, 60)],
    }


@pytest.fixture(scope="module")
def head_outputs(post_images):
    """Raw head outputs of yolov8n (classic) and yolo26n (both branches) for every post-processing batch."""
    processor = YoloImageProcessor(image_size=POST_IMAGE_SIZE)
    # Class biases chosen so that conf 0.25 keeps tens of boxes per image and conf 0.001 hits max_det.
    models = {"yolov8n": _calibrated_model("yolov8n.yaml", -9.0), "yolo26n": _calibrated_model("yolo26n.yaml", -7.0)}
    cache = {}
    for name, model in models.items():
        head = model.model[-1]
        for kind, images in post_images.items():
            pixel_values = processor(images).pixel_values
            with torch.no_grad():
                y, raw = model(pixel_values)
            cache[name, kind] = SimpleNamespace(
                model=model, head=head, y=y, raw=raw, pixel_values=pixel_values, sizes=[im.shape[:2] for im in images]
            )
    return cache


def _classic_inputs(out) -> tuple[dict, torch.Tensor]:
    """``logits``/``pred_boxes`` of a classic head, and the tensor Ultralytics' NMS reads."""
    raw = out.raw["one2many"] if "one2many" in out.raw else out.raw
    height, width = out.pixel_values.shape[-2:]
    boxes = out.y[:, :4].transpose(1, 2) / torch.tensor([width, height, width, height])
    return {"logits": raw["scores"].transpose(1, 2), "pred_boxes": boxes}, out.y


@contextmanager
def _head_state(head, **attrs):
    """Temporarily set Ultralytics head switches (``end2end``, ``max_det``, ``agnostic_nms``)."""
    saved = {k: getattr(head, k) for k in attrs}
    for k, v in attrs.items():
        setattr(head, k, v)
    try:
        yield head
    finally:
        for k, v in saved.items():
            setattr(head, k, v)


def _end_to_end_inputs(out) -> dict:
    """``logits``/``pred_boxes`` (cx, cy, w, h normalised) of the one-to-one branch."""
    raw = out.raw["one2one"]
    with _head_state(out.head, end2end=True):  # the one-to-one branch decodes to xyxy
        xyxy = out.head._get_decode_boxes(raw).transpose(1, 2)
    cxcywh = torch.cat(((xyxy[..., :2] + xyxy[..., 2:]) / 2, xyxy[..., 2:] - xyxy[..., :2]), dim=-1)
    height, width = out.pixel_values.shape[-2:]
    scale = torch.tensor([width, height, width, height])
    return {"logits": raw["scores"].transpose(1, 2), "pred_boxes": cxcywh / scale}


def _ultralytics_end_to_end(head, raw_one2one, max_det: int, agnostic: bool) -> torch.Tensor:
    """What the predictor's end-to-end head emits: (B, k, 6) after ``Detect.postprocess``."""
    with _head_state(head, end2end=True, max_det=max(max_det, 300), agnostic_nms=agnostic):
        return head.postprocess(head._inference(raw_one2one).permute(0, 2, 1))


def _assert_same_detections(ours: list[dict], refs: list[torch.Tensor], input_shape, sizes, min_total: int) -> None:
    """Same count, labels and scores; boxes to float32 rounding of the normalised box format."""
    total = 0
    for det, ref, size in zip(ours, refs, sizes):
        ref = ref.clone()
        ref[:, :4] = ul_ops.scale_boxes(tuple(input_shape), ref[:, :4], size)
        assert det["labels"].dtype == torch.int64
        assert len(det["scores"]) == len(ref)
        assert torch.equal(det["labels"], ref[:, 5].long())
        assert _max_abs_diff(det["scores"], ref[:, 4]) <= 1e-6
        assert _max_abs_diff(det["boxes"], ref[:, :4]) <= 1e-3
        total += len(ref)
    assert total >= min_total


# --------------------------------------------------------------------------- letterbox


LETTERBOX_SHAPES = [
    (480, 640), (333, 517), (700, 301), (13, 20), (3000, 4000), (1, 900), (900, 1), (640, 640), (31, 33)
]


@pytest.mark.parametrize("shape", LETTERBOX_SHAPES)
@pytest.mark.parametrize("auto", [True, False])
@pytest.mark.parametrize("new_shape", [(640, 640), (320, 480)])
def test_letterbox_geometry_matches_ultralytics(shape, auto, new_shape):
    ref = LetterBox(new_shape, auto=auto, stride=32).get_params({"img": np.zeros((*shape, 3), np.uint8)})
    geo = compute_letterbox(shape, new_shape, 32, auto)
    assert geo.padding == (ref["top"], ref["bottom"], ref["left"], ref["right"])
    assert geo.resized_size == tuple(ref["new_unpad"][::-1])
    top, bottom, left, right = geo.padding
    assert geo.input_size == (geo.resized_size[0] + top + bottom, geo.resized_size[1] + left + right)


@pytest.mark.parametrize("shape", [(480, 640), (333, 517), (13, 20), (3000, 4000), (1, 900)])
@pytest.mark.parametrize("auto", [True, False])
def test_letterbox_pixels_match_ultralytics(shape, auto):
    image = _rgb(np.random.default_rng(1), *shape)
    ref = LetterBox((640, 640), auto=auto, stride=32)(image=np.ascontiguousarray(image[..., ::-1]))[..., ::-1]
    ours = letterbox_image(image, compute_letterbox(shape, (640, 640), 32, auto))
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("case", sorted(SINGLE_CASES))
def test_preprocess_single_image_matches_predictor(case, predictor, processor):
    image = SINGLE_CASES[case](np.random.default_rng(zlib.crc32(case.encode())))
    ours = processor(image).pixel_values
    ref = _ultralytics_pixels(predictor, [image])
    assert ours.dtype == torch.float32
    assert _max_abs_diff(ours, ref) == 0.0


@pytest.mark.parametrize(
    "cases",
    [
        ("pil_landscape_odd", "np_rgb"),  # same shape: minimal (stride-multiple) padding
        ("pil_landscape", "pil_portrait", "np_tiny"),  # mixed: full square padding
        ("pil_RGBA", "np_gray_2d", "pil_I;16", "np_uint16", "pil_huge_4000x3000"),
        ("pil_P", "pil_P"),
    ],
)
def test_preprocess_batch_matches_predictor(cases, predictor, processor):
    rng = np.random.default_rng(3)
    images = [SINGLE_CASES[c](rng) for c in cases]
    if cases[0] == "pil_landscape_odd":  # same (H, W): reuse one shape for the NumPy twin
        images[1] = np.asarray(images[0])[::-1].copy()
    ours = processor(images).pixel_values
    ref = _ultralytics_pixels(predictor, images)
    assert ours.shape[0] == len(images)
    assert _max_abs_diff(ours, ref) == 0.0
    expected_square = len({np.asarray(to).shape[:2] for to in images}) > 1
    assert (tuple(ours.shape[-2:]) == (640, 640)) == expected_square


def test_preprocess_exif_orientation_matches_predictor(predictor, processor):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    Image.fromarray(_rgb(np.random.default_rng(4), 120, 200)).save(buffer, format="JPEG", exif=exif)
    image = Image.open(io.BytesIO(buffer.getvalue()))
    ours = processor(image).pixel_values
    assert tuple(ours.shape[-2:]) == (640, 384)  # portrait after transposition
    assert _max_abs_diff(ours, _ultralytics_pixels(predictor, [image])) == 0.0


def test_preprocess_non_square_image_size_matches_predictor(predictor):
    requested = [300, 500]  # not stride multiples: rounded up like check_imgsz
    shape = network_input_shape(requested, 32)
    assert list(shape) == check_imgsz(requested, stride=32, min_dim=2)
    images = [_rgb(np.random.default_rng(5), 333, 517)]
    saved = predictor.imgsz
    try:
        predictor.imgsz = list(shape)
        ref = _ultralytics_pixels(predictor, images)
    finally:
        predictor.imgsz = saved
    ours = YoloImageProcessor(image_size=requested).preprocess(images).pixel_values
    assert _max_abs_diff(ours, ref) == 0.0


def test_tensor_and_channels_first_inputs_match_numpy(processor):
    image = _rgb(np.random.default_rng(6), 123, 321)
    expected = processor(image).pixel_values
    chw = np.ascontiguousarray(image.transpose(2, 0, 1))
    assert torch.equal(processor(torch.from_numpy(chw)).pixel_values, expected)
    assert torch.equal(processor(chw).pixel_values, expected)
    assert torch.equal(processor(torch.from_numpy(image), input_data_format="channels_last").pixel_values, expected)
    batch = torch.from_numpy(np.stack([chw, chw]))
    assert torch.equal(processor(batch).pixel_values, torch.cat([expected, expected]))


def test_preprocess_outputs_and_letterbox_record(processor):
    images = [_rgb(np.random.default_rng(8), 333, 517), _rgb(np.random.default_rng(9), 100, 50)]
    features = processor(images, return_letterbox=True)
    assert features["pixel_values"].shape == (2, 3, 640, 640)
    assert features["original_sizes"].tolist() == [[333, 517], [100, 50]]
    assert features["resized_sizes"].tolist() == [[412, 640], [640, 320]]
    assert features["paddings"].tolist() == [[114, 114, 0, 0], [0, 0, 160, 160]]
    assert list(processor(images[0]).keys()) == ["pixel_values"]  # nothing a model forward would reject
    as_numpy = processor(images[0], return_tensors="np")["pixel_values"]
    assert isinstance(as_numpy, np.ndarray) and as_numpy.shape == (1, 3, 416, 640)
    with pytest.raises(ValueError):
        processor([])
    with pytest.raises(TypeError):
        processor(_rgb(np.random.default_rng(0), 10, 10).astype(np.int64))


# --------------------------------------------------------------------------- configuration


def test_save_and_load_round_trip(tmp_path):
    original = YoloImageProcessor(image_size=[480, 640], stride=64, conf_threshold=0.3, end_to_end=True)
    original.save_pretrained(tmp_path)
    saved = (tmp_path / "preprocessor_config.json").read_text()
    assert '"image_processor_type": "YoloImageProcessor"' in saved
    loaded = YoloImageProcessor.from_pretrained(tmp_path, max_det=100)
    assert loaded.image_size == [480, 640] and loaded.stride == 64 and loaded.end_to_end is True
    assert loaded.conf_threshold == 0.3 and loaded.max_det == 100
    assert loaded.model_input_names == ["pixel_values"]


def test_auto_image_processor_resolves_registered_class(tmp_path):
    from transformers import AutoImageProcessor, PreTrainedConfig

    class _ProbeConfig(PreTrainedConfig):
        model_type = "yolo_image_processor_probe"

    AutoImageProcessor.register(
        _ProbeConfig,
        image_processor_classes={"torchvision": YoloImageProcessor, "pil": YoloImageProcessor},
        exist_ok=True,
    )
    YoloImageProcessor(iou_threshold=0.5).save_pretrained(tmp_path)
    loaded = AutoImageProcessor.from_pretrained(tmp_path)
    assert type(loaded) is YoloImageProcessor and loaded.iou_threshold == 0.5


# --------------------------------------------------------------------------- post-processing parity


@pytest.mark.parametrize("kind", ["single", "same_shape", "mixed"])
@pytest.mark.parametrize(
    ("model", "conf", "agnostic", "max_det", "min_total"),
    [
        ("yolov8n", 0.25, False, 300, 20),
        ("yolov8n", 0.001, False, 300, 300),
        ("yolov8n", 0.25, True, 40, 20),
        ("yolo26n", 0.25, False, 300, 20),  # YOLO26 one-to-many branch, NMS (Ultralytics' default for .pt)
    ],
)
def test_nms_post_processing_matches_ultralytics(head_outputs, model, conf, agnostic, max_det, min_total, kind):
    out = head_outputs[model, kind]
    outputs, y = _classic_inputs(out)
    processor = YoloImageProcessor(image_size=POST_IMAGE_SIZE, max_det=max_det, agnostic_nms=agnostic)
    ours = processor.post_process_object_detection(outputs, conf, out.sizes)
    refs = ul_nms.non_max_suppression(y, conf, 0.7, agnostic=agnostic, max_det=max_det)
    _assert_same_detections(ours, refs, out.pixel_values.shape[2:], out.sizes, min_total)


@pytest.mark.parametrize("kind", ["single", "mixed"])
@pytest.mark.parametrize(
    ("conf", "agnostic", "max_det", "min_total"),
    [(0.25, False, 300, 20), (0.001, False, 300, 300), (0.25, True, 300, 20), (0.001, False, 25, 25)],
)
def test_end_to_end_post_processing_matches_ultralytics(head_outputs, conf, agnostic, max_det, min_total, kind):
    out = head_outputs["yolo26n", kind]
    y = _ultralytics_end_to_end(out.head, out.raw["one2one"], max_det, agnostic)
    refs = ul_nms.non_max_suppression(y, conf, 0.7, max_det=max_det, end2end=True)
    processor = YoloImageProcessor(image_size=POST_IMAGE_SIZE, end_to_end=True)
    target_sizes = torch.tensor(out.sizes, dtype=torch.int32)  # as pipeline("object-detection") passes them
    ours = processor.post_process_object_detection(
        _end_to_end_inputs(out), conf, target_sizes, max_det=max_det, agnostic_nms=agnostic
    )
    _assert_same_detections(ours, refs, out.pixel_values.shape[2:], out.sizes, min_total)


def test_end_to_end_reference_is_the_model_forward(head_outputs):
    out = head_outputs["yolo26n", "mixed"]
    with _head_state(out.head, end2end=True), torch.no_grad():
        y, _ = out.model(out.pixel_values)
    assert y.shape == (3, 300, 6)
    assert torch.equal(y, _ultralytics_end_to_end(out.head, out.raw["one2one"], 300, False))


# --------------------------------------------------------------------------- synthetic selection


def _synthetic_predictions(seed: int, batch: int = 3, anchors: int = 3000, classes: int = 6, extra: int = 3):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.rand(batch, anchors, 2, generator=gen) * 200
    sizes = torch.rand(batch, anchors, 2, generator=gen) * 60 + 2
    scores = (torch.randn(batch, anchors, classes, generator=gen) * 2 - 3).sigmoid()
    extras = torch.randn(batch, anchors, extra, generator=gen)
    return torch.cat((centers, sizes), -1), scores, extras


@pytest.mark.parametrize(
    ("conf", "agnostic", "max_det", "max_nms"),
    [(0.25, False, 300, 30000), (0.05, True, 50, 30000), (0.01, False, 300, 500)],
)
def test_nms_matches_ultralytics_on_synthetic_scores_with_extra_channels(conf, agnostic, max_det, max_nms):
    xywh, scores, extras = _synthetic_predictions(0)
    prediction = torch.cat((xywh, scores, extras), -1).transpose(1, 2)  # (B, 4 + nc + extra, A)
    refs = ul_nms.non_max_suppression(
        prediction.clone(), conf, 0.6, agnostic=agnostic, max_det=max_det, nc=scores.shape[-1], max_nms=max_nms
    )
    xyxy = torch.cat((xywh[..., :2] - xywh[..., 2:] / 2, xywh[..., :2] + xywh[..., 2:] / 2), -1)
    kept = non_max_suppression(scores, xyxy, conf, 0.6, max_det, agnostic, max_nms=max_nms)
    assert sum(len(k.indices) for k in kept) > 50
    for k, ref, boxes, extra in zip(kept, refs, xyxy, extras):
        assert torch.equal(boxes[k.indices], ref[:, :4])
        assert torch.equal(k.scores, ref[:, 4]) and torch.equal(k.labels, ref[:, 5].long())
        assert torch.equal(extra[k.indices], ref[:, 6:])  # callers gather per-anchor data with the indices


@pytest.mark.parametrize(("agnostic", "max_det"), [(False, 300), (True, 300), (False, 20)])
def test_end_to_end_topk_matches_detect_head_on_synthetic_scores(agnostic, max_det):
    xywh, scores, extras = _synthetic_predictions(1, anchors=2000)
    head = Detect(nc=scores.shape[-1], ch=(16,))
    head.max_det, head.agnostic_nms = max(max_det, 300), agnostic
    y = head.postprocess(torch.cat((xywh, scores, extras), -1))  # boxes pass through untouched
    refs = ul_nms.non_max_suppression(y, 0.1, 0.7, max_det=max_det, end2end=True)
    kept = end_to_end_topk(scores, 0.1, max_det, agnostic)
    for k, ref, boxes, extra in zip(kept, refs, xywh, extras):
        assert len(k.indices) > 0
        assert torch.equal(boxes[k.indices], ref[:, :4]) and torch.equal(extra[k.indices], ref[:, 6:])
        assert torch.equal(k.scores, ref[:, 4]) and torch.equal(k.labels, ref[:, 5].long())


def _outputs(boxes_cxcywh, logits) -> dict:
    return {"pred_boxes": torch.tensor([boxes_cxcywh]), "logits": torch.tensor([logits])}


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_nms_hand_example():
    # Input 100x100: two heavily overlapping boxes (IoU 0.82) and a distant one.
    boxes = [[0.055, 0.055, 0.10, 0.10], [0.06, 0.06, 0.10, 0.10], [0.55, 0.55, 0.10, 0.10]]
    same_class = [[_logit(0.9), -9], [_logit(0.8), -9], [-9, _logit(0.7)]]
    other_class = [[_logit(0.9), -9], [-9, _logit(0.8)], [-9, _logit(0.7)]]
    processor = YoloImageProcessor(image_size=100, stride=4)
    kwargs = {"input_size": (100, 100)}
    result = processor.post_process_object_detection(_outputs(boxes, same_class), 0.25, **kwargs)[0]
    assert result["labels"].tolist() == [0, 1]
    assert torch.allclose(result["scores"], torch.tensor([0.9, 0.7]))
    # without target_sizes, relative to the 100x100 input
    assert torch.allclose(result["boxes"], torch.tensor([[0.5, 0.5, 10.5, 10.5], [50.0, 50.0, 60.0, 60.0]]) / 100)
    result = processor.post_process_object_detection(_outputs(boxes, other_class), 0.25, **kwargs)[0]
    assert result["labels"].tolist() == [0, 1, 1]
    result = processor.post_process_object_detection(_outputs(boxes, other_class), 0.25, agnostic_nms=True, **kwargs)[0]
    assert result["labels"].tolist() == [0, 1]
    result = processor.post_process_object_detection(_outputs(boxes, other_class), 0.75, **kwargs)[0]
    assert result["labels"].tolist() == [0, 1]
    result = processor.post_process_object_detection(_outputs(boxes, other_class), 0.25, max_det=1, **kwargs)[0]
    assert result["scores"].tolist() == pytest.approx([0.9])


def test_end_to_end_hand_example():
    # 4 anchors x 3 classes; anchor 1 is best for two classes and is reported twice, no NMS.
    probs = [[0.10, 0.20, 0.05], [0.95, 0.90, 0.01], [0.30, 0.02, 0.60], [0.01, 0.02, 0.03]]
    logits = [[_logit(p) for p in row] for row in probs]
    boxes = [[0.5, 0.5, 0.2, 0.2]] * 4
    processor = YoloImageProcessor(image_size=64, end_to_end=True)
    result = processor.post_process_object_detection(_outputs(boxes, logits), 0.25, input_size=(64, 64))[0]
    assert result["labels"].tolist() == [0, 1, 2, 0]
    assert result["scores"].tolist() == pytest.approx([0.95, 0.90, 0.60, 0.30])
    kept = end_to_end_topk(torch.tensor([probs]), 0.25, 300, agnostic=True)[0]
    assert kept.indices.tolist() == [1, 2] and kept.labels.tolist() == [0, 2]


def test_unletterbox_by_hand():
    processor = YoloImageProcessor()
    box = [[0.55, 0.5, 0.9, 0.9]]  # cx, cy, w, h of the network input
    logits = [[_logit(0.9)]]
    # 1000x500 (w x h) photo -> resized to 640x320; minimal padding: input 320x640, no padding.
    single = processor.post_process_object_detection(_outputs(box, logits), None, [(500, 1000)])[0]
    assert torch.allclose(single["boxes"], torch.tensor([[100.0, 25.0, 1000.0, 475.0]]))
    # Same photo in a mixed batch: full 640x640 input, 160 pixels of padding top and bottom.
    both = _outputs(box + box, logits + logits)
    both = {"pred_boxes": both["pred_boxes"].view(2, 1, 4), "logits": both["logits"].view(2, 1, 1)}
    mixed = processor.post_process_object_detection(both, None, [(500, 1000), (640, 640)])
    assert torch.allclose(mixed[0]["boxes"], torch.tensor([[100.0, 0.0, 1000.0, 500.0]]))  # y clipped
    assert torch.allclose(mixed[1]["boxes"], torch.tensor([[64.0, 32.0, 640.0, 608.0]]))
    # No target sizes: relative to the processed input, as transformers' detectors (RT-DETR) return them.
    raw = processor.post_process_object_detection(_outputs(box, logits), input_size=(320, 640))[0]
    assert torch.allclose(raw["boxes"], torch.tensor([[0.1, 0.05, 1.0, 0.95]]))
    assert torch.equal(processor.post_process_object_detection(_outputs(box, logits))[0]["boxes"], raw["boxes"])
    assert raw["labels"].dtype == torch.int64 and raw["scores"].dtype == torch.float32


@pytest.mark.parametrize("end_to_end", [False, True])
def test_top_k_keeps_the_highest_scores_like_transformers_detectors(end_to_end):
    probs = [0.3, 0.9, 0.5, 0.7]
    boxes = [[0.1 + 0.2 * i, 0.5, 0.1, 0.1] for i in range(4)]  # disjoint: NMS keeps all of them
    processor = YoloImageProcessor(image_size=64, end_to_end=end_to_end)
    outputs = _outputs(boxes, [[_logit(p)] for p in probs])
    every = processor.post_process_object_detection(outputs, 0.25)[0]
    best_two = processor.post_process_object_detection(outputs, 0.25, top_k=2)[0]
    assert every["scores"].tolist() == pytest.approx([0.9, 0.7, 0.5, 0.3])
    assert best_two["scores"].tolist() == pytest.approx([0.9, 0.7])
    assert torch.equal(best_two["boxes"], every["boxes"][:2])


def test_threshold_none_uses_conf_threshold_and_accepts_model_output_objects():
    logits = [[_logit(0.3)], [_logit(0.6)]]
    boxes = [[0.25, 0.25, 0.1, 0.1], [0.75, 0.75, 0.1, 0.1]]
    as_object = SimpleNamespace(**_outputs(boxes, logits))
    assert len(YoloImageProcessor().post_process_object_detection(as_object, None, [(640, 640)])[0]["scores"]) == 2
    strict = YoloImageProcessor(conf_threshold=0.5)
    assert len(strict.post_process_object_detection(as_object, None, [(640, 640)])[0]["scores"]) == 1
    with pytest.raises(ValueError):
        strict.post_process_object_detection(as_object, 1.5, [(640, 640)])
    with pytest.raises(ValueError):
        strict.post_process_object_detection(as_object, 0.5, [(640, 640), (640, 640)])


def test_scores_equal_to_the_threshold_are_dropped():
    scores = torch.tensor([[[0.5, 0.1], [0.6, 0.2]]])
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]])
    assert non_max_suppression(scores, boxes, 0.5)[0].indices.tolist() == [1]
    assert end_to_end_topk(scores, 0.5)[0].indices.tolist() == [1]


def test_float_images_on_the_unit_scale_are_flagged(processor, caplog):
    image = np.random.default_rng(0).random((20, 30, 3), dtype=np.float32)
    with caplog.at_level("WARNING", logger="yolo_transformers.processing.letterbox"):
        processor(image)
    assert "0-255" in caplog.text
