"""The notebooks in notebooks/: committed stripped, and each runs top to bottom in a clean kernel.

The four notebooks execute once per test session, concurrently (one kernel each, in a
temporary working directory), and each parametrized test checks one of them. To make
a leaked secret detectable, an IPython startup file in a private IPYTHONDIR replaces
the simulator's demo secrets with random tokens before any cell runs; no output may
contain them.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = [
    "01_quickstart.ipynb",
    "02_teaching_ami.ipynb",
    "03_event_analysis.ipynb",
    "04_monitoring.ipynb",
]
#: Seconds one cell may run; the slowest cell sleeps a few seconds against the simulator.
CELL_TIMEOUT = 120
#: Seconds a whole notebook may run (each takes about 10 s alone; this is a hang guard).
NOTEBOOK_LIMIT = 240
KERNEL = "python3"

#: Runs in the kernel before the first cell: unique secrets for the simulator's users.
STARTUP = """\
import amilab.sim
import amilab.sim.server

for _name, _token in {tokens!r}.items():
    amilab.sim.server.DEFAULT_USERS[_name]["secret"] = _token
amilab.sim.DEFAULT_SECRET = amilab.sim.server.DEFAULT_USERS["admin"]["secret"]
open({marker!r}, "w").close()
"""
#: A secret-bearing header line whose value is shown instead of masked.
UNMASKED = re.compile(r"(?im)^(?:>> |<< )?(?:secret|key)[ \t]*:[ \t]*(?!\*\*\*)\S")

pytestmark = pytest.mark.notebooks


@dataclass
class Run:
    """One executed notebook, or the error that stopped it."""

    notebook: Any
    seconds: float
    error: BaseException | None
    startup_ran: bool


def _require_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().get_all_specs():
        pytest.fail(
            f"no {KERNEL!r} Jupyter kernelspec: install one with "
            f"`{sys.executable} -m ipykernel install --sys-prefix`"
        )


async def _execute(path: Path, workdir: Path) -> tuple[Any, float, BaseException | None]:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.monotonic()
    error: BaseException | None = None
    try:
        await asyncio.wait_for(client.async_execute(), NOTEBOOK_LIMIT)
    except TimeoutError:
        error = TimeoutError(f"{path.name} did not finish within {NOTEBOOK_LIMIT} s")
    except Exception as exc:  # reported by the notebook's own test
        error = exc
    return notebook, time.monotonic() - start, error


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return {user: f"tok-{secrets.token_hex(12)}" for user in ("admin", "readonly")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tokens: dict[str, str]) -> dict[str, Run]:
    """Execute every notebook concurrently, each in its own temp dir and clean kernel."""
    _require_kernel()
    base = tmp_path_factory.mktemp("notebooks")
    ipython_dir = base / "ipython"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPYTHONDIR", str(ipython_dir))
        mp.setenv("MPLBACKEND", "agg")

        async def run_all() -> list[tuple[Any, float, BaseException | None]]:
            jobs = []
            for name in NOTEBOOKS:
                workdir = base / name.removesuffix(".ipynb")
                workdir.mkdir()
                jobs.append(_execute(NOTEBOOK_DIR / name, workdir))
            return await asyncio.gather(*jobs)

        # One startup file serves all kernels; its marker file proves it ran.
        (startup / "00-amilab-test-secrets.py").write_text(
            STARTUP.format(tokens=tokens, marker=str(base / "startup-ran"))
        )
        results = asyncio.run(run_all())
    ran = (base / "startup-ran").exists()
    return {
        name: Run(nb, seconds, error, ran)
        for name, (nb, seconds, error) in zip(NOTEBOOKS, results, strict=True)
    }


def _outputs(notebook: Any) -> list[dict[str, Any]]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def _texts(notebook: Any, mime: str) -> list[str]:
    """Every output text of one kind: ``stream`` for printed text, or a MIME type."""
    found = []
    for out in _outputs(notebook):
        if mime == "stream" and out.output_type == "stream":
            found.append(out.text)
        elif mime in out.get("data", {}):
            value = out.data[mime]
            found.append(value if isinstance(value, str) else json.dumps(value))
    return found


def _checked(runs: dict[str, Run], name: str) -> Any:
    run = runs[name]
    if run.error is not None:
        pytest.fail(f"{name} failed after {run.seconds:.1f} s: {run.error}")
    assert run.startup_ran, "the IPython startup file did not run: secrets were not replaced"
    return run.notebook


# -- committed form --------------------------------------------------------------------
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_stripped(name: str) -> None:
    """A committed notebook has no outputs, no execution counts and minimal metadata."""
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for cell in code:
        assert cell.outputs == [], f"{name}: a cell has outputs: {cell.source[:60]!r}"
        assert cell.execution_count is None, f"{name}: execution count in {cell.source[:60]!r}"
        assert not cell.metadata, f"{name}: cell metadata {dict(cell.metadata)}"
    assert notebook.metadata.kernelspec.name == KERNEL
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}


def test_every_notebook_is_listed() -> None:
    """Every notebook in notebooks/ is one the tests execute."""
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOKS


# -- execution ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_errors(runs: dict[str, Run], name: str) -> None:
    """Run all in a clean kernel completes, and no cell output is an error."""
    notebook = _checked(runs, name)
    errors = [out for out in _outputs(notebook) if out.output_type == "error"]
    assert errors == []
    executed = [c for c in notebook.cells if c.cell_type == "code" and c.execution_count]
    assert len(executed) == sum(c.cell_type == "code" for c in notebook.cells)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_never_shows_a_secret(
    runs: dict[str, Run], tokens: dict[str, str], name: str
) -> None:
    """No output contains a simulator secret, and secret-bearing header lines are masked."""
    notebook = _checked(runs, name)
    everything = json.dumps([dict(out) for out in _outputs(notebook)])
    for user, token in tokens.items():
        assert token not in everything, f"{name} shows the {user} secret"
    for text in _texts(notebook, "stream") + _texts(notebook, "text/plain"):
        assert not UNMASKED.search(text), f"{name} shows an unmasked secret header"


def test_quickstart_shows_the_endpoints_table(runs: dict[str, Run]) -> None:
    """The quickstart's PJSIPShowEndpoints and SIPPeers render as tables with phone 100;
    SIPPeers on the strict 22 profile fails in one line naming PJSIPShowEndpoints."""
    notebook = _checked(runs, "01_quickstart.ipynb")
    tables = [html for html in _texts(notebook, "text/html") if "<th>Auths</th>" in html]
    assert tables, "no PJSIPShowEndpoints table"
    assert re.search(r"<td>100</td>", tables[0])
    peers = [html for html in _texts(notebook, "text/html") if "<th>Channeltype</th>" in html]
    assert peers and re.search(r"<td>100</td>", peers[0]), "no SIPPeers table"
    printed = "".join(_texts(notebook, "stream"))
    assert "Connected to simulated Asterisk 20.20.1 (chan_sip + PJSIP)" in printed
    assert "Connected to simulated Asterisk 22.10.1 (PJSIP)" in printed
    assert "Invalid/unknown command: SIPPeers" in printed
    assert "use %ami PJSIPShowEndpoints instead" in printed
    assert "Answers with: EndpointList events, then EndpointListComplete" in printed
    assert "['Channel=', 'ChannelId=']" in printed


def test_teaching_notebook_shows_the_protocol(runs: dict[str, Run]) -> None:
    """The teaching notebook's trace shows a masked MD5 login, a denial and a reconnect."""
    printed = "".join(_texts(_checked(runs, "02_teaching_ami.ipynb"), "stream"))
    assert ">> Action: Challenge" in printed
    assert ">> Key: ***" in printed
    assert "<< EventList: start" in printed and "<< ListItems: 4" in printed
    assert "Permission denied" in printed
    assert "reconnected" in printed and "dead peer" in printed


