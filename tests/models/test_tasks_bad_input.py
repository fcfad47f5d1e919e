"""Task models refuse what they cannot serve, with errors that name the task and the way out."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from yolo_transformers import (
    ConfigError,
    TaskMismatchError,
    UnsupportedTaskError,
    YoloClassificationImageProcessor,
    YoloConfig,
    YoloForPoseEstimation,
    YoloForSemanticSegmentation,
    YoloImageProcessor,
)
from yolo_transformers.cli.convert_cmd import main
from yolo_transformers.convert import convert_checkpoint


@pytest.mark.parametrize(
    ("build", "model_yaml", "what"),
    [
        ("RTDETR", "yolov8n-rtdetr.yaml", "RT-DETR"),
        ("YOLO", "yolov8n-world.yaml", "YOLO-World"),
        ("YOLO", "yoloe-11n.yaml", "YOLOE"),
        ("YOLO", "yoloe-26n-seg.yaml", "YOLOE"),
    ],
)
def test_unsupported_checkpoints_are_refused_naming_the_task_and_what_is_supported(build, model_yaml, what, tmp_path,
                                                                                  capsys):
    import ultralytics

    checkpoint = tmp_path / (model_yaml.replace(".yaml", "") + "-random.pt")
    getattr(ultralytics, build)(model_yaml).save(str(checkpoint))
    with pytest.raises(UnsupportedTaskError, match=rf"is a {what} .*checkpoint.*serves the YOLO tasks detect, segment"):
        convert_checkpoint(checkpoint, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main([str(checkpoint), "--output", str(tmp_path / "cli")]) == 1  # the command line says the same
    assert what in capsys.readouterr().err


def test_a_folder_of_another_task_is_refused_by_a_task_class(tmp_path, converted_task_model):
    folder = converted_task_model("yolo11n-seg.yaml").output_dir
    with pytest.raises(TaskMismatchError, match="describes a 'segment' model but YoloForSemanticSegmentation serves"):
        YoloForSemanticSegmentation.from_pretrained(folder)
    config = YoloConfig.from_pretrained(folder)
    with pytest.raises(TaskMismatchError, match="config.task='segment' but YoloForPoseEstimation serves task 'pose'"):
        YoloForPoseEstimation(config)


def test_pose_config_whose_kpt_shape_disagrees_with_the_architecture(tmp_path, converted_task_model):
    folder = tmp_path / "pose"
    shutil.copytree(converted_task_model("yolo11n-pose.yaml").output_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    assert config["kpt_shape"] == [17, 3]
    config["kpt_shape"] = [4, 3]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"config.kpt_shape=\[4, 3\] disagrees with architecture.kpt_shape=\[17, 3\]"):
        YoloForPoseEstimation.from_pretrained(folder)


def test_post_processing_the_wrong_outputs_is_a_clear_error(converted_task_model):
    result = converted_task_model("yolo26n-sem.yaml")
    with torch.no_grad():
        outputs = result.model(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="no 'pred_boxes'; expected instance segmentation outputs"):
        YoloImageProcessor().post_process_instance_segmentation(outputs, 0.25, [(64, 64)])
    with pytest.raises(ValueError, match="no 'predicted_depth'"):
        YoloImageProcessor().post_process_depth_estimation(outputs, [(64, 64)])
    with pytest.raises(ValueError, match="Expected classification outputs with logits"):
        YoloClassificationImageProcessor().post_process_image_classification(outputs)
    with pytest.raises(ValueError, match="Got 2 target sizes for a batch of 1"):
        result.processor.post_process_semantic_segmentation(outputs, [(64, 64), (32, 32)])
    with pytest.raises(ValueError, match=r"mask_threshold must be in \(0, 1\)"):
        seg = converted_task_model("yolo11n-seg.yaml")
        with torch.no_grad():
            seg_outputs = seg.model(torch.rand(1, 3, 64, 64))
        seg.processor.post_process_instance_segmentation(seg_outputs, 0.0, [(64, 64)], mask_threshold=1.0)
