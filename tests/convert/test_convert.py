"""The converter on real checkpoints: trained, unstripped, fp16, older releases, and its command lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from yolo_transformers import CheckpointError, YoloForObjectDetection
from yolo_transformers.convert.checkpoint import load_checkpoint
from yolo_transformers.convert import convert_checkpoint



def test_trained_checkpoint_parity_report(tiny_detector_pt, shapes_images, tmp_path):
    result = convert_checkpoint(tiny_detector_pt, tmp_path / "out", verify_images=shapes_images[:4])
    report = result.report
    assert report.passed, report.summary()
    assert report.raw_max_abs_diff <= 1e-4
    assert sum(image.reference_count for image in report.images) >= 4  # real detections were compared
    assert all(image.max_box_diff <= 0.5 and image.max_score_diff <= 1e-3 for image in report.images)
    config = result.model.config
    assert config.source_sha256 and len(config.source_sha256) == 64
    assert config.ultralytics_version and config.training_date and config.converter_version
    assert config.metrics["metrics/mAP50(B)"] > 0.5
    assert config.train_args["imgsz"] == 128 and config.image_size == 128


def test_verification_keeps_the_torch_thread_count(tiny_detector_pt, shapes_images, tmp_path):
    """YOLO.predict sets torch's thread count for the whole process; the verification must not leave that behind."""
    from ultralytics.utils import NUM_THREADS

    before = torch.get_num_threads()
    torch.set_num_threads(NUM_THREADS + 1)  # anything Ultralytics would not choose
    try:
        convert_checkpoint(tiny_detector_pt, tmp_path / "out", verify_images=shapes_images[:1])
        assert torch.get_num_threads() == NUM_THREADS + 1
    finally:
        torch.set_num_threads(before)


def test_stored_fp16_weights_are_converted_to_float32(tiny_detector_pt):
    source = load_checkpoint(tiny_detector_pt)
    assert source.source_dtype == torch.float16  # Ultralytics saves EMA weights in half precision
    assert next(source.network.parameters()).dtype == torch.float32


def test_unstripped_checkpoint_uses_ema_weights(unstripped_detector_pt, shapes_images, tmp_path):
    raw = torch.load(unstripped_detector_pt, map_location="cpu", weights_only=False)  # our own fixture, trusted
    assert raw["optimizer"] is not None and raw["ema"] is not None  # Ultralytics 8.4 keeps model=None beside ema
    result = convert_checkpoint(unstripped_detector_pt, tmp_path / "out", verify_images=shapes_images[:2])
    assert result.report.passed
    ema = raw["ema"].float().state_dict()
    ours = result.model.model.state_dict()
    for key in ("model.22.cv3.0.2.weight", "model.0.conv.weight"):
        torch.testing.assert_close(ours[key], ema[key], rtol=0, atol=0)
    assert result.model.config.train_args["epochs"] == 40  # provenance comes from the unstripped file too


def test_half_precision_output_dtype(tiny_detector_pt, shapes_images, tmp_path):
    result = convert_checkpoint(tiny_detector_pt, tmp_path / "fp16", dtype="float16", verify_images=shapes_images[:1])
    assert result.report.passed  # verified in float32 before the cast
    model = YoloForObjectDetection.from_pretrained(tmp_path / "fp16")
    assert model.dtype == torch.float16  # dtype recorded in config.json is honoured


@pytest.mark.parametrize("release", ["8.1.47", "8.2.103", "8.3.40"])
def test_checkpoints_of_older_releases(release, legacy_checkpoint, tmp_path):
    try:
        checkpoint = legacy_checkpoint(release)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"could not install/train ultralytics=={release} here: {getattr(error, 'stderr', '')[-300:]}")
    result = convert_checkpoint(checkpoint, tmp_path / "out")
    assert result.report.passed and result.report.raw_max_abs_diff <= 1e-4
    assert result.model.config.ultralytics_version == release


