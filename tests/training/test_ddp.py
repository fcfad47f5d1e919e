"""``YoloTrainer`` under ``accelerate launch --multi_gpu --num_processes 2`` on CPU (torchrun, DDP over gloo): ranks stay identical, loss falls.

BatchNorm statistics are per process (as in Ultralytics' own DDP), so only parameters are compared across ranks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.fixtures.reheaded_detector import make_new_classes_dataset

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_process_ddp_keeps_ranks_identical_and_the_loss_falls(converted_tiny_detector, tmp_path):
    data_yaml = make_new_classes_dataset(tmp_path / "data", train=32, val=2, seed=8)
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]),
           "YOLO_OFFLINE": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_port", "0", str(WORKER), str(converted_tiny_detector),
               str(data_yaml), str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]

    summaries = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["world_size"] for s in summaries] == [2, 2]
    assert summaries[0]["steps"] == summaries[1]["steps"] == 12  # 32 images / (2 ranks x 4) x 3 epochs
    assert summaries[0]["ema_updates"] == 12
    first, second = (load_file(tmp_path / f"rank{r}.safetensors") for r in (0, 1))
    assert first.keys() == second.keys() and len(first) > 100
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name
    losses = summaries[0]["losses"]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses
