"""A checkpoint's path through conversion, and a pushed model's path through pull and predict, runs down the layers.

The calls between the package's modules are traced (``sys.setprofile``) while the real workflows run. Every call from
one module into another must point down :data:`LAYERS` (the table of ``ARCHITECTURE.md``), and the modules a run
passes through must form no cycle: once control has gone from a module into another, the other never calls back
into it (no back and forth between siblings such as the parity modules the old layout had).

No call climbs: :data:`KNOWN_UPWARD_CALLS` (callbacks allowed to climb) is empty, so any upward call fails here.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.test_layout import _cycles

PACKAGE = "yolo_transformers"

#: Top-level module or sub-package -> layer (ARCHITECTURE.md, bottom first). ``modeling_yolo*`` and
#: ``image_processing_yolo*`` files share their family's layer; the processors sit below the models.
LAYERS = {
    "tasks": 0, "errors": 0, "version": 0, "lazy_exports": 0,
    "compat": 1,
    "network": 2,
    "configuration_yolo": 3,
    "processing": 4,
    "loss": 5,
    "image_processing_yolo": 6.0, "image_processing_auto": 6.1, "runtime": 6.2,
    "modeling_yolo": 6.5, "modeling_loading": 6.5,
    "auto": 7,
    "convert": 8, "data": 8, "training": 8, "cards": 8,
    "hub": 9,
    "cli": 10, "convert.__main__": 10, "__main__": 10, "": 10,
}


#: Calls allowed to point up (callbacks rather than imports): none. The last ones (``processing.result_comparison``
#: running the processor and model it was given, ``network.loading`` constructing the model class, the mixed-batch
#: tensor subclass inside the network's head) were removed in the layout issue.
KNOWN_UPWARD_CALLS: set[tuple[str, str]] = set()


def layer(module: str) -> float:
    """The layer of a ``yolo_transformers...`` module name."""
    relative = module[len(PACKAGE) + 1:]
    if relative in LAYERS:
        return LAYERS[relative]
    top = relative.split(".")[0]
    for family in ("modeling_yolo", "image_processing_yolo"):
        if top.startswith(family):
            top = family
    if top not in LAYERS:
        raise AssertionError(f"{module} has no layer in LAYERS")
    return LAYERS[top]


@contextmanager
def traced_module_calls() -> Iterator[Counter]:
    """Count ``(caller module, callee module)`` for every call into a package function from another module.

    The caller is the nearest package frame up the stack, so a call that passes through transformers or
    Ultralytics (a pipeline calling the processor) is attributed to the package module that started it, or to
    None when the user's code did.
    """
    edges: Counter = Counter()

    def package_module(frame) -> str | None:
        name = frame.f_globals.get("__name__", "")
        return name if name == PACKAGE or name.startswith(PACKAGE + ".") else None

    def profile(frame, event, arg) -> None:
        if event != "call":
            return
        callee = package_module(frame)
        if callee is None:
            return
        caller, outer = None, frame.f_back
        while outer is not None and caller is None:
            caller, outer = package_module(outer), outer.f_back
        if caller != callee:
            edges[(caller, callee)] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield edges
    finally:
        sys.setprofile(previous)


def upward_calls(edges: Counter) -> list[tuple[str, str]]:
    """Calls from a module into one of a higher layer, except the :data:`KNOWN_UPWARD_CALLS`."""
    return sorted((a, b) for a, b in edges
                  if a is not None and layer(b) > layer(a) and (a, b) not in KNOWN_UPWARD_CALLS)


def module_cycles(edges: Counter) -> list[list[str]]:
    """Cycles among the modules a run passed through (the :data:`KNOWN_UPWARD_CALLS` left out)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if a is not None and (a, b) not in KNOWN_UPWARD_CALLS:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    return _cycles(graph)


def test_every_module_has_a_layer_in_the_architecture_order():
    modules = [".".join(p.relative_to(Path(__file__).resolve().parents[1]).with_suffix("").parts)
               for p in (Path(__file__).resolve().parents[1] / PACKAGE).rglob("*.py")]
    assert layer(f"{PACKAGE}.modeling_yolo_pose") == 6.5
    assert layer(f"{PACKAGE}.image_processing_yolo_classification") == 6.0
    assert layer(f"{PACKAGE}.convert.__main__") == 10
    assert layer(f"{PACKAGE}.processing.nms") == 4
    for module in modules:
        layer(module.removesuffix(".__init__"))


def test_the_tracer_sees_an_upward_call_and_a_back_and_forth():
    edges = Counter({("yolo_transformers.network.loading", "yolo_transformers.auto"): 1,
                     ("yolo_transformers.convert.parity", "yolo_transformers.convert.reference"): 2,
                     ("yolo_transformers.convert.reference", "yolo_transformers.convert.parity"): 1})
    assert upward_calls(edges) == [("yolo_transformers.network.loading", "yolo_transformers.auto")]
    assert module_cycles(edges) == [["yolo_transformers.convert.parity", "yolo_transformers.convert.reference"]]


def test_conversion_runs_down_the_layers(yaml_checkpoint, small_image, tmp_path):
    from yolo_transformers.convert.converter import convert_checkpoint

    checkpoint = yaml_checkpoint("yolov8n-seg.yaml")
    with traced_module_calls() as edges:
        convert_checkpoint(checkpoint, tmp_path / "out", verify_images=[small_image])
    modules = {m for edge in edges for m in edge if m}
    assert {f"{PACKAGE}.convert.checkpoint", f"{PACKAGE}.convert.parity", f"{PACKAGE}.network.architecture",
            f"{PACKAGE}.modeling_yolo_segmentation", f"{PACKAGE}.image_processing_auto",
            f"{PACKAGE}.processing.result_comparison"} <= modules  # the trace saw the whole path
    assert upward_calls(edges) == []
    assert module_cycles(edges) == []
    assert [callee for caller, callee in edges if caller is None] == [f"{PACKAGE}.convert.converter"]


def test_pull_and_predict_run_down_the_layers(pushed_checkpoint, shapes_images, hub_server, monkeypatch):
    from PIL import Image
    from transformers import pipeline

    from yolo_transformers.hub import download_model

    monkeypatch.setenv("HF_TOKEN", hub_server.token("alice"))
    with traced_module_calls() as edges:
        folder = download_model(pushed_checkpoint.repo_id)
        detector = pipeline("object-detection", model=str(folder))
        first, second = (Image.open(path) for path in shapes_images[:2])
        mixed = [first, second.resize((second.width // 2, second.height))]  # two letterbox shapes in one batch
        found = detector(mixed, threshold=0.25, batch_size=2)
    assert any(found), "the pulled detector found nothing: the trace would not cover post-processing"
    modules = {m for edge in edges for m in edge if m}
    assert {f"{PACKAGE}.hub.download", f"{PACKAGE}.modeling_loading", f"{PACKAGE}.network.loading",
            f"{PACKAGE}.modeling_yolo", f"{PACKAGE}.image_processing_yolo", f"{PACKAGE}.processing.nms",
            f"{PACKAGE}.processing.batching"} <= modules
    assert upward_calls(edges) == []
    assert module_cycles(edges) == []
