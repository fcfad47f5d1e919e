"""``python -m yolo_transformers`` is the ``yolo-hf`` command line."""

import sys

from .cli import main

sys.exit(main())
