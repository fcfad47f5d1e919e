"""Tests of yolo_transformers.convert."""