def test_official_name_offline_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"yolo11n\.pt.*(download|offline)"):
        convert_checkpoint("yolo11n.pt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refuses_to_overwrite_non_empty_output(tiny_detector_pt, tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        convert_checkpoint(tiny_detector_pt, output, verify=False)
    assert (output / "notes.txt").read_text() == "mine"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_module_command_line(tiny_detector_pt, shapes_images, tmp_path):
    process = _run([sys.executable, "-m", "yolo_transformers.convert", str(tiny_detector_pt), "--output",
                    str(tmp_path / "cli"), "--image", str(shapes_images[0])], tmp_path)
    assert process.returncode == 0, process.stderr
    assert "max abs diff" in process.stdout and "PARITY OK" in process.stdout
    assert (process.stdout + process.stderr).count("raw head outputs") == 1  # the report is printed once
    assert (tmp_path / "cli" / "model.safetensors").is_file()


def test_yolo_hf_convert_is_the_same_command(tiny_detector_pt, shapes_images, tmp_path):
    process = _run([sys.executable, "-m", "yolo_transformers", "convert", str(tiny_detector_pt), "--output",
                    str(tmp_path / "cli"), "--image", str(shapes_images[0]), "-v"], tmp_path)
    assert process.returncode == 0, process.stderr
    assert "PARITY OK" in process.stdout
    assert (process.stdout + process.stderr).count("raw head outputs") == 1  # once, even with -v
    quiet = _run([sys.executable, "-m", "yolo_transformers", "-q", "convert", str(tiny_detector_pt), "--output",
                  str(tmp_path / "quiet"), "--no-verify"], tmp_path)
    assert quiet.returncode == 0 and "saved detect model" in quiet.stdout
    assert "wrote" not in quiet.stderr  # INFO logs are silenced by -q
    missing = _run([sys.executable, "-m", "yolo_transformers", "convert", str(tmp_path / "nope.pt")], tmp_path)
    assert missing.returncode == 1
    assert "nope.pt: no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_raw_outputs_may_differ_by_float32_rounding_of_their_magnitude():
    from yolo_transformers.convert.parity import RAW_ULPS, raw_output_difference

    keypoints = torch.tensor([[-2047.3, -1999.9, 1500.2, 2040.0]])  # pose keypoints decode to about ±2000 px
    one_ulp = torch.nextafter(keypoints, torch.full_like(keypoints, float("inf")))
    worst, ratio = raw_output_difference([keypoints], [one_ulp], False, 1e-4, RAW_ULPS)
    assert worst > 1e-4 and ratio <= 1.0  # a fixed 1e-4 refused this: one ulp at 2000 is 1.2e-4
    small = torch.tensor([[0.25, 3.0, 640.0]])
    worst, ratio = raw_output_difference([small], [small + 2e-4], False, 1e-4, RAW_ULPS)
    assert ratio == pytest.approx(2.0, rel=1e-2)  # small values keep the 1e-4 absolute tolerance
    far = keypoints + 0.05  # far more than rounding: refused even at ±2000
    assert raw_output_difference([keypoints], [far], False, 1e-4, RAW_ULPS)[1] > 1.0


def test_one_perturbed_weight_is_refused(tiny_detector_pt, shapes_images):
    from yolo_transformers.convert.parity import verify_conversion
    from yolo_transformers.errors import ParityError

    result = convert_checkpoint(tiny_detector_pt, verify=False)
    with torch.no_grad():
        result.model.model.model[4].cv1.conv.weight[0, 0, 0, 0] += 0.05  # one weight of one mid-network conv
    report = verify_conversion(result.checkpoint, result.model, result.processor, shapes_images[:1],
                               raise_on_failure=False)
    assert not report.raw_passed and not report.passed, report.summary()
    assert "PARITY FAILED" in report.summary() and "8 float32 ulps" in report.summary()
    with pytest.raises(ParityError, match="does not match Ultralytics"):
        verify_conversion(result.checkpoint, result.model, result.processor, shapes_images[:1])
