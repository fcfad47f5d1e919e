"""Ultralytics' own training losses, fed with transformers-format labels.

Below the models (their ``forward(labels=...)`` calls :func:`~yolo_transformers.loss.yolo_loss.task_loss`):
:mod:`.targets` turns labels into Ultralytics' batch, :mod:`.yolo_loss` runs the network's own criterion.
"""
