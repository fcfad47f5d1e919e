"""``yolo-hf export`` from a Hub repo, ``yolo-hf push`` of the exported folder (graph + card), and the graph loaded
back from the repo with ``runtime="onnx"``, all over HTTP against the local Hub server."""

from __future__ import annotations

import pytest
from transformers import AutoImageProcessor, AutoModelForObjectDetection

from tests.helpers import HUB_WARNINGS
from yolo_transformers.cli import main
from yolo_transformers.hub import upload_model
from yolo_transformers.convert.parity import our_task_results as task_results
from yolo_transformers.processing.result_comparison import TOLERANCES, compare_task_results, read_image_bgr
from yolo_transformers.runtime import YoloRuntimeModel

pytestmark = HUB_WARNINGS


def test_export_from_repo_push_with_graph_and_run_it_from_the_repo(
    hub_server, hub_repo_name, converted_tiny_detector, shapes_images, tmp_path, capsys
):
    repo_id, token = hub_repo_name(), hub_server.token("alice")
    upload_model(converted_tiny_detector, repo_id, token=token)
    exported = tmp_path / "exported"

    assert main(["export", repo_id, "--format", "onnx", "--output", str(exported), "--token", token,
                 "--image", str(shapes_images[0])]) == 0
    printed = capsys.readouterr().out
    assert "EXPORT PARITY OK" in printed and f"wrote {exported / 'onnx/model.onnx'}" in printed
    assert main(["push", "--model", str(exported), "--repo", repo_id, "--token", token, "--overwrite-card"]) == 0

    files = hub_server.files(repo_id)
    assert files["onnx/model.onnx"] == (exported / "onnx/model.onnx").read_bytes()
    card = files["README.md"].decode()
    assert 'from_pretrained("' + repo_id + '", runtime="onnx")' in card and 'yolo-transformers[onnx]' in card
    assert "`onnx/model.onnx`, opset 17" in card and "openvino/model.xml" not in card

    runtime_model = AutoModelForObjectDetection.from_pretrained(repo_id, runtime="onnx", token=token)
    model = AutoModelForObjectDetection.from_pretrained(repo_id, token=token).eval()
    processor = AutoImageProcessor.from_pretrained(repo_id, token=token)
    assert isinstance(runtime_model, YoloRuntimeModel)
    image = read_image_bgr(shapes_images[1])
    reference, ours = task_results(model, processor, image, 0.25), task_results(runtime_model, processor, image, 0.25)
    parity = compare_task_results(reference, ours, "detect", shapes_images[1].name)
    assert parity.passed(TOLERANCES) and parity.reference_count > 0, parity.describe(("pytorch", "onnx"))


def test_export_usage_errors_and_refusals(converted_tiny_detector, tmp_path, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["export", str(converted_tiny_detector), "--format", "tensorrt", "--output", str(tmp_path)])
    assert usage.value.code == 2
    assert main(["export", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 1
    assert "error" in capsys.readouterr().err and not (tmp_path / "out").exists()
