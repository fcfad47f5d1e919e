"""Tests of yolo_transformers.hub."""
