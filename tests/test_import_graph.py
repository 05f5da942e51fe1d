"""amilab's module graph: no import cycle (imports inside functions count) and one-way layers.

Dependencies point one way: protocol <- client <- session <- notebook, and
protocol <- sim. An import inside a function is still a dependency: hiding one
there to dodge a cycle is the thing this test exists to catch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import cycle_path, find_cycles, import_graph

PACKAGE = Path(__file__).resolve().parents[1] / "amilab"


def graph() -> dict[str, set[str]]:
    """amilab's module graph (every import statement, wherever it stands)."""
    return import_graph(PACKAGE, "amilab")


#: The package's own entry points may reach the notebook layer: IPython calls
#: ``amilab.load_ipython_extension``, and ``python -m amilab lab`` starts it.
NOTEBOOK_ENTRY_POINTS = {"amilab", "amilab.__main__"}


def test_no_import_cycle_anywhere():
    """No cycle in amilab's module graph, counting imports inside functions."""
    edges = graph()
    assert [cycle_path(edges, c) for c in find_cycles(edges)] == []


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
