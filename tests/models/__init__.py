"""Tests of the top-level modules: configuration_yolo, modeling_yolo*, image_processing_yolo*, auto, errors."""
