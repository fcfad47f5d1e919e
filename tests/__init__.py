"""Test suite of yolo_transformers."""
