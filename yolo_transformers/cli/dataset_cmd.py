"""``yolo-hf dataset``: convert a YOLO dataset to Arrow, push it to the Hub, pull it back as a YOLO folder."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..tasks import DATASET_TASKS
from .commit_options import add_commit_arguments, print_commit

__all__ = ["register", "run_convert", "run_push", "run_pull"]

EXAMPLES = """examples:
  yolo-hf dataset convert coco8/data.yaml --output coco8-arrow          # datasets.load_from_disk("coco8-arrow")
  yolo-hf dataset push coco8/data.yaml --repo alice/coco8 --tag v1.0    # Parquet shards + card + samples.png
  yolo-hf dataset pull --repo alice/coco8 --output coco8-yolo           # then: yolo train data=coco8-yolo/data.yaml

run `yolo-hf dataset COMMAND --help` for each command's options.
"""

PUSH_EXAMPLES = """examples:
  yolo-hf dataset push coco8/data.yaml --repo alice/coco8
  yolo-hf dataset push shapes/ --repo acme/shapes --private --license cc-by-4.0 --tag v1.0
  yolo-hf dataset push data.yaml --repo alice/shapes --revision relabel-2   # branch, created from main
  yolo-hf dataset push data.yaml --repo alice/shapes --lenient              # skip/clip like Ultralytics, print counts

The whole dataset is converted and checked before anything is sent: a malformed dataset fails with the file,
line and fix, and nothing reaches the Hub. A README.md already on the branch is kept unless --overwrite-card.
License: --license, else `license:` from data.yaml, else the card says `license: unknown`.

authentication (first found wins): --token, the HF_TOKEN environment variable, `hf auth login`.
The token needs the write scope (a 'write' token, or a fine-grained one with repo.write).
"""

PULL_EXAMPLES = """examples:
  yolo-hf dataset pull --repo alice/coco8 --output coco8
  yolo-hf dataset pull --repo alice/coco8 --revision v1.0 --output coco8-v1
  yolo train data=coco8/data.yaml model=yolo11n.pt

--revision takes a branch, a tag or a commit sha. Private datasets need a token that can read them
(--token, HF_TOKEN or `hf auth login`). Only formats that cannot run code when loaded are read (Parquet for
datasets pushed with yolo-hf).
"""

CONVERT_EXAMPLES = """examples:
  yolo-hf dataset convert coco8/data.yaml --output coco8-arrow
  yolo-hf dataset convert big/data.yaml --output big-arrow --num-proc 8
  yolo-hf dataset convert dirty/data.yaml --output clean-arrow --lenient    # skip/clip like Ultralytics

