"""Model cards: Hub metadata that parses back, a readable body, and the training-curves picture."""

from __future__ import annotations

import copy
import hashlib
import re
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from tests.helpers import REPO_ROOT
from yolo_transformers import YoloForObjectDetection
from yolo_transformers.cards.model_card import (
    TEMPLATE_NAME,
    TRAINING_CURVES_FILENAME,
    card_metadata,
    generate_model_card,
    write_card_assets,
)
from yolo_transformers.convert import convert_checkpoint
from yolo_transformers.tasks import TASK_SPECS

PIPELINE_TAGS = {name: spec.pipeline_tag for name, spec in TASK_SPECS.items()}
from yolo_transformers.errors import HubError

REPO_ID = "alice/yolov8n-shapes"


@pytest.fixture(scope="module")
def tiny_model(converted_tiny_detector):
    return YoloForObjectDetection.from_pretrained(converted_tiny_detector).eval()


@pytest.fixture(scope="module")
def tiny_card(tiny_model):
    return generate_model_card(tiny_model, repo_id=REPO_ID, datasets="alice/shapes", base_model="Ultralytics/YOLOv8")


@pytest.fixture(scope="module")
def random_config(yaml_checkpoint):
    """A yolo26n built from yaml: no metrics, no per-epoch results."""
    return convert_checkpoint(yaml_checkpoint("yolo26n.yaml"), verify=False).model.config


