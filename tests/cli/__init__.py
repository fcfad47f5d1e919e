"""Tests of yolo_transformers.cli."""
