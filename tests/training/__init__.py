"""Tests of yolo_transformers.training."""
