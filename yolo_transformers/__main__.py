"""``python -m yolo_transformers`` is the ``yolo-hf`` command line."""

import sys

from yolo_transformers.cli import main

sys.exit(main())
