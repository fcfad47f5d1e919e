"""What every ``yolo-hf`` command that commits to a Hub repo shares: its options and how it reports the commit."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_commit_arguments", "print_commit"]


def add_commit_arguments(parser: argparse.ArgumentParser, *, kind: str, default_message: str) -> None:
    """Add ``--repo``, ``--private``, ``--tag``, ``--revision``, ``--message``, ``--token`` and ``--overwrite-card``.

    Args:
        parser: The sub-command's parser.
        kind: ``"model"`` or ``"dataset"``, for the help texts.
        default_message: What the commit message says when ``--message`` is not given.
    """
    parser.add_argument("--repo", required=True, metavar="USER/NAME", help=f"target {kind} repo (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repo as private (new repos only)")
    parser.add_argument("--tag", metavar="TAG", help="tag the new commit, e.g. v1.0")
    parser.add_argument("--revision", metavar="BRANCH", help="push to this branch (created from main if missing)")
    parser.add_argument("--message", metavar="TEXT", help=f"commit message (default: {default_message})")
    parser.add_argument("--token", metavar="TOKEN",
                        help="Hub token with write scope (default: HF_TOKEN, then `hf auth login`)")
    parser.add_argument("--overwrite-card", action="store_true",
                        help="replace a README.md that is already on the Hub (kept by default)")


def print_commit(source: Any, result: Any, *, changed: bool = True) -> None:
    """Print where ``source`` went: the commit (or that nothing changed), a kept card, the tag, then the URL.

    Args:
        source: What was pushed, as the user named it.
        result: An ``UploadResult`` or ``DatasetPushResult`` (``repo_id``, ``revision``, ``commit_oid``,
            ``card_written``, ``tag``, ``url``).
        changed: False when the Hub already had these files and no commit was made.
    """
    if changed:
        print(f"pushed {source} to {result.repo_id}@{result.revision}: commit {result.commit_oid[:8]}")
    else:
        print(f"{result.repo_id}@{result.revision} already has these files: no new commit ({result.commit_oid[:8]})")
    if not result.card_written:
        print("kept the README.md already on the Hub (pass --overwrite-card to replace it)")
    if result.tag:
        print(f"tagged {result.tag}")
    print(result.url)
