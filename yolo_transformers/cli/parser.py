"""What every ``yolo-hf`` parser shares: the exit codes in ``--help``, ``-v``/``-q`` at every level, ``--version``."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["EXIT_CODES", "CommandParser", "version_line", "configure_logging"]

#: What every ``--help`` ends with.
EXIT_CODES = "exit codes: 0 success, 1 failure (the error is printed on one line), 2 usage error"


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help ends with the exit codes and that accepts ``-v``/``-q`` at every level.

    Sub-command parsers add the options with a suppressed default, so ``yolo-hf -v push ...`` and
    ``yolo-hf push ... -v`` both set ``verbose`` and neither resets what the other level set.
    """

    def __init__(self, *args, top_level: bool = False, **kwargs) -> None:
        epilog = kwargs.get("epilog")
        kwargs["epilog"] = f"{epilog.rstrip()}\n\n{EXIT_CODES}" if epilog else EXIT_CODES
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        default = False if top_level else argparse.SUPPRESS
        loudness = self.add_mutually_exclusive_group()
        loudness.add_argument("-v", "--verbose", action="store_true", default=default, help="print debug logs")
        loudness.add_argument("-q", "--quiet", action="store_true", default=default,
                              help="print only warnings, errors and results")


def version_line() -> str:
    """``yolo-hf X (transformers Y, ultralytics Z, torch W, ...)``: the versions that matter for a bug report."""
    from importlib import metadata

    from ..version import __version__

    found = []
    for name in ("transformers", "ultralytics", "torch", "huggingface_hub", "datasets"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return f"yolo-hf {__version__} ({', '.join(found)})"



def configure_logging(args: argparse.Namespace) -> None:
    """Log to stderr: debug with ``-v``, warnings only with ``-q``, else info."""
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
