"""``python -m amilab``: the demo, the help, and the lab and sim entry points."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import amilab.__main__ as cli
import amilab.sim
import amilab.sim.server

ROOT = Path(__file__).resolve().parent.parent
#: The demo shows 2 s of events; start-up and shutdown take well under a second more.
DEMO_TIMEOUT = 60


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amilab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )


def test_demo_runs_headless_and_exits_cleanly(tmp_path: Path) -> None:
    """The demo prints the endpoints table, the call, live events and the calls table; exit 0."""
    proc = _run("demo", "--seconds", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for endpoint in ("100", "101", "102", "200"):
        assert re.search(rf"(?m)^\s*{endpoint}\s+Not in use\s+{endpoint}/sip:", out), endpoint
    assert "Originate: Success, Originate successfully queued" in out
    assert re.search(r"(?m)^\d\d:\d\d:\d\d Newchannel\s+Channel=PJSIP/101-", out)
    assert re.search(r"(?m)^\d+ events in 2 s", out)
    assert re.search(r"(?m)^\d+ calls seen, \d+ finished", out)
    assert re.search(r"(?m)^caller\s+callee\s+talk_s\s+ended$", out)
    assert "Traceback" not in proc.stderr


def test_demo_never_prints_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a unique simulator secret, no line of the demo's output contains it."""
    token = "tok-demo-8f3a1c9e27"
    users = {name: dict(user) for name, user in amilab.sim.server.DEFAULT_USERS.items()}
    users["admin"]["secret"] = token
    monkeypatch.setattr(amilab.sim.server, "DEFAULT_USERS", users)
    assert cli.main(["demo", "--seconds", "0.5", "--traffic", "5"]) == 0
    captured = capsys.readouterr()
    assert "logged in: <Session admin@" in captured.out
    assert token not in captured.out + captured.err


def test_demo_rejects_negative_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    """A negative --seconds is a usage error (exit 2), not a crash."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--seconds", "-1"])
    assert exc.value.code == 2
    assert "must not be negative" in capsys.readouterr().err


def test_help_lists_the_commands(tmp_path: Path) -> None:
    """``python -m amilab --help`` works in a subprocess and names demo, lab and sim."""
    proc = _run("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in ("demo", "lab", "sim"):
        assert re.search(rf"(?m)^\s+{command}\s+\S", proc.stdout), command


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the help is printed and the exit status is 0."""
    assert cli.main([]) == 0
    assert "python -m amilab demo" in capsys.readouterr().out


def test_sim_delegates_to_the_simulator_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m amilab sim ...`` passes its arguments to ``amilab.sim``'s command line."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["sim", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--legacy-sip" in out and "--traffic" in out


def test_lab_help_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lab --help`` explains the pass-through options without starting JupyterLab."""
    monkeypatch.setattr(os, "execv", _refuse)
    monkeypatch.setattr(subprocess, "call", _refuse)
    assert cli.main(["lab", "--help"]) == 0
    assert "--no-browser" in capsys.readouterr().out


def test_lab_opens_the_quickstart_with_extra_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """``lab`` runs JupyterLab in notebooks/ on the quickstart, passing extra arguments on."""
    calls: list[list[str]] = []

    def fake_execv(path: str, argv: list[str]) -> None:
        calls.append(argv)
        raise SystemExit(0)  # a real execv never returns

    def fake_call(argv: list[str]) -> int:
        calls.append(argv)
        return 0

    monkeypatch.setattr(os, "execv", fake_execv)
    monkeypatch.setattr(subprocess, "call", fake_call)
    try:
        status = cli.main(["lab", "--no-browser", "--port", "8899"])
    except SystemExit as exc:
        status = exc.code
    assert status == 0
    (argv,) = calls
    notebooks = ROOT / "notebooks"
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={notebooks}" in argv
    assert argv[-1] == str(notebooks / "01_quickstart.ipynb")
    assert argv[argv.index("--no-browser") + 1 : argv.index("--no-browser") + 3] == [
        "--port",
        "8899",
    ]
    assert ("--allow-root" in argv) == (hasattr(os, "geteuid") and os.geteuid() == 0)


def test_lab_without_jupyterlab_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without JupyterLab installed, ``lab`` exits 2 naming the pip extra to install."""
    real_find_spec = cli.importlib.util.find_spec
    monkeypatch.setattr(
        cli.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "jupyterlab" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(os, "execv", _refuse)
    assert cli.main(["lab"]) == 2
    assert ".[notebook]" in capsys.readouterr().err


def _refuse(*args: object) -> None:
    raise AssertionError(f"JupyterLab must not start here: {args!r}")
