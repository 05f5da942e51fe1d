"""%ami in real JupyterLab + Chromium: offline help renders, Tab completes lines and cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.notebook_file import write_notebook
from tests.browser.test_monitor_browser import KERNEL_WAIT, wait_kernel_connected

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

#: Generous waits (ms) for a cell's output and for the completer popup.
OUTPUT_WAIT = 45_000
POPUP_WAIT = 20_000

CELLS = [
    "%load_ext amilab",
    "%ami help Originate",
    # Completed by the test, never run: Queue matches several actions (QueueAdd, ...).
    "%ami Queue",
    # A cell body: after "Action: Originate", C matches Channel, Context, CallerID, ...
    "%%ami\nAction: Originate\nC",
]


def cell_editor(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")


def run_cell(page: Any, index: int) -> None:
    editor = cell_editor(page, index)
    editor.click()
    page.keyboard.press("Shift+Enter")


def completions_after(page: Any, index: int) -> list[str]:
    """Put the cursor at the end of cell ``index``, press Tab, read the popup's items."""
    editor = cell_editor(page, index)
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Tab")
    popup = page.locator(".jp-Completer .jp-Completer-item")
    popup.first.wait_for(timeout=POPUP_WAIT)
    items = page.locator(".jp-Completer .jp-Completer-match").all_inner_texts()
    page.keyboard.press("Escape")
    return [item.strip() for item in items]


def test_help_and_completion_in_jupyterlab(lab_server: Any, chromium: Any, artifacts: Path) -> None:
    """%ami help renders the catalog's facts; Tab pops up action and header completions."""
    write_notebook(lab_server.root / "magics_test.ipynb", CELLS)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab_server.url}/lab/tree/magics_test.ipynb")
        wait_kernel_connected(lab_server.url, page)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=KERNEL_WAIT)
        run_cell(page, 0)
        run_cell(page, 1)
        help_text = page.locator(".jp-OutputArea-output pre", has_text="Action: Originate")
        help_text.wait_for(timeout=OUTPUT_WAIT)
        text = help_text.inner_text()
        assert "Required: Channel" in text and "Privilege: all, originate" in text
        page.locator(".jp-Notebook .jp-Cell").nth(1).screenshot(
            path=str(artifacts / "magics-help.png")
        )

        actions = completions_after(page, 2)
        assert {"QueueAdd", "QueueStatus", "QueueSummary"} <= set(actions), actions
        headers = completions_after(page, 3)
        assert {"Channel", "Context", "CallerID"} <= {h.rstrip(": ") for h in headers}, headers
        page.keyboard.press("Control+End")
        page.keyboard.press("Tab")
        page.locator(".jp-Completer").screenshot(path=str(artifacts / "magics-completion.png"))
    except Exception:
        page.screenshot(path=str(artifacts / "magics-failure.png"), full_page=True)
        print("cell outputs:", *page.locator(".jp-OutputArea-output").all_inner_texts(), sep="\n")
        print(lab_server.log.read_text()[-5000:])
        raise
    finally:
        page.close()
