"""Test-session set-up. Environment is fixed here, before any library reads it at import time.

Layout: ``tests/<subpackage>/`` mirrors ``yolo_transformers/<subpackage>/`` (``tests/models/`` holds the tests of the
top-level model, processor and config modules, ``tests/security/`` the hostile-input tests). Every fixture that
builds a model, checkpoint or image is in ``tests/fixtures/plugin.py``; the local Hub and its fixtures are in
``tests/hub_server/``; helpers shared by test modules are in ``tests/helpers.py`` (test modules never import each
other); generated datasets come from ``tests/data_factory.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("YOLO_OFFLINE", "1")  # Ultralytics would otherwise probe public DNS names
os.environ["HF_HUB_DISABLE_XET"] = "1"  # classic LFS protocol against the local Hub server
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The local Hub must be set up before anything imports huggingface_hub or datasets: it binds
# a loopback port and sets HF_ENDPOINT, HF_HUB_DISABLE_XET and a private HF_HOME (all read at import time).
import pytest  # noqa: E402

pytest.register_assert_rewrite("tests.hub_server")
import tests.hub_server.fixtures  # noqa: E402,F401

pytest_plugins = ["tests.hub_server.fixtures", "tests.fixtures.plugin"]
