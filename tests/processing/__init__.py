"""Tests of yolo_transformers.processing."""
