"""Convert a whole Ultralytics model family (every scale, every task) and optionally publish it.

Each checkpoint is converted with the same verification as ``python -m yolo_transformers.convert`` (raw outputs
within 1e-4 and detections equal to ``YOLO.predict``); a summary table of the measured differences is printed
and written next to the outputs as ``parity.md``.

Examples::

    # official checkpoints, fetched the way ultralytics.YOLO fetches them (needs internet):
    python conversion/convert_family.py --family yolo11 --scales n s m l x --tasks detect seg pose obb cls \
        --output converted/ --push-namespace my-org

    # your own checkpoints:
    python conversion/convert_family.py --checkpoints runs/*/weights/best.pt --output converted/

    # offline smoke run: random-weight models built from the yaml files
    python conversion/convert_family.py --family yolo11 --scales n --from-yaml --output /tmp/converted
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

_TASK_SUFFIX = {"detect": "", "seg": "-seg", "pose": "-pose", "obb": "-obb", "cls": "-cls"}

logger = logging.getLogger("convert_family")


def official_names(family: str, scales: list[str], tasks: list[str]) -> list[str]:
    """Checkpoint names as Ultralytics publishes them, e.g. ``yolo11n-seg.pt``."""
    return [f"{family}{scale}{_TASK_SUFFIX[task]}.pt" for task in tasks for scale in scales]


def _from_yaml(name: str, workdir: Path) -> Path:
    """A random-weight checkpoint of ``name`` built from its yaml (offline smoke runs)."""
    from ultralytics import YOLO

    path = workdir / name.replace(".pt", "-random.pt")
    YOLO(name.replace(".pt", ".yaml")).save(str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--family", help="official family prefix: yolov8, yolo11, yolo26, ...")
    source.add_argument("--checkpoints", nargs="+", type=Path, help="local .pt files")
    parser.add_argument("--scales", nargs="+", default=["n", "s", "m", "l", "x"])
    parser.add_argument("--tasks", nargs="+", default=["detect"], choices=sorted(_TASK_SUFFIX))
    parser.add_argument("--from-yaml", action="store_true", help="build random-weight models from yaml (offline)")
    parser.add_argument("--output", type=Path, required=True, help="folder for the converted models")
    parser.add_argument("--push-namespace", help="push each model to <namespace>/<name> after converting")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from yolo_transformers.convert import convert_checkpoint

    rows = ["| checkpoint | task | raw max abs diff | detections (ours/ultralytics) | max box diff px | status |",
            "|---|---|---|---|---|---|"]
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        if args.checkpoints:
            sources = list(args.checkpoints)
        else:
            names = official_names(args.family, args.scales, args.tasks)
            sources = [_from_yaml(n, Path(workdir)) if args.from_yaml else Path(n) for n in names]
        for checkpoint in sources:
            name = Path(checkpoint).stem.replace("-random", "")
            try:
                result = convert_checkpoint(checkpoint, args.output / name, overwrite=True)
            except Exception as error:  # keep converting the rest; report at the end
                failures += 1
                rows.append(f"| {name} | ? | - | - | - | FAILED: {error} |")
                logger.error("%s: %s", name, error)
                continue
            report = result.report
            ours = sum(i.our_count for i in report.images)
            theirs = sum(i.reference_count for i in report.images)
            box = max((i.max_box_diff for i in report.images), default=0.0)
            rows.append(f"| {name} | {result.model.config.task} | {report.raw_max_abs_diff:.2e} | {ours}/{theirs} | "
                        f"{box:.4f} | {'ok' if report.passed else 'FAILED'} |")
            if args.push_namespace:
                from yolo_transformers.hub import upload_model

                upload_model(args.output / name, f"{args.push_namespace}/{name}", private=args.private)
    table = "\n".join(rows)
    print(table)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "parity.md").write_text(table + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
