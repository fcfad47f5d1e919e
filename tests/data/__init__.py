"""Tests of yolo_transformers.data."""
