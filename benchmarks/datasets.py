"""Benchmark: YOLO folder → ``datasets`` conversion speed and memory, side by side (run by hand).

    YOLO_OFFLINE=1 python benchmarks/datasets.py [--images 2000] [--naive-images 500] [--workdir DIR]

Measures, in one run, on the same generated 640x480 JPEG dataset (labels included):

* ``copy``: a plain recursive copy of the dataset folder (``shutil.copytree``), the I/O floor;
* ``load_yolo_dataset``: our conversion to memory-mapped Arrow (``num_proc=1`` and ``num_proc=2``);
* ``naive``: the usual hand-written path, ``Dataset.from_dict`` with PIL-decoded images (re-encoded by
  ``datasets``), on ``--naive-images`` images (a rate, so a subset is enough; it is slow);
* peak memory of a fresh process converting 1,000 vs 4,000 images: RSS sampled every 2 ms during the
  conversion (and its growth over the RSS right before it, which excludes the imports), the Arrow memory
  pool's peak, and ``ru_maxrss``.

Copy and ours are timed best-of-``--repeat`` on a warm page cache. Targets: ours ≥ 0.25x copy throughput,
≥ 5x naive, peak memory 4k/1k ≤ 1.2. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is called datasets.py: keep its folder off sys.path so that `import datasets` finds the library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

logger = logging.getLogger("benchmarks.datasets")

_MEMORY_CHILD = """
import json, os, resource, sys, threading, time
sys.path.insert(0, {root!r})
import datasets, pyarrow as pa
from yolo_transformers.data import load_yolo_dataset
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
peak, done = [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
before = rss()
thread = threading.Thread(target=sample, daemon=True)
thread.start()
t = time.perf_counter()
ds = load_yolo_dataset({data!r}, cache_dir={cache!r})
n = sum(d.num_rows for d in ds.values())
seconds = time.perf_counter() - t
done.set(); thread.join()
peak[0] = max(peak[0], rss())
print(json.dumps({{"rows": n, "seconds": seconds, "before": before, "peak": peak[0],
                  "arrow_peak": pa.default_memory_pool().max_memory(),
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _warm(folder: Path) -> None:
    """Read every file once so that all measurements start from a warm page cache."""
    for p in folder.rglob("*"):
        if p.is_file():
            p.read_bytes()


def _generate(root: Path, n: int) -> Path:
    from tests.data_factory import make_yolo_dataset

    t = time.perf_counter()
    data = make_yolo_dataset(
        root, "detect", splits={"train": n, "val": 16}, image_size=(640, 480), texture=True, max_objects=6, seed=n
    )
    logger.info("generated %d images in %.1fs (%s)", n + 16, time.perf_counter() - t, root)
    return data


def _time_copy(src: Path, work: Path) -> float:
    dst = work / "copy"
    t = time.perf_counter()
    shutil.copytree(src, dst)
    seconds = time.perf_counter() - t
    shutil.rmtree(dst)
    return seconds


def _time_ours(data: Path, work: Path, num_proc: int) -> float:
    from yolo_transformers.data import load_yolo_dataset

    cache = work / f"cache-{num_proc}"
    t = time.perf_counter()
    ds = load_yolo_dataset(data, num_proc=num_proc, cache_dir=cache)
    seconds = time.perf_counter() - t
    assert ds["train"].num_rows > 0
    del ds
    shutil.rmtree(cache, ignore_errors=True)
    return seconds


def _naive(data: Path, limit: int) -> tuple[float, int]:
    """Decode with PIL, parse labels by hand, ``Dataset.from_dict``; returns (seconds, source bytes)."""
    import datasets
    from PIL import Image

    from yolo_transformers.data import features_for_task

    names = ["circle", "square", "triangle"]
    features = features_for_task("detect", names)
    images = sorted((data.parent / "images" / "train").glob("*.jpg"))[:limit]
    t = time.perf_counter()
    columns: dict[str, list] = {k: [] for k in features}
    size = 0
    for i, path in enumerate(images):
        label = data.parent / "labels" / "train" / (path.stem + ".txt")
        size += path.stat().st_size + (label.stat().st_size if label.exists() else 0)
        img = Image.open(path).convert("RGB")
        w, h = img.size
        objects = {"id": [], "area": [], "bbox": [], "category": []}
        for line in (label.read_text().splitlines() if label.exists() else []):
            c, cx, cy, bw, bh = (float(v) for v in line.split())
            objects["id"].append(len(objects["id"]))
            objects["area"].append(bw * w * bh * h)
            objects["bbox"].append([(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h])
            objects["category"].append(int(c))
        for key, value in (("image_id", i), ("image", img), ("width", w), ("height", h),
                           ("file_name", path.name), ("objects", objects)):
            columns[key].append(value)
    ds = datasets.Dataset.from_dict(columns, features=features)
    seconds = time.perf_counter() - t
    assert ds.num_rows == len(images)
    return seconds, size


def _peak_memory(data: Path, cache: Path) -> dict:
    code = _MEMORY_CHILD.format(root=str(ROOT), data=str(data), cache=str(cache))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Run every measurement and print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--naive-images", type=int, default=500)
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=[1000, 4000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="copy and ours: best of this many runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("yolo_transformers").setLevel(logging.WARNING)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="yolo-ds-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        data = _generate(work / "speed", args.images)
        src = data.parent
        _warm(src)
        total = _folder_bytes(src)
        copy_s = min(_time_copy(src, work) for _ in range(args.repeat))
        ours_s = {n: min(_time_ours(data, work, n) for _ in range(args.repeat)) for n in (1, 2)}
        naive_s, naive_bytes = _naive(data, args.naive_images)

        mem = {}
        for n in args.memory_sizes:
            mdata = _generate(work / f"mem{n}", n)
            _warm(mdata.parent)
            mem[n] = _peak_memory(mdata, work / f"cache-mem{n}")
            shutil.rmtree(work / f"cache-mem{n}", ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    mb = 1e6
    copy_rate, naive_rate = total / copy_s / mb, naive_bytes / naive_s / mb
    rows = [("plain copy (shutil.copytree)", copy_s, copy_rate, args.images + 16)]
    rows += [(f"load_yolo_dataset num_proc={n}", s, total / s / mb, args.images + 16) for n, s in ours_s.items()]
    rows.append(("naive Dataset.from_dict + PIL decode", naive_s, naive_rate, min(args.naive_images, args.images)))
    print(f"\nDataset: {args.images + 16} JPEG 640x480 + labels, {total / mb:.1f} MB; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs; copy and ours: best of {args.repeat}, warm page cache\n")
    print("| method | images | seconds | MB/s | vs copy | ours(num_proc=1) speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    ours1 = total / ours_s[1] / mb
    for name, s, rate, n in rows:
        print(f"| {name} | {n} | {s:.2f} | {rate:.1f} | {rate / copy_rate:.2f}x | {ours1 / rate:.1f}x |")
    lo, hi = args.memory_sizes
    mib = 1024 * 1024
    print("\n| peak memory (fresh process) | images | RSS before MiB | peak RSS during MiB | growth MiB "
          "| Arrow pool peak MiB | ru_maxrss MiB | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in (lo, hi):
        m = mem[n]
        print(f"| load_yolo_dataset | {n} | {m['before'] / mib:.0f} | {m['peak'] / mib:.0f} | "
              f"{(m['peak'] - m['before']) / mib:.1f} | {m['arrow_peak'] / mib:.1f} | {m['maxrss'] / mib:.0f} "
              f"| {m['seconds']:.2f} |")
    ratio = mem[hi]["peak"] / mem[lo]["peak"]
    growth = (mem[hi]["peak"] - mem[hi]["before"]) / max(mem[lo]["peak"] - mem[lo]["before"], 1)
    print(f"\nTargets: ours/copy = {ours1 / copy_rate:.2f} (>= 0.25), ours/naive = {ours1 / naive_rate:.1f} (>= 5), "
          f"peak RSS {hi}/{lo} = {ratio:.2f} (<= 1.2; growth during conversion {hi}/{lo} = {growth:.2f})")


if __name__ == "__main__":
    main()
