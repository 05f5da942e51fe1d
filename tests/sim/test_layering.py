"""The simulator's modules import one way: no cycle, no client, session or notebook.

Every ``import`` statement counts, wherever it stands: at the top, inside a
function, under ``if TYPE_CHECKING:``. An import hidden in a function still
ties two modules together; it only hides the knot from Python's loader.
Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``; those
implicit parent-package imports are not edges here (every package that
re-exports its submodules would otherwise be a cycle), only the statements are.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import cycle_path, find_cycles, import_graph, reachable

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
