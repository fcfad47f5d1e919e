"""The inference fast paths: channels-last pixel values and the cached fused twin."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from yolo_transformers import YoloConfig, YoloForObjectDetection, YoloImageProcessor


@pytest.fixture(scope="module")
def random_detector() -> YoloForObjectDetection:
    from ultralytics.nn.tasks import DetectionModel

    config = YoloConfig(architecture=DetectionModel("yolo11n.yaml", verbose=False).yaml, stride=[8.0, 16.0, 32.0],
                        image_size=160)  # fmt: skip
    torch.manual_seed(0)
    return YoloForObjectDetection(config).eval()


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_pixel_values_equal_ultralytics_scaling_in_every_output_format():
    processor = YoloImageProcessor(image_size=160)
    images = [_photo(120, 90, 1), _photo(90, 160, 2)]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    assert pixels.shape == (2, 3, 160, 160) and pixels.dtype == torch.float32
    assert pixels.is_contiguous(memory_format=torch.channels_last)  # a view of one (B, H, W, 3) buffer
    letterboxed = np.stack([processor(images=i, return_tensors="np", minimal_padding=False)["pixel_values"][0]
                            for i in images])  # fmt: skip
    ultralytics_way = torch.from_numpy(
        np.stack([(processor(images=i, return_tensors="pt", minimal_padding=False)["pixel_values"][0] * 255)
                  .round().byte().numpy() for i in images])  # fmt: skip
    ).float() / 255
    assert torch.equal(pixels, ultralytics_way)
    as_numpy = processor(images=images, return_tensors="np")["pixel_values"]
    assert as_numpy.flags.c_contiguous and np.array_equal(as_numpy, pixels.numpy()) and np.array_equal(
        as_numpy, letterboxed)
    as_lists = processor(images=images, return_tensors=None)["pixel_values"]
    assert all(a.flags.c_contiguous for a in as_lists)


def test_model_gives_identical_outputs_for_both_memory_layouts(random_detector):
    pixels = YoloImageProcessor(image_size=160)(images=[_photo(150, 100, 3)] * 2)["pixel_values"]
    with torch.inference_mode():
        channels_last = random_detector(pixel_values=pixels)
        standard = random_detector(pixel_values=pixels.contiguous())
    assert torch.equal(channels_last.logits, standard.logits)
    assert torch.equal(channels_last.pred_boxes, standard.pred_boxes)


def test_training_forward_runs_the_network_in_nchw(random_detector):
    model = copy.deepcopy(random_detector).train()
    seen = []
    hook = model.model.model[0].register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        pixels = YoloImageProcessor(image_size=160)(images=[_photo(160, 160, 4)])["pixel_values"]
        model(pixel_values=pixels)
    finally:
        hook.remove()
    assert seen and seen[0].is_contiguous()


def test_twin_is_rebuilt_when_weights_change_and_never_copied(random_detector):
    model = copy.deepcopy(random_detector)
    pixels = torch.rand(1, 3, 160, 160)
    with torch.no_grad():
        before = model(pixel_values=pixels).logits
        assert pickle.loads(pickle.dumps(model)).__dict__["_fused_twin"].network is None  # a pickle has no twin
        copied = copy.deepcopy(model)
        assert copied.__dict__["_fused_twin"].network is None
        assert torch.equal(copied(pixel_values=pixels).logits, before)
        model.model.model[-1].cv3[0][-1].bias.add_(1.0)  # a changed weight must be seen by the next inference
        after = model(pixel_values=pixels).logits
        assert torch.equal(copied(pixel_values=pixels).logits, before)  # the copy has its own weights
    assert not torch.equal(after, before)


def test_classification_pixel_values_equal_ultralytics_transforms_channels_last():
    from PIL import Image
    from ultralytics.data.augment import classify_transforms

    from yolo_transformers import YoloClassificationImageProcessor

    images = [_photo(150, 100, 5), _photo(90, 200, 6)]
    processor = YoloClassificationImageProcessor(image_size=96)
    pixels = processor(images=images)["pixel_values"]
    reference = torch.stack([classify_transforms(96)(Image.fromarray(image)) for image in images])
    assert pixels.is_contiguous(memory_format=torch.channels_last) and torch.equal(pixels, reference)
    normalized = YoloClassificationImageProcessor(image_size=96, image_mean=[0.5] * 3, image_std=[0.25] * 3)
    expected = torch.stack([classify_transforms(96, mean=(0.5,) * 3, std=(0.25,) * 3)(Image.fromarray(image))
                            for image in images])  # fmt: skip
    assert torch.allclose(normalized(images=images)["pixel_values"], expected, atol=1e-6)
    assert processor(images=images, return_tensors="np")["pixel_values"].flags.c_contiguous


def test_pixel_values_of_the_wrong_rank_get_a_clear_error(random_detector):
    expected = r"\(batch_size, channels, height, width\).*image processor"
    with torch.inference_mode(), pytest.raises(ValueError, match=expected):
        random_detector(pixel_values=torch.rand(3, 160, 160))


def test_twin_is_rebuilt_when_batchnorm_statistics_change_in_place(converted_tiny_detector):
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector).eval()
    pixels = YoloImageProcessor.from_pretrained(converted_tiny_detector)(images=[_photo(128, 160, 7)])["pixel_values"]
    with torch.no_grad():
        before = model(pixel_values=pixels).logits  # builds the twin
        statistics = model.model.model[2].cv1.bn
        statistics.running_mean.add_(0.5)  # buffers, not parameters: edited in place under no_grad
        statistics.running_var.mul_(4.0)
        fused = model(pixel_values=pixels).logits
        model.fuse_for_inference = False
        unfused = model(pixel_values=pixels).logits
    assert (unfused - before).abs().max() > 0.1  # the edit matters to the output
    torch.testing.assert_close(fused, unfused, atol=1e-4, rtol=1e-4)


def test_loading_and_building_a_pipeline_inside_inference_mode(converted_tiny_detector, shapes_images):
    from PIL import Image
    from transformers import pipeline

    image = Image.open(shapes_images[0])
    expected = pipeline("object-detection", model=str(converted_tiny_detector))(image, threshold=0.25)
    with torch.inference_mode():
        model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)
        detector = pipeline("object-detection", model=str(converted_tiny_detector))
        found = detector(image, threshold=0.25)
        logits = model(pixel_values=torch.rand(1, 3, 160, 160)).logits
    assert expected and found == expected
    assert logits.is_inference()
