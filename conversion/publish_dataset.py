"""Publish a well-known YOLO-format dataset (Ultralytics' coco8, coco128, coco8-seg, coco8-pose, dota8, ...) on the Hub.

The class names, ``kpt_shape`` and ``flip_idx`` come from the dataset YAML that ships inside the ``ultralytics``
package (``ultralytics/cfg/datasets/<name>.yaml``); the images and labels come from a folder you downloaded. Nothing
is downloaded here: the YAML's ``download:`` URL says where to get the zip (``--help-download`` prints it).

The dataset is converted and validated completely before anything is sent (``push_dataset``), then pushed as Parquet
shards with a dataset card (classes, split sizes, instances per class, license) and ``samples.png``.

Steps::

    # 1. get the data (once, anywhere with internet); e.g. coco8 (1 MB) or coco128 (7 MB):
    python conversion/publish_dataset.py --dataset coco8 --help-download
    curl -L -o coco8.zip https://github.com/ultralytics/assets/releases/download/v0.0.0/coco8.zip && unzip coco8.zip

    # 2. look at what would be published (no token, no network): README.md, samples.png, the Arrow dataset
    python conversion/publish_dataset.py --dataset coco8 --root coco8 --dry-run preview/

    # 3. publish (token: --token, HF_TOKEN or `hf auth login`, with write access)
    python conversion/publish_dataset.py --dataset coco8 --root coco8 --repo my-org/coco8 --license cc-by-4.0 --tag v1.0

    # any other YOLO dataset with its own data.yaml:
    python conversion/publish_dataset.py --data my-dataset/data.yaml --repo my-org/my-dataset

Licenses: the card uses ``--license``, else ``license:`` from the YAML, else says ``license: unknown``. The COCO
annotations are CC BY 4.0 and the COCO images keep the terms of their Flickr authors; DOTA is for academic use only.
Check the terms of the dataset you publish and pass the matching Hub license id.

Large datasets: ``--num-proc`` converts with several processes; conversion streams to Arrow shards, so memory does
not grow with the number of images (see ``yolo_transformers.data.from_yolo``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger("publish_dataset")


def ultralytics_yaml(name: str) -> Path:
    """The dataset YAML shipped with ``ultralytics`` (``coco8`` → ``.../cfg/datasets/coco8.yaml``)."""
    import ultralytics

    path = Path(ultralytics.__file__).parent / "cfg" / "datasets" / f"{Path(name).stem}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise SystemExit(f"unknown Ultralytics dataset {name!r}; known: {', '.join(known)}")
    return path


def local_data_yaml(template: Path, root: Path, workdir: Path, license: str | None) -> Path:
    """A copy of ``template`` whose ``path`` is ``root`` (and without ``download``, which names code to run)."""
    data: dict[str, Any] = yaml.safe_load(template.read_text(encoding="utf-8"))
    if not (root / "images").is_dir():
        raise SystemExit(f"{root} has no images/ folder: unzip the dataset there first (--help-download)")
    data.pop("download", None)
    data["path"] = str(root.resolve())
    if license:
        data["license"] = license
    out = workdir / template.name
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def dry_run(data_yaml: Path, out: Path, repo_id: str, license: str | None, num_proc: int | None) -> None:
    """Write what would be published into ``out``: README.md, samples.png and the dataset (``save_to_disk``)."""
    from yolo_transformers.cards import generate_dataset_card
    from yolo_transformers.data import load_yolo_dataset
    from yolo_transformers.data.samples import SAMPLES_FILENAME, save_samples_grid

    dataset = load_yolo_dataset(data_yaml, num_proc=num_proc)
    out.mkdir(parents=True, exist_ok=True)
    samples = save_samples_grid(dataset, out / SAMPLES_FILENAME)
    card = generate_dataset_card(dataset, repo_id=repo_id, license=license, samples=samples is not None,
                                 report=dataset.conversion_report)
    card.save(out / "README.md")
    dataset.save_to_disk(str(out / "dataset"))
    print(f"dry run: {out / 'README.md'}, {out / SAMPLES_FILENAME}, {out / 'dataset'} (nothing was pushed)")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, publish (or preview) the dataset. Returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="Ultralytics dataset name: coco8, coco128, coco8-seg, coco8-pose, dota8, ...")
    source.add_argument("--data", type=Path, help="a data.yaml of your own (used as is)")
    parser.add_argument("--root", type=Path, help="folder holding the unzipped images/ and labels/ (with --dataset)")
    parser.add_argument("--repo", help="Hub dataset repo, e.g. my-org/coco8 (default: the dataset's name)")
    parser.add_argument("--license", help="Hub license id for the card, e.g. cc-by-4.0")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--tag", help="tag the pushed commit, e.g. v1.0")
    parser.add_argument("--revision", help="branch to push to (created from main if missing)")
    parser.add_argument("--token", help="Hub token with write access (default: HF_TOKEN, then `hf auth login`)")
    parser.add_argument("--num-proc", type=int, help="conversion processes")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write card, picture and Arrow data here; no push")
    parser.add_argument("--help-download", action="store_true", help="print where to download --dataset, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    template = ultralytics_yaml(args.dataset) if args.dataset else args.data
    if args.help_download:
        url = (yaml.safe_load(template.read_text(encoding="utf-8")) or {}).get("download")
        print(url if isinstance(url, str) and url.startswith("http") else f"{template} names no download URL")
        return 0
    repo_id = args.repo or Path(template).stem
    with tempfile.TemporaryDirectory(prefix="publish-dataset-") as workdir:
        if args.dataset:
            if args.root is None:
                parser.error("--dataset needs --root (the unzipped folder; see --help-download)")
            data_yaml = local_data_yaml(template, args.root, Path(workdir), args.license)
        else:
            data_yaml = args.data
        if args.dry_run:
            dry_run(data_yaml, args.dry_run, repo_id if "/" in repo_id else f"your-username/{repo_id}", args.license,
                    args.num_proc)
            return 0
        from yolo_transformers.hub import push_dataset
        from yolo_transformers.errors import YoloTransformersError

        try:
            result = push_dataset(data_yaml, repo_id, private=args.private, revision=args.revision, tag=args.tag,
                                  token=args.token, license=args.license, num_proc=args.num_proc)
        except YoloTransformersError as error:  # malformed data, token or Hub problem: one line, nothing half-pushed
            print(f"publish_dataset: error: {error}", file=sys.stderr)
            return 1
    print(f"published {template.stem} to {result.repo_id}@{result.revision} (commit {result.commit_oid[:8]})")
    print(result.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
