"""Test-session set-up. Environment is fixed here, before any library reads it at import time."""

from __future__ import annotations

import os

os.environ.setdefault("YOLO_OFFLINE", "1")  # Ultralytics would otherwise probe public DNS names
os.environ["HF_HUB_DISABLE_XET"] = "1"  # classic LFS protocol against the local Hub server
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
