"""Images in, predictions out: Ultralytics' letterbox, NMS and every task's post-processing.

The image processors at the package top (``image_processing_yolo*.py``) are assembled from these modules.
"""
