"""``evaluate`` on an ONNX Runtime model gives the PyTorch model's metrics, for every task ``evaluate`` serves.

Each task's tiny model (really trained, cached: ``tests/fixtures/tiny_tasks.py``) is converted, exported to ONNX
(verified on two validation images), loaded with ``from_pretrained(..., runtime="onnx")`` and evaluated on the
validation split of the dataset it learned from, beside the PyTorch model, with the same settings as
``tests/training/test_task_evaluation.py``. The detector is covered in ``test_export.py``.
"""

from __future__ import annotations

import pytest

from tests.fixtures.tiny_tasks import TRAINED, trained_task_data, trained_task_images
from yolo_transformers.auto import model_class_for_task
from yolo_transformers.data import load_yolo_dataset
from yolo_transformers.image_processing_auto import processor_for_config
from yolo_transformers.runtime import YoloRuntimeModel
from yolo_transformers.training import evaluate

#: The headline figure of each task, which must be clearly above zero for the comparison to mean anything.
HEADLINE = {"segment": "mAP50(M)", "pose": "mAP50(P)", "obb": "mAP50-95(B)", "classify": "accuracy_top1",
            "semantic": "mIoU", "depth": "delta1"}
#: Verification thresholds of the export giving detections on the tiny models' images (as in test_export.py).
EXPORT_THRESHOLD = {"segment": 1e-3, "pose": 1e-4, "obb": 1e-3}
#: Raw outputs differ by ~1e-7 (see test_export.py); metrics computed from them may move in the last digits only.
TOLERANCE = 1e-4


@pytest.mark.parametrize("task", sorted(HEADLINE))
def test_evaluate_on_onnx_model_equals_evaluate_on_pytorch(task, converted_task_model, trained_task_checkpoint,
                                                           tmp_path):
    imgsz = TRAINED[task][1]
    source = converted_task_model(trained_task_checkpoint(task)).output_dir
    model = model_class_for_task(task).from_pretrained(source).eval()
    processor = processor_for_config(model.config)
    model.export(tmp_path / "export", format="onnx", processor=processor, images=trained_task_images(task)[:2],
                 threshold=EXPORT_THRESHOLD.get(task))
    runtime_model = model_class_for_task(task).from_pretrained(tmp_path / "export", runtime="onnx")
    assert isinstance(runtime_model, YoloRuntimeModel)
    validation = load_yolo_dataset(trained_task_data(task), cache_dir=tmp_path / "cache")["validation"]

    theirs = evaluate(model, validation, image_size=imgsz, batch_size=8)
    ours = evaluate(runtime_model, validation, image_size=imgsz, batch_size=8)

    assert theirs[HEADLINE[task]] > 0.05
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=TOLERANCE), key
