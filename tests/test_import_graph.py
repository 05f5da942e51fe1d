"""amilab's module graph: no import cycle (imports inside functions count) and one-way layers.

Dependencies point one way: protocol <- client <- session <- notebook, and
protocol <- sim. An import inside a function is still a dependency: hiding one
there to dodge a cycle is the thing this test exists to catch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "amilab"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, modules: set[str], name: str | None = None) -> set[str]:
    """The amilab modules ``path`` (module ``name``) imports at run time, anywhere in it."""
    name = name or _module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        # ``from amilab.x import y`` may name a module y or a name in x: keep the longest module.
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("amilab"):
                        add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(name, child, is_package)
                if base.startswith("amilab"):
                    for alias in child.names:
                        add(f"{base}.{alias.name}")
            elif isinstance(child, ast.Call) and _is_import_module(child):
                arg = child.args[0]
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("amilab"):
                    add(str(arg.value))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _is_import_module(call: ast.Call) -> bool:
    func = call.func
    named = isinstance(func, ast.Attribute) and func.attr == "import_module"
    return named and bool(call.args)


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): imports_of(p, modules) for p in paths}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


#: The package's own entry points may reach the notebook layer: IPython calls
#: ``amilab.load_ipython_extension``, and ``python -m amilab lab`` starts it.
NOTEBOOK_ENTRY_POINTS = {"amilab", "amilab.__main__"}


def test_no_import_cycle_anywhere():
    """No cycle in amilab's module graph, counting imports inside functions."""
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    ("layer", "must_not_import"),
    [
        ("amilab.protocol", ("amilab.client", "amilab.session", "amilab.notebook", "amilab.sim")),
        ("amilab.sim", ("amilab.client", "amilab.session", "amilab.notebook", "amilab.connection")),
        ("amilab.client", ("amilab.session", "amilab.notebook")),
        ("amilab.connection", ("amilab.client", "amilab.session", "amilab.notebook")),
        ("amilab.catalog", ("amilab.client", "amilab.session", "amilab.notebook")),
    ],
)
def test_layers_point_one_way(layer: str, must_not_import: tuple[str, ...]):
    """Lower layers never import upper ones (protocol <- client <- session <- notebook)."""
    bad = {
        (module, target)
        for module, targets in graph().items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if target.startswith(must_not_import)
    }
    assert bad == set()


def test_nothing_below_the_notebook_imports_it():
    """Only the notebook package and the package's entry points import amilab.notebook."""
    bad = {
        (module, target)
        for module, targets in graph().items()
        if not module.startswith("amilab.notebook") and module not in NOTEBOOK_ENTRY_POINTS
        for target in targets
        if target.startswith("amilab.notebook")
    }
    assert bad == set()


def test_the_scanner_sees_hidden_imports(tmp_path: Path):
    """Imports inside functions and importlib.import_module calls are edges too."""
    modules = {"amilab", "amilab.a", "amilab.b", "amilab.probe"}
    source = (
        "import importlib\n"
        "def f():\n    from amilab import b\n"
        "def g():\n    importlib.import_module('amilab.a')\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of(path, modules, "amilab.probe") == {"amilab.a", "amilab.b"}
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
