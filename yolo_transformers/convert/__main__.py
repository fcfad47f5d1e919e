"""``python -m yolo_transformers.convert best.pt``: the ``yolo-hf convert`` command."""

import sys

from ..cli.convert_cmd import main

sys.exit(main())
