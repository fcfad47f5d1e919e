"""The ``yolo-hf`` command line: one sub-command module per job.

Each sub-command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Exit codes: 0 ok, 1 failure, 2 usage error. Set ``YOLO_HF_TRACEBACK=1`` for full tracebacks. ``-v``/``-q`` are
accepted before or after the sub-command (every parser is a :class:`CommandParser`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from typing import Sequence

from .parser import CommandParser, configure_logging, version_line

__all__ = ["main", "build_parser"]

_COMMAND_MODULES = ("convert", "export", "push", "pull", "list", "dataset", "eval", "train")

logger = logging.getLogger("yolo_transformers.cli")

#: HTTP client loggers that log every request at INFO.
_CHATTY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level ``yolo-hf`` parser with every available sub-command."""
    parser = CommandParser(
        prog="yolo-hf",
        description="Ultralytics YOLO <-> Hugging Face: convert checkpoints, push/pull models and datasets.",
        top_level=True,
    )
    parser.add_argument("--version", action="version", version=version_line())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"yolo_transformers.cli.{name}_cmd")
        except ModuleNotFoundError as error:
            if error.name != f"yolo_transformers.cli.{name}_cmd":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``yolo-hf`` and return its exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args)
    for name in _CHATTY_LOGGERS:  # one "HTTP Request: ..." line per Hub call is noise; -v shows them
        logging.getLogger(name).setLevel(logging.NOTSET if args.verbose else logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    tokens = _known_tokens(args)
    redacting = _RedactingFilter(tokens)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:  # debug logs of the HTTP layer print response headers, which may echo a token
        handler.addFilter(redacting)
    try:
        return _run(args, tokens)
    finally:
        for handler in handlers:
            handler.removeFilter(redacting)


def _run(args: argparse.Namespace, tokens: list[str]) -> int:
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("yolo-hf: interrupted", file=sys.stderr)
        return 1
    except Exception as error:  # one-line message; full traceback on request; tokens redacted in both
        if os.environ.get("YOLO_HF_TRACEBACK"):
            trace = "".join(traceback.format_exception(error))  # chained exceptions included
            print(_redacted(trace, tokens), file=sys.stderr, end="")
            return 1
        print(_redacted(f"yolo-hf {args.command}: error: {error}", tokens), file=sys.stderr)
        print("(set YOLO_HF_TRACEBACK=1 for the full traceback)", file=sys.stderr)
        return 1


class _RedactingFilter(logging.Filter):
    """Replaces every form of the known tokens in a log record's message (the record is rewritten in place)."""

    def __init__(self, tokens: list[str]) -> None:
        super().__init__()
        self.tokens = tokens

    def filter(self, record: logging.LogRecord) -> bool:
        if self.tokens:
            message = record.getMessage()
            cleaned = _redacted(message, self.tokens)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def _known_tokens(args: argparse.Namespace) -> list[str]:
    """Every token this run may have used: ``--token``, ``HF_TOKEN``/``HUGGING_FACE_HUB_TOKEN``, the stored one."""
    tokens = [getattr(args, "token", None), os.environ.get("HF_TOKEN"), os.environ.get("HUGGING_FACE_HUB_TOKEN")]
    try:
        from huggingface_hub import get_token

        tokens.append(get_token())
    except Exception:  # noqa: BLE001 - an unreadable token store: nothing more to redact
        pass
    forms = set()
    for token in tokens:
        if token:
            forms.update({token, token.strip()})
    return sorted(forms, key=len, reverse=True)


def _redacted(text: str, tokens: list[str]) -> str:
    from ..hub.errors import redact

    return redact(text, *tokens)