def _front_matter(text: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "card must start with a YAML block"
    return yaml.safe_load(match.group(1))


def test_metadata_parses_back_with_the_metrics(tiny_card, tiny_model, tmp_path):
    path = tmp_path / "README.md"
    tiny_card.save(path)
    data = ModelCard.load(path).data
    assert data.pipeline_tag == "object-detection" and data.library_name == "transformers"
    assert data.license == "agpl-3.0"
    assert {"yolo", "ultralytics", "yolov8", "detect", "yolo-transformers", "object-detection"} <= set(data.tags)
    assert data.datasets == ["alice/shapes"] and data.base_model == "Ultralytics/YOLOv8"
    values = {result.metric_type: result.metric_value for result in data.eval_results}
    metrics = tiny_model.config.metrics
    assert values == pytest.approx({
        "mAP50": metrics["metrics/mAP50(B)"], "mAP50-95": metrics["metrics/mAP50-95(B)"],
        "precision": metrics["metrics/precision(B)"], "recall": metrics["metrics/recall(B)"]}, abs=1e-5)
    assert {r.task_type for r in data.eval_results} == {"object-detection"}
    assert {r.dataset_type for r in data.eval_results} == {"alice/shapes"}
    assert ModelCard(str(tiny_card)).data.to_dict() == data.to_dict()


def test_model_index_has_the_hub_shape(tiny_card):
    index = _front_matter(str(tiny_card))["model-index"]
    assert index[0]["name"] == "yolov8n-shapes"
    result = index[0]["results"][0]
    assert result["task"]["type"] == "object-detection"
    assert result["dataset"]["name"] and result["dataset"]["type"]
    assert all(isinstance(m["value"], float) and m["type"] and m["name"] for m in result["metrics"])


def test_card_validates_against_the_hub_endpoint(tiny_card, hub_server):
    tiny_card.validate()  # POST /api/validate-yaml on HF_ENDPOINT (the local Hub); raises ValueError when rejected


def test_body_is_worth_reading(tiny_card, tiny_model):
    text = str(tiny_card)
    config = tiny_model.config
    for row in ("| 0 | rectangle |", "| 1 | ellipse |"):
        assert row in text
    assert "YOLOv8" in text and "128 px" in text and "3.01 M" in text
    assert f'pipeline("object-detection", model="{REPO_ID}")' in text
    assert f'YoloForObjectDetection.from_pretrained("{REPO_ID}")' in text and "post_process_object_detection" in text
    assert f"yolo-hf pull --repo {REPO_ID} --format ultralytics --output yolov8n-shapes" in text
    assert 'YOLO("yolov8n-shapes/yolov8n-shapes.pt")' in text
    for row in ("| `epochs` | 40 |", "| `imgsz` | 128 |", "| `batch` | 16 |", "| `optimizer` | AdamW |",
                "| `lr0` | 0.001667 |", "| `data` | shapes/data.yaml |"):
        assert row in text
    assert config.source_sha256 in text and config.ultralytics_version in text and config.converter_version in text
    assert config.training_date[:10] in text
    assert "AGPL-3.0" in text and "GNU Affero General Public License" in text
    assert f"![Training curves]({TRAINING_CURVES_FILENAME})" in text
    # the checkpoint's own final metric (training differs across CPUs), rounded to 5 places and printed with 4 as
    # the card does (model_card._final_metrics, then f"{value:.4f}")
    map50_95 = round(float(config.metrics["metrics/mAP50-95(B)"]), 5)
    assert f"| mAP50-95 | {map50_95:.4f} |" in text


def test_snippets_are_valid_python(tiny_card):
    blocks = re.findall(r"```python\n(.*?)```", str(tiny_card), re.S)
    assert len(blocks) == 3
    for block in blocks:
        compile(block, "<card>", "exec")


def test_card_leaks_no_local_paths_or_tokens(tiny_model, monkeypatch, tmp_path):
    secret = "hf_" + "x" * 34
    monkeypatch.setenv("HF_TOKEN", secret)
    card = generate_model_card(tiny_model, repo_id=REPO_ID)
    files = [str(card)] + [p.read_bytes().decode("latin-1") for p in write_card_assets(tiny_model.config, tmp_path)]
    data_path = tiny_model.config.train_args["data"]
    for content in files:
        assert secret not in content and "hf_" not in content.replace("yolo-hf", "")
        assert data_path not in content and str(Path(data_path).parent.parent) not in content


def test_training_curves_png(tiny_model, tmp_path):
    from PIL import Image

    from yolo_transformers.cards.training_curves import training_curves_figure

    written = write_card_assets(tiny_model.config, tmp_path)
    assert written == [tmp_path / TRAINING_CURVES_FILENAME]
    with Image.open(written[0]) as image:
        image.verify()
    with Image.open(written[0]) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1] >= 300
    figure = training_curves_figure(tiny_model.config.train_results)
    loss_axes, metric_axes = figure.axes
    assert len(figure.axes) == 2
    assert {line.get_label() for line in loss_axes.lines} >= {"train/box_loss", "val/box_loss"}
    assert {line.get_label() for line in metric_axes.lines} == {"metrics/mAP50(B)", "metrics/mAP50-95(B)"}
    assert len(metric_axes.lines[0].get_xdata()) == 40
    # byte-identical on re-render, so re-pushing an unchanged model uploads nothing new
    digest = hashlib.sha256(written[0].read_bytes()).hexdigest()
    write_card_assets(tiny_model.config, tmp_path)
    assert hashlib.sha256(written[0].read_bytes()).hexdigest() == digest


def test_model_without_metrics_or_results(random_config, tmp_path):
    assert not random_config.metrics and not random_config.train_results
    assert write_card_assets(random_config, tmp_path) == [] and not list(tmp_path.iterdir())
    card = generate_model_card(random_config)
    text = str(card)
    assert card.data.eval_results is None and "model-index" not in text and "model_name" not in text
    assert "Training curves" not in text and "## Evaluation" not in text
    assert "yolo26" in card.data.tags and "YOLO26" in text
    assert 'model="your-username/yolo26n"' in text
    assert ModelCard(text).data.pipeline_tag == "object-detection"


def test_config_with_no_provenance_at_all(random_config):
    config = copy.deepcopy(random_config)
    config.train_args = config.source_sha256 = config.ultralytics_version = config.training_date = None
    text = str(generate_model_card(config, repo_id="bob/plain"))
    assert "## Training" not in text and "## License" in text
    assert "<summary>80 classes</summary>" in text and "| 79 | 79 |" in text  # long tables are folded


