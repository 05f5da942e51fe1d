"""EventMonitor in real JupyterLab + Chromium: renders, refreshes while idle, Pause/Start/Clear."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.browser.notebook_file import write_notebook

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the `chromium` fixture skips (or fails under CI) with the reason
    PlaywrightTimeout = TimeoutError  # type: ignore[misc,assignment]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

#: Refresh period the notebook gives the monitor (s); the Pause check waits a few of these.
REFRESH = 0.25
#: Seconds the third cell stays busy in ``await asyncio.sleep``.
BUSY = 6
#: Generous waits (ms): kernel start, first render, counters moving.
KERNEL_WAIT = 60_000
RENDER_WAIT = 45_000
CHANGE_WAIT = 20_000

CELLS = [
    """\
import amilab, amilab.sim
pbx = amilab.sim.start(port=0)
pbx.traffic.start(rate=8, seed=1)
session = amilab.connect(pbx.host, pbx.port, username="admin", secret=amilab.sim.DEFAULT_SECRET)""",
    f"""\
from amilab import EventMonitor
monitor = EventMonitor(session, rows=15, refresh={REFRESH})
monitor""",
    f"""\
import asyncio
before = monitor.refreshes
await asyncio.sleep({BUSY})  # the cell is busy, but the kernel's loop is free
print("refreshes while busy:", monitor.refreshes - before)""",
]

STATUS = ".amilab-monitor .amilab-status"


def status_attr(page: Any, name: str) -> str:
    return str(page.locator(STATUS).get_attribute(f"data-{name}"))


def received(page: Any) -> int:
    return int(status_attr(page, "received"))


def wait_status(page: Any, condition: str, arg: object = None) -> None:
    """Wait until a JS condition on the status element's dataset holds."""
    page.wait_for_function(
        f"([sel, arg]) => {{ const d = document.querySelector(sel)?.dataset; "
        f"return !!d && ({condition}); }}",
        arg=[STATUS, arg],
        timeout=CHANGE_WAIT,
    )


def wait_kernel_connected(url: str, page: Any) -> None:
    """Wait until the page holds a websocket to an idle kernel.

    The notebook's execution indicator says idle before the kernel even
    starts, and cells run then are lost, so ask the server instead.
    """
    deadline = time.monotonic() + KERNEL_WAIT / 1000
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/kernels", timeout=5) as resp:
                kernels = json.load(resp)
        except OSError:  # jupyter_server answers 500 while a kernel is half started
            kernels = []
        if any(k["connections"] > 0 and k["execution_state"] == "idle" for k in kernels):
            return
        page.wait_for_timeout(200)
    pytest.fail(f"no idle kernel with a browser connection within {KERNEL_WAIT / 1000}s")


def run_all_cells(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def wait_cells_done(page: Any) -> None:
    """Every input prompt shows an execution count: the kernel is idle again."""
    page.wait_for_function(
        "n => { const p = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')];"
        " return p.length === n && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }",
        arg=len(CELLS),
        timeout=RENDER_WAIT,
    )


def test_monitor_live_in_jupyterlab(lab_server: Any, chromium: Any, artifacts: Path) -> None:
    """Renders; refreshes in busy (awaiting) and idle kernel; Pause freezes, Start, Clear."""
    write_notebook(lab_server.root / "monitor_test.ipynb", CELLS)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab_server.url}/lab/tree/monitor_test.ipynb")
        wait_kernel_connected(lab_server.url, page)
        run_all_cells(page)
        try:
            page.wait_for_selector(".amilab-monitor .amilab-view", timeout=RENDER_WAIT)
        except PlaywrightTimeout:
            shown = page.locator(".jp-OutputArea-output").all_inner_texts()
            pytest.fail(f"the monitor widget did not render (ipywidgets lab extension?): {shown}")

        # A cell awaiting: the kernel is busy, yet the display keeps refreshing.
        busy_prompt = page.locator(".jp-Notebook .jp-InputPrompt").nth(len(CELLS) - 1)
        assert "*" in busy_prompt.inner_text()
        wait_status(page, "+d.received > arg", received(page))
        assert "*" in busy_prompt.inner_text(), "the busy cell ended too soon to tell"
        wait_cells_done(page)
        printed = page.locator(".jp-OutputArea-output pre", has_text="refreshes while busy:")
        assert int(printed.inner_text().split(":")[1]) >= BUSY / REFRESH / 2

        # Idle kernel: the timer keeps refreshing, so the counters move on their own.
        start = received(page)
        wait_status(page, "+d.received > arg", start)
        wait_status(page, "d.state === 'running' && +d.rate > 0")
        assert page.locator(".amilab-events tbody tr").count() > 0
        assert page.locator(".amilab-counters tbody tr[data-event]").count() > 0
        page.locator(".amilab-monitor").screenshot(path=str(artifacts / "monitor.png"))

        # Pause: nothing moves for several refresh periods.
        page.locator("button.amilab-pause").click()
        wait_status(page, "d.state === 'paused'")
        frozen = received(page), page.locator(".amilab-events").inner_html()
        page.wait_for_timeout(4 * REFRESH * 1000)
        assert (received(page), page.locator(".amilab-events").inner_html()) == frozen

        # Clear (while paused): table, counters and recorder are empty and stay so.
        page.locator("button.amilab-clear").click()
        page.wait_for_selector(".amilab-events[data-rows='0']", timeout=CHANGE_WAIT)
        page.wait_for_selector(".amilab-counters[data-total='0']", timeout=CHANGE_WAIT)
        assert status_attr(page, "recorded") == "0"

        # Start: counting and the table resume.
        page.locator("button.amilab-start").click()
        wait_status(page, "d.state === 'running' && +d.received > 0")
        page.wait_for_selector(".amilab-events tbody tr", timeout=CHANGE_WAIT)
        page.locator(".amilab-monitor").screenshot(path=str(artifacts / "monitor-resumed.png"))
    except Exception:
        page.screenshot(path=str(artifacts / "monitor-failure.png"), full_page=True)
        print("cell outputs:", *page.locator(".jp-OutputArea-output").all_inner_texts(), sep="\n")
        print(lab_server.log.read_text()[-5000:])
        raise
    finally:
        page.close()
