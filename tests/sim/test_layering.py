"""The simulator's modules import one way: no cycle, no client, session or notebook.

Every ``import`` statement counts, wherever it stands: at the top, inside a
function, under ``if TYPE_CHECKING:``. An import hidden in a function still
ties two modules together; it only hides the knot from Python's loader.
Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``; those
implicit parent-package imports are not edges here (every package that
re-exports its submodules would otherwise be a cycle), only the statements are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "amilab"
#: What the simulator may never reach, directly or through another amilab module.
FORBIDDEN = ("amilab.client", "amilab.session", "amilab.notebook")
#: The layers, bottom-up: a module imports only from lower layers or its own.
LAYERS = (
    ("amilab.sim.model", "amilab.sim.profiles"),
    ("amilab.sim.dialplan", "amilab.sim.sandbox"),
    ("amilab.sim.traffic",),
    ("amilab.sim.pbx", "amilab.sim.ami"),
    ("amilab.sim.faults", "amilab.sim.replay"),
    ("amilab.sim.server",),
    ("amilab.sim",),
    ("amilab.sim.__main__",),
)


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root`` (the directory of ``package``) by dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join([package, *parts])] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules ``path`` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # ``from pkg import sub`` imports the submodule when there is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # import a.b.name -> module a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    known = module_names(root, package)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component of more than one module (sorted names)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One cycle through the component, from its first module back to it (for the message)."""
    members, start = set(component), component[0]
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return component


def reachable(graph: dict[str, set[str]], start: list[str]) -> dict[str, str]:
    """Every module reachable from ``start``, with the module that imports it."""
    seen: dict[str, str] = {}
    todo = list(start)
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen and nxt not in start:
                seen[nxt] = node
                todo.append(nxt)
    return seen


def test_no_import_cycle_in_sim():
    """amilab/sim has no import cycle, counting imports inside functions and TYPE_CHECKING."""
    graph = import_graph(PACKAGE / "sim", "amilab.sim")
    assert len(graph) > 20  # the walk found the package
    cycles = find_cycles(graph)
    named = [f"{c}, e.g. {' -> '.join(cycle_path(graph, c))}" for c in cycles]
    assert not cycles, "import cycles: " + "; ".join(named)


def layer_of(module: str) -> tuple[int, str]:
    """(rank, layer name) of a sim module: the longest LAYERS prefix it falls under."""
    best = (-1, "")
    for rank, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best[1]):
                best = (rank, name)
    assert best[0] >= 0, f"{module} is in no layer of LAYERS; add it"
    return best


def test_sim_imports_only_downwards():
    """Each sim module imports only lower layers (or its own): model never reaches the server."""
    graph = import_graph(PACKAGE / "sim", "amilab.sim")
    upward = []
    for module, targets in sorted(graph.items()):
        rank, layer = layer_of(module)
        for target in sorted(targets):
            their_rank, their_layer = layer_of(target)
            if their_layer != layer and their_rank >= rank:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that go up or sideways: " + ", ".join(upward)


def test_sim_never_reaches_client_session_or_notebook():
    """No sim module imports amilab.client/session/notebook, directly or through another."""
    graph = import_graph(PACKAGE, "amilab")
    sim = [name for name in graph if name == "amilab.sim" or name.startswith("amilab.sim.")]
    via = reachable(graph, sim)
    bad = sorted(n for n in via if n.startswith(FORBIDDEN))
    assert not bad, [f"{n} (imported by {via[n]})" for n in bad]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_finder_sees_a_cycle_hidden_in_a_function(tmp_path):
    """The checker itself: a cycle closed by an import inside a function is named."""
    _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import helper\n",
            "b.py": "def helper():\n    from pkg import a\n    return a\n",
            "c.py": "import pkg.a\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert find_cycles(graph) == [["pkg.a", "pkg.b"]]
    assert cycle_path(graph, ["pkg.a", "pkg.b"]) == ["pkg.a", "pkg.b", "pkg.a"]


@pytest.mark.parametrize(
    "source",
    [
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n",
        "from .a import thing\n",
        "import pkg.a.thing\n",
    ],
)
def test_finder_resolves_every_import_form(tmp_path, source):
    """Relative, TYPE_CHECKING-guarded and attribute imports all count as edges."""
    _write(tmp_path, {"__init__.py": "", "a.py": "from pkg import b\n", "b.py": source})
    assert find_cycles(import_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b"]]
