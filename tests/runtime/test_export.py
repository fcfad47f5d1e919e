"""ONNX / OpenVINO export of every task: verified before writing, loaded with ``from_pretrained(..., runtime=)``,
and predicting what the PyTorch model predicts through the same processor and post-processing.

Models: the trained tiny detector, the trained tiny segment / pose / classify models (real detections at the default
threshold), and obb / semantic / depth built from yaml with seeded random weights, run at 128 px and compared at a
very low threshold (hundreds of nearly tied detections for obb).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoImageProcessor, AutoModel, AutoModelForObjectDetection

from yolo_transformers.image_processing_auto import processor_for_config
from yolo_transformers.errors import ExportError, ExportParityError, MissingExtraError
from yolo_transformers.convert.parity import our_task_results as task_results
from yolo_transformers.processing.result_comparison import TOLERANCES, compare_task_results, read_image_bgr
from yolo_transformers.runtime import ONNX_OPSET, YoloRuntimeModel

RUNTIMES = ("onnx", "openvino")
GRAPH = {"onnx": "onnx/model.onnx", "openvino": "openvino/model.xml"}
TRAINED = {"segment": 1e-3, "pose": 1e-4, "classify": None}  # thresholds giving detections (as in test_tasks_trained)
FROM_YAML = {"obb": "yolo11n-obb.yaml", "semantic": "yolo26n-sem.yaml", "depth": "yolo26n-depth.yaml"}
SMALL = 128  # yaml models run at 128 px here: the comparisons are the same, the exports faster
LOW_CONF = 1e-6  # random weights: scores sit near the class prior (~1e-5)


@pytest.fixture(scope="module")
def task_source(trained_task_checkpoint, trained_task_images, converted_task_model, converted_tiny_detector,
                shapes_images, small_image):
    """``task_source(task)`` -> (PyTorch model, processor, verification images, threshold), once per task."""
    made = {}

    def make(task: str):
        if task not in made:
            if task == "detect":
                folder, images, threshold = converted_tiny_detector, shapes_images[:2], None
            elif task in TRAINED:
                images = trained_task_images(task)[:2]
                folder = converted_task_model(trained_task_checkpoint(task), images=images).output_dir
                threshold = TRAINED[task]
            else:
                folder, images, threshold = converted_task_model(FROM_YAML[task]).output_dir, [small_image], LOW_CONF
            model = AutoModel.from_pretrained(folder).eval()
            if task in FROM_YAML:
                model.config.image_size = SMALL
                processor = processor_for_config(model.config)
            else:
                processor = AutoImageProcessor.from_pretrained(folder)
            made[task] = (model, processor, images, threshold)
        return made[task]

    return make


@pytest.fixture(scope="module")
def exported(task_source, tmp_path_factory):
    """``exported(task, runtime)`` -> the folder ``model.export`` wrote (verified), once per pair."""
    made = {}

    def make(task: str, runtime: str):
        if (task, runtime) not in made:
            model, processor, images, threshold = task_source(task)
            folder = tmp_path_factory.mktemp(f"export-{task}-{runtime}")
            result = model.export(folder, format=runtime, processor=processor, images=images, threshold=threshold)
            assert result.report.passed and result.files[0] == GRAPH[runtime]
            made[task, runtime] = folder
        return made[task, runtime]

    return make


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("task", ["detect", "segment", "pose", "obb", "classify", "semantic", "depth"])
def test_runtime_model_predicts_what_pytorch_predicts(task, runtime, task_source, exported):
    model, processor, images, threshold = task_source(task)
    folder = exported(task, runtime)
    assert {"config.json", "preprocessor_config.json", "model.safetensors", GRAPH[runtime]} <= {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    runtime_model = AutoModel.from_pretrained(folder, runtime=runtime)
    assert isinstance(runtime_model, YoloRuntimeModel) and runtime_model.output_class is model.output_class
    conf = float(model.config.conf_threshold if threshold is None else threshold)
    compared = 0
    for path in images:
        image = read_image_bgr(path)
        reference = task_results(model, processor, image, conf)
        ours = task_results(runtime_model, processor, image, conf)
        parity = compare_task_results(reference, ours, task, path.name)
        assert parity.passed(TOLERANCES), parity.describe(("pytorch", runtime))
        compared += parity.reference_count
    assert compared > 0  # something was compared: detections, probabilities or pixels


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_graph_has_dynamic_batch_and_image_size(runtime, task_source, exported):
    """Batch 3 at a different (stride-multiple) size than the graph was traced at gives PyTorch's raw outputs."""
    model, _, _, _ = task_source("segment")
    runtime_model = AutoModel.from_pretrained(exported("segment", runtime), runtime=runtime)
    pixel_values = torch.rand(3, 3, 64, 160, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference, ours = model(pixel_values=pixel_values), runtime_model(pixel_values=pixel_values)
    for name in ("logits", "pred_boxes", "mask_coefficients", "proto_masks"):
        assert ours[name].shape == reference[name].shape
        torch.testing.assert_close(ours[name], reference[name], atol=1e-4, rtol=1e-4)


def test_onnx_graph_states_its_opset_and_dynamic_axes(exported):
    import onnx

    graph = onnx.load(str(exported("detect", "onnx") / GRAPH["onnx"]))
    assert {entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx")} == {ONNX_OPSET}
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims[:1] + dims[2:]] == ["batch", "height", "width"] and dims[1].dim_value == 3
    assert [o.name for o in graph.graph.output] == ["logits", "pred_boxes"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pipeline_takes_the_runtime_model(runtime, exported, shapes_images):
    from transformers import pipeline

    folder = exported("detect", runtime)
    expected = pipeline("object-detection", model=str(folder))(str(shapes_images[0]), threshold=0.25)
    detector = pipeline("object-detection", model=str(folder), model_kwargs={"runtime": runtime})
    assert isinstance(detector.model, YoloRuntimeModel)
    found = detector(str(shapes_images[0]), threshold=0.25)
    assert len(found) == len(expected) > 0
    for ours, theirs in zip(sorted(found, key=lambda d: -d["score"]), sorted(expected, key=lambda d: -d["score"])):
        assert ours["label"] == theirs["label"] and abs(ours["score"] - theirs["score"]) <= 1e-3
        assert max(abs(ours["box"][k] - theirs["box"][k]) for k in theirs["box"]) <= 1


@pytest.mark.parametrize("task, pipeline_task", [("classify", "image-classification"),
                                                 ("semantic", "image-segmentation"), ("depth", "depth-estimation")])
def test_other_pipelines_take_the_runtime_model(task, pipeline_task, exported, task_source):
    from transformers import pipeline

    folder = exported(task, "onnx")
    image = str(task_source(task)[2][0])
    expected = pipeline(pipeline_task, model=str(folder))(image)
    found = pipeline(pipeline_task, model=str(folder), model_kwargs={"runtime": "onnx"})(image)
    if task == "depth":
        torch.testing.assert_close(found["predicted_depth"], expected["predicted_depth"], rtol=1e-4, atol=1e-6)
        return
    assert [entry["label"] for entry in found] == [entry["label"] for entry in expected] and found
    if task == "classify":
        assert max(abs(a["score"] - b["score"]) for a, b in zip(found, expected)) <= 1e-4
    else:
        agreement = [(np.asarray(a["mask"]) == np.asarray(b["mask"])).mean() for a, b in zip(found, expected)]
        assert min(agreement) >= 0.999


def test_evaluate_takes_the_runtime_model(exported, task_source, shapes_dataset):
    from yolo_transformers import evaluate
    from yolo_transformers.data import load_yolo_dataset

    model, processor, _, _ = task_source("detect")
    validation = load_yolo_dataset(shapes_dataset)["validation"].select(range(8))
    runtime_model = AutoModelForObjectDetection.from_pretrained(exported("detect", "onnx"), runtime="onnx")
    theirs = evaluate(model, validation, processor)
    ours = evaluate(runtime_model, validation, processor)
    assert theirs["mAP50-95"] > 0.1
    assert ours == pytest.approx(theirs, abs=1e-4)


def test_export_that_differs_is_refused_and_writes_nothing(task_source, tmp_path, caplog):
    """A tolerance no float32 runtime meets (the graph's raw outputs differ from PyTorch's in the last bits)."""
    model, processor, images, _ = task_source("classify")
    with pytest.raises(ExportParityError) as refused:
        model.export(tmp_path / "out", format="onnx", processor=processor, images=images[:1], raw_tolerance=0.0,
                     tolerances={"max_prob_diff": 0.0})
    message = str(refused.value)
    assert "EXPORT PARITY FAILED" in message and "logits" in message and "max_prob_diff" in message
    assert not (tmp_path / "out").exists()


def test_missing_runtime_names_the_extra(exported, monkeypatch):
    import sys

    folder = exported("detect", "onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an environment without it raises on import
    with pytest.raises(MissingExtraError, match=r'pip install "yolo-transformers\[onnx\]"'):
        AutoModel.from_pretrained(folder, runtime="onnx")


def test_graph_with_foreign_outputs_or_no_graph_is_refused(exported, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    folder = exported("detect", "onnx")
    with pytest.raises(ExportError, match="export it first"):  # this folder holds the ONNX graph only
        AutoModel.from_pretrained(folder, runtime="openvino")
    for name in ("config.json", "preprocessor_config.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    node = helper.make_node("Identity", ["pixel_values"], ["secrets"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("secrets", TensorProto.FLOAT, None)])
    (tmp_path / "onnx").mkdir()
    onnx.save(helper.make_model(graph), str(tmp_path / GRAPH["onnx"]))
    with pytest.raises(ExportError, match="secrets"):
        AutoModel.from_pretrained(tmp_path, runtime="onnx")
    with pytest.raises(ExportError, match="not one of"):
        AutoModel.from_pretrained(folder, runtime="tensorrt")


def test_runtime_model_refuses_training(exported):
    runtime_model = AutoModel.from_pretrained(exported("detect", "onnx"), runtime="onnx")
    with pytest.raises(ExportError, match="PyTorch model"):
        runtime_model(pixel_values=torch.zeros(1, 3, 64, 64), labels=[{}])
    assert np.isfinite(runtime_model(pixel_values=torch.zeros(1, 3, 64, 64)).logits.numpy()).all()