def test_end_to_end_models_say_nms_false(random_config):
    config = copy.deepcopy(random_config)
    config.end_to_end = True
    text = str(generate_model_card(config, repo_id="bob/e2e"))
    assert 'predict("image.jpg", nms=False)' in text and "NMS-free" in text


def test_user_controlled_names_cannot_break_the_table(random_config):
    config = copy.deepcopy(random_config)
    config.id2label = {**config.id2label, 0: "a|b <script>x</script>\nnew line"}
    text = str(generate_model_card(config))
    assert "| 0 | a\\|b &lt;script&gt;x&lt;/script&gt; new line |" in text and "<script>" not in text


@pytest.mark.parametrize("bad", ["not a repo id", "../../etc", "a/b/c"])
def test_invalid_repo_ids_are_refused(random_config, bad):
    with pytest.raises(HubError, match="repo"):
        generate_model_card(random_config, repo_id=bad)
    with pytest.raises(HubError, match="datasets"):
        generate_model_card(random_config, datasets=[bad])


@pytest.mark.parametrize("task, tag", sorted(PIPELINE_TAGS.items()))
def test_pipeline_tag_of_every_task(random_config, task, tag):
    config = copy.deepcopy(random_config)
    config.task = task
    data = card_metadata(config, model_name="m")
    assert data.pipeline_tag == tag and task in data.tags and tag in data.tags


def test_template_ships_with_the_package():
    assert resources.files("yolo_transformers.model_cards").joinpath(TEMPLATE_NAME).is_file()
    if sys.version_info >= (3, 11):
        import tomllib

        pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
        assert "*.jinja" in pyproject["tool"]["setuptools"]["package-data"]["yolo_transformers.model_cards"]


@pytest.mark.parametrize("task", sorted(PIPELINE_TAGS))
def test_usage_snippets_of_every_task_compile_and_call_its_post_processing(random_config, task):
    config = copy.deepcopy(random_config)
    config.task = task
    text = str(generate_model_card(config, repo_id="alice/m"))
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    for block in blocks:
        compile(block, "<card>", "exec")
    expected = {"detect": "post_process_object_detection", "segment": "post_process_instance_segmentation",
                "pose": "post_process_pose_estimation", "obb": "post_process_oriented_object_detection",
                "semantic": "post_process_semantic_segmentation", "depth": "post_process_depth_estimation",
                "classify": "post_process_image_classification"}[task]
    assert expected in text
    assert ('pipeline("keypoint-detection"' in text) is False  # transformers has no pose pipeline


@pytest.mark.parametrize(
    ("where", "expected"),
    [("hub", "alice/shapes-v2"), ("folder", "shapes-set"), ("yaml in cwd", "shapes-set"), ("bare data.yaml", None)],
)
def test_model_index_names_the_evaluation_dataset(tiny_model, tmp_path, monkeypatch, where, expected):
    from yolo_transformers.training.evaluation import record_metrics

    model = copy.deepcopy(tiny_model)
    metrics = {"mAP50-95": 0.5, "mAP50": 0.7, "mAP75": 0.6, "precision": 0.8, "recall": 0.6}
    folder = tmp_path / "shapes-set"
    folder.mkdir()
    (folder / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [a]\n")
    monkeypatch.chdir(folder)
    if where == "bare data.yaml":  # what Ultralytics' train_args hold when `yolo train data=data.yaml` ran elsewhere
        model.config.train_args = {**(model.config.train_args or {}), "data": "data.yaml"}
        model.config.metrics = {"metrics/mAP50-95(B)": 0.5}
    else:
        dataset = {"hub": "alice/shapes-v2", "folder": str(folder), "yaml in cwd": "data.yaml"}[where]
        record_metrics(model, metrics, dataset=dataset, split="validation")
    results = card_metadata(model.config, model_name="m").eval_results
    if expected is None:
        assert results is None or results == []
        assert "name: data\n" not in str(generate_model_card(model, repo_id=REPO_ID))
    else:
        assert {(r.dataset_type, r.dataset_name) for r in results} == {(expected, expected)}