def test_analysis_notebook_draws_and_round_trips(runs: dict[str, Run]) -> None:
    """The analysis notebook draws plots and reloads its captures unchanged."""
    notebook = _checked(runs, "03_event_analysis.ipynb")
    assert _texts(notebook, "image/png"), "no plot was drawn"
    printed = "".join(_texts(notebook, "stream"))
    assert "both identical to the original" in printed
    assert re.search(r"sent ([\d,]+) events, received \1 over AMI", printed)


def _cell_images(notebook: Any, call: str) -> list[Any]:
    """PNG outputs of the code cells whose source contains ``call``."""
    cells = [c for c in notebook.cells if c.cell_type == "code" and call in c.source]
    assert cells, f"no cell calls {call}"
    return [out for c in cells for out in c.outputs if "image/png" in out.get("data", {})]


def test_analysis_notebook_answers_the_analysts_questions(runs: dict[str, Run]) -> None:
    """Notebook 03 answers calls per interval, hangup causes, ASA and abandon rate per
    queue and agent occupancy, and draws a ladder and a timeline."""
    notebook = _checked(runs, "03_event_analysis.ipynb")
    printed = "".join(_texts(notebook, "stream"))
    assert re.search(r"busiest 10 minutes: \d\d:\d\d with \d+ calls", printed)
    assert re.search(r"hangup cause Normal Clearing: \d+% of calls", printed)
    assert re.search(
        r"support: ASA \d+\.\d s, abandon rate \d+%, service level \d+% of \d+ callers",
        printed,
    )
    assert re.search(r"Agent 400: occupancy \d+\.\d%, answered \d+ of \d+", printed)
    assert re.search(r"call [\d.]+: \d+ -> \d+, blind transfer to \S+@amilab", printed)
    assert _cell_images(notebook, 'resample("10min")'), "no calls-per-interval chart"
    assert _cell_images(notebook, "analysis.ladder("), "the ladder was not drawn"
    assert _cell_images(notebook, "analysis.timeline("), "the timeline was not drawn"


def test_monitoring_notebook_shows_widgets(runs: dict[str, Run]) -> None:
    """The monitoring notebook displays both monitors as widget views, headless."""
    notebook = _checked(runs, "04_monitoring.ipynb")
    views = _texts(notebook, "application/vnd.jupyter.widget-view+json")
    assert len(views) >= 3  # two monitors and the state dashboard
    printed = "".join(_texts(notebook, "stream"))
    assert re.search(r"\d+ channels up", printed)  # %ami state channels
    assert "refreshes during the busy cell: 0" in printed
    assert "recorded while paused: 0" in printed
    assert "read-only: Hangup needs the write class call or system; nothing was sent" in printed
    assert "Action: Originate\\r\\n" in printed and "(dry run: nothing was sent" in printed
