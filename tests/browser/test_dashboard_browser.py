"""StateDashboard in real JupyterLab + Chromium: renders, ticks while idle and while busy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.notebook_file import write_notebook
from tests.browser.test_monitor_browser import run_all_cells, wait_kernel_connected

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the `chromium` fixture skips (or fails under CI) with the reason
    PlaywrightTimeout = TimeoutError  # type: ignore[misc,assignment]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

#: Refresh period the notebook gives the dashboard (s).
REFRESH = 0.25
#: Seconds the last cell stays busy in ``await asyncio.sleep``.
BUSY = 4
RENDER_WAIT = 45_000
CHANGE_WAIT = 20_000
STATUS = ".amilab-dash .amilab-status"

CELLS = [
    """\
import amilab, amilab.sim
from amilab.state import track_session
from amilab.notebook.dashboard import StateDashboard
pbx = amilab.sim.start(port=0, traffic=10, seed=2)
session = amilab.connect(pbx)
state = track_session(session)""",
    f"""\
dash = StateDashboard(state, rows=10, refresh={REFRESH})
dash""",
    f"""\
import asyncio
before = dash.refreshes
await asyncio.sleep({BUSY})  # the cell is busy, but the kernel's loop is free
print("refreshes while busy:", dash.refreshes - before)""",
]


def wait_view_changes(page: Any) -> None:
    """Wait until the rendered calls pane differs from what it shows now."""
    before = page.locator(".amilab-dash .amilab-calls").inner_html()
    page.wait_for_function(
        "b => document.querySelector('.amilab-dash .amilab-calls')?.innerHTML !== b",
        arg=before,
        timeout=CHANGE_WAIT,
    )


def test_dashboard_live_in_jupyterlab(lab_server: Any, chromium: Any, artifacts: Path) -> None:
    """Renders calls, queues and endpoints; keeps refreshing in an awaiting and an idle kernel."""
    write_notebook(lab_server.root / "dashboard_test.ipynb", CELLS)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab_server.url}/lab/tree/dashboard_test.ipynb")
        wait_kernel_connected(lab_server.url, page)
        run_all_cells(page)
        try:
            page.wait_for_selector(STATUS, timeout=RENDER_WAIT)
        except PlaywrightTimeout:
            shown = page.locator(".jp-OutputArea-output").all_inner_texts()
            pytest.fail(f"the dashboard did not render (ipywidgets lab extension?): {shown}")
        assert "channels" in page.locator(STATUS).inner_text()
        for pane in ("amilab-calls", "amilab-queues", "amilab-members", "amilab-endpoints"):
            assert page.locator(f".amilab-dash .{pane} table").count() == 1
        # The awaiting cell: the view still changes.
        wait_view_changes(page)
        page.wait_for_selector(
            ".jp-OutputArea-output pre:has-text('refreshes while busy:')", timeout=RENDER_WAIT
        )
        printed = page.locator(".jp-OutputArea-output pre", has_text="refreshes while busy:")
        assert int(printed.inner_text().split(":")[1]) >= BUSY / REFRESH / 2
        # Idle kernel: the timer keeps refreshing; calls and durations move.
        wait_view_changes(page)
        assert page.locator(".amilab-dash .amilab-calls tr").count() > 1
        page.locator(".amilab-dash").screenshot(path=str(artifacts / "dashboard.png"))
    except Exception:
        page.screenshot(path=str(artifacts / "dashboard-failure.png"), full_page=True)
        print("cell outputs:", *page.locator(".jp-OutputArea-output").all_inner_texts(), sep="\n")
        print(lab_server.log.read_text()[-5000:])
        raise
    finally:
        page.close()
