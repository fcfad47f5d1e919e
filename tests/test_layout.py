"""The package layout holds: imports point down (no cycles, counting imports inside functions, the implicit import
of parent packages, and a lazy package export as an import of the module that defines it by whoever imports the name;
imports under ``if TYPE_CHECKING:`` never run and are not counted),
no module imports another's private name, modules stay short, and the task table sits at the bottom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "yolo_transformers"
ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _lazy_exports(modules: dict[str, tuple[Path, bool]]) -> dict[str, dict[str, str]]:
    """Package -> {exported name: module that defines it}, from each ``lazy_attributes(__name__, {...})`` call.

    Importing a package does not run these modules; ``from package import name`` does, so the edge belongs to the
    importer of ``name``.
    """
    exports: dict[str, dict[str, str]] = {}
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_attributes":
                table = exports.setdefault(name, {})
                for key, value in zip(node.args[1].keys, node.args[1].values):
                    relative = value.value  # ".module" relative to the package
                    level = len(relative) - len(relative.lstrip("."))
                    parts = name.split(".")
                    table[key.value] = ".".join(parts[: len(parts) - (level - 1)] + [relative.lstrip(".")])
    return exports


def _runtime_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node of ``tree`` except those inside ``if TYPE_CHECKING:`` blocks (annotations only, never executed)."""
    skipped = {id(inner) for node in ast.walk(tree)
               if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
               for statement in node.body for inner in ast.walk(statement)}
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def _import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Module -> modules it imports (anywhere in it), and every ``(importer, module, private name)``."""
    modules = _modules()
    lazy = _lazy_exports(modules)
    edges: dict[str, set[str]] = {name: set() for name in modules}
    private: list[tuple[str, str, str]] = []
    for name, (path, is_package) in modules.items():
        base = name.split(".") if is_package else name.split(".")[:-1]
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                parent = base[: len(base) - (node.level - 1)] if node.level else []
                target = ".".join(parent + ([node.module] if node.module else [])) if node.level else node.module
                if not target or not target.startswith(PACKAGE):
                    continue
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:
                        edges[name].add(f"{target}.{alias.name}")
                    elif target in modules:
                        edges[name].add(target)
                        if alias.name in lazy.get(target, {}):
                            edges[name].add(lazy[target][alias.name])
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            private.append((name, target, alias.name))
            elif isinstance(node, ast.Import):
                edges[name].update(a.name for a in node.names if a.name in modules)
    for name in edges:  # importing a.b.c runs a/b/__init__ first
        for target in list(edges[name]):
            parts = target.split(".")
            for end in range(2, len(parts)):
                package = ".".join(parts[:end])
                if package in modules and not name.startswith(package):
                    edges[name].add(package)
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return components


def test_no_module_imports_a_private_name_of_another():
    _, private = _import_graph()
    assert private == []


def test_import_graph_has_no_cycles():
    edges, _ = _import_graph()
    assert _cycles(edges) == []


def test_the_task_table_and_errors_import_nothing_from_the_package():
    edges, _ = _import_graph()
    assert edges[f"{PACKAGE}.tasks"] == set()
    assert edges[f"{PACKAGE}.errors"] == set()
    assert edges[f"{PACKAGE}.version"] == set()


def test_modules_stay_short():
    long = {name: len(path.read_text().splitlines()) for name, (path, _) in _modules().items()
            if len(path.read_text().splitlines()) > MAX_LINES}
    assert long == {}


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_type_checking_imports_are_not_edges_but_the_private_name_rule_still_sees_runtime_imports():
    edges, _ = _import_graph()
    # hub.staging names YoloPreTrainedModel in annotations only; modeling_yolo imports hub.staging at run time
    assert f"{PACKAGE}.modeling_yolo" not in edges[f"{PACKAGE}.hub.staging"]
    assert f"{PACKAGE}.hub.staging" in edges[f"{PACKAGE}.modeling_yolo"]


def test_a_lazy_export_is_an_edge_of_its_importer_not_of_the_package():
    edges, _ = _import_graph()
    # hub/__init__ exports upload_model lazily: importing the package does not run hub.upload, while
    # `from yolo_transformers.hub import upload_model` would (the edge is resolved through this table)
    assert _lazy_exports(_modules())[f"{PACKAGE}.hub"]["upload_model"] == f"{PACKAGE}.hub.upload"
    assert f"{PACKAGE}.hub.upload" not in edges[f"{PACKAGE}.hub"]
