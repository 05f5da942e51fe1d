"""The protocol package stays sans-IO: stdlib and amilab.errors only, no I/O modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROTOCOL_DIR = Path(__file__).resolve().parents[2] / "amilab" / "protocol"
MODULES = sorted(PROTOCOL_DIR.glob("*.py"))
#: Stdlib modules that would mean I/O or concurrency leaked into the sans-IO core.
FORBIDDEN_STDLIB = {
    "asyncio",
    "socket",
    "selectors",
    "ssl",
    "threading",
    "concurrent",
    "subprocess",
}
#: Third-party or upper-layer modules that must never load with the protocol.
FORBIDDEN_LOADED = FORBIDDEN_STDLIB - {"threading"} | {"pandas", "numpy", "IPython", "ipywidgets"}
#: Imports allowed inside a function body only (deferred until called), with the reason.
#: None: DataFrame helpers live above the protocol (amilab.results, amilab.frames).
DEFERRED_ALLOWED: set[tuple[str, str]] = set()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module, deferred) for every runtime import; TYPE_CHECKING blocks are skipped."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub, deferred)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, deferred) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = ["amilab", "protocol"][: max(0, 3 - child.level)] if child.level else []
                if child.module:
                    found.append((".".join([*base, child.module]), deferred))
                else:  # ``from . import x``: each name is a module of the package
                    found.extend((".".join([*base, a.name]), deferred) for a in child.names)
            inner = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return found


def _allowed(module: str) -> bool:
    root = module.split(".")[0]
    if root in FORBIDDEN_STDLIB:
        return False
    if root in sys.stdlib_module_names:
        return True
    return (
        module == "amilab.errors"
        or module == "amilab.protocol"
        or (module.startswith("amilab.protocol."))
    )


def test_protocol_modules_found() -> None:
    """The scan sees the protocol modules (guards against a wrong path)."""
    assert {p.name for p in MODULES} >= {"buffer.py", "client.py", "message.py", "serialize.py"}


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_imports_only_stdlib_and_errors(path: Path) -> None:
    """Each protocol module imports only the stdlib, amilab.errors and its own package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [
        module
        for module, deferred in _imports(tree)
        if not _allowed(module) and not (deferred and (path.name, module) in DEFERRED_ALLOWED)
    ]
    assert bad == [], f"{path.name} imports {bad}"


def test_import_loads_no_io_or_heavy_modules() -> None:
    """Importing amilab.protocol in a fresh interpreter loads no asyncio, socket, pandas..."""
    code = "import sys, amilab.protocol\nprint('\\n'.join(sorted(sys.modules)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROTOCOL_DIR.parents[1],
    )
    loaded = set(proc.stdout.split())
    assert "amilab.protocol.client" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_LOADED) == []
    outside = {
        m
        for m in loaded
        if m.split(".")[0] == "amilab"
        and m not in ("amilab", "amilab.errors", "amilab.protocol")
        and not m.startswith("amilab.protocol.")
    }
    assert outside == set()


def test_scanner_sees_deferred_and_skips_type_checking() -> None:
    """The import scanner flags function-level imports and ignores TYPE_CHECKING ones."""
    source = (
        "import os\n"
        "from . import message\n"
        "if TYPE_CHECKING:\n    import pandas\n"
        "def f():\n    import asyncio\n"
    )
    found = _imports(ast.parse(source))
    assert found == [("os", False), ("amilab.protocol.message", False), ("asyncio", True)]
    assert not _allowed("asyncio") and not _allowed("pandas") and _allowed("hashlib")