python -c "import datasets; print(datasets.load_from_disk('coco8-arrow'))"
"""


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, metavar="DATA",
                        help="data.yaml, or a dataset folder (images/ + labels/, or train/<class>/ for classify)")
    parser.add_argument("--task", choices=DATASET_TASKS,
                        help="force the task (default: detected from data.yaml and the labels)")
    parser.add_argument("--lenient", action="store_true",
                        help="skip/clip what Ultralytics would skip/clip instead of failing, and print the counts")
    parser.add_argument("--num-proc", type=int, metavar="N", help="processes for the conversion (default 1)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dataset`` sub-command and its ``convert``, ``push`` and ``pull`` commands."""
    parser = subparsers.add_parser(
        "dataset",
        help="convert YOLO datasets to datasets/Arrow, push them to the Hub, pull them back",
        description="YOLO datasets as Hugging Face datasets: images stored as they are on disk, annotations in the "
        "Hub's detection convention (COCO boxes in pixels), class names and task kept.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda args: _usage(parser))
    commands = parser.add_subparsers(dest="dataset_command", metavar="COMMAND")

    convert = commands.add_parser(
        "convert", help="YOLO folder -> datasets Arrow folder (save_to_disk)",
        description="Convert a YOLO dataset and save it with DatasetDict.save_to_disk.",
        epilog=CONVERT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source_options(convert)
    convert.add_argument("--output", required=True, type=Path, metavar="DIR", help="folder to write (Arrow)")
    convert.add_argument("--overwrite", action="store_true", help="replace a non-empty --output folder")
    convert.set_defaults(func=run_convert)

    push = commands.add_parser(
        "push", help="convert and push to a Hub dataset repo (Parquet, card, samples.png)",
        description="Convert a YOLO dataset, then push it as Parquet shards with a dataset card (classes, split "
        "sizes, instances per class, license) and a picture of annotated samples.",
        epilog=PUSH_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source_options(push)
    add_commit_arguments(push, kind="dataset", default_message="task, images, classes")
    push.add_argument("--license", metavar="ID", help="license for the card, e.g. cc-by-4.0 (default: data.yaml's)")
    push.set_defaults(func=run_push)

    pull = commands.add_parser(
        "pull", help="download a Hub dataset as a YOLO folder (images/, labels/, data.yaml)",
        description="Download a dataset and write it as a YOLO folder that `yolo train` accepts.",
        epilog=PULL_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pull.add_argument("--repo", required=True, metavar="USER/NAME", help="dataset repo to download")
    pull.add_argument("--output", required=True, type=Path, metavar="DIR", help="folder to write")
    pull.add_argument("--revision", metavar="REV", help="branch, tag or commit sha (default: main)")
    pull.add_argument("--token", metavar="TOKEN",
                      help="token for private repos (default: HF_TOKEN, then `hf auth login`)")
    pull.add_argument("--overwrite", action="store_true", help="replace a non-empty --output folder")
    pull.set_defaults(func=run_pull)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _print_report(report: object, lenient: bool) -> None:
    """The skip/clip counts of a lenient conversion (one line per reason)."""
    counts = getattr(report, "counts", None)
    if not lenient:
        return
    if not counts:
        print("lenient conversion: nothing had to be skipped or clipped")
        return
    print("lenient conversion skipped or clipped: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for message in getattr(report, "messages", [])[:5]:
        print(f"  {message}")


def run_convert(args: argparse.Namespace) -> int:
    """Convert and ``save_to_disk``. Returns the exit code."""
    from ..data.from_yolo import load_yolo_dataset

    out: Path = args.output
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.overwrite:
        raise FileExistsError(f"{out} exists and is not an empty folder; choose a new folder or pass --overwrite")
    dataset = load_yolo_dataset(args.data, task=args.task, strict=not args.lenient, num_proc=args.num_proc)
    _print_report(dataset.conversion_report, args.lenient)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp"  # complete before it replaces anything
    shutil.rmtree(tmp, ignore_errors=True)
    dataset.save_to_disk(str(tmp), num_proc=args.num_proc)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    tmp.rename(out)
    sizes = ", ".join(f"{name} {len(split)}" for name, split in dataset.items())
    print(f"saved {sizes} images to {out} (datasets.load_from_disk({str(out)!r}))")
    return 0


def run_push(args: argparse.Namespace) -> int:
    """Convert, push and print the URL. Returns the exit code."""
    from ..hub.datasets import push_dataset

    result = push_dataset(
        args.data,
        args.repo,
        private=args.private,
        revision=args.revision,
        tag=args.tag,
        token=args.token,
        task=args.task,
        strict=not args.lenient,
        num_proc=args.num_proc,
        commit_message=args.message,
        license=args.license,
        overwrite_card=args.overwrite_card,
    )
    _print_report(result.report, args.lenient)
    print_commit(args.data, result)
    return 0


def run_pull(args: argparse.Namespace) -> int:
    """Download, write the YOLO folder and print its ``data.yaml``. Returns the exit code."""
    from ..hub.datasets import pull_dataset

    path = pull_dataset(args.repo, args.output, revision=args.revision, token=args.token, overwrite=args.overwrite)
    print(path)
    return 0
