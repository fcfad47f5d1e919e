"""``yolo-hf list``: a user's or organization's yolo-transformers models."""

from __future__ import annotations

import argparse
import json

__all__ = ["register", "run"]

EXAMPLES = """examples:
  yolo-hf list --user alice
  yolo-hf list --user acme --search detector
  yolo-hf list --user alice --json | jq '.[].repo_id'

Private repos are listed when the token (--token, HF_TOKEN or `hf auth login`) can read them.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``list`` sub-command."""
    parser = subparsers.add_parser(
        "list",
        help="list a user's yolo-transformers models",
        description="List the models of a user or organization that carry the yolo-transformers tag.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--user", required=True, metavar="USER", help="user or organization name")
    parser.add_argument("--search", metavar="TEXT", help="only repos whose name contains TEXT")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--token", metavar="TOKEN",
                        help="token to include private repos (default: HF_TOKEN, then `hf auth login`)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the listing. Returns the exit code."""
    from ..hub.listing import list_models

    rows = list_models(args.user, search=args.search, token=args.token)
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
        return 0
    if not rows:
        matching = f" matching {args.search!r}" if args.search else ""
        print(f"no yolo-transformers models found for {args.user}{matching}")
        return 0
    table = [("REPO", "TASK", "CLASSES", "LAST MODIFIED", "VISIBILITY")]
    for row in rows:
        modified = row.last_modified.strftime("%Y-%m-%d %H:%M") if row.last_modified else "-"
        table.append((row.repo_id, row.task or "-", str(row.num_classes or "-"), modified,
                      "private" if row.private else "public"))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    return 0
