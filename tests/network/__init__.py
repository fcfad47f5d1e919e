"""Tests of yolo_transformers.network."""
