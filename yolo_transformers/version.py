"""The package's identity, at the bottom of the import graph so that every layer can record it: its version, the
library name the Hub client reports, and the tag every card of this library carries (``list_models`` filters on it).
"""

__version__ = "0.1.0"

#: The tag every card written by this library carries; ``list_models`` filters on it.
LIBRARY_TAG = "yolo-transformers"
#: How this library names itself to the Hub (user agent of every request).
LIBRARY_NAME = "yolo_transformers"
