"""Tests of yolo_transformers.cards."""
