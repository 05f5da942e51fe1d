"""``python -m amilab``: a first look at amilab, in a terminal or in JupyterLab.

``capture`` logs in to AMI servers and writes their events to a Parquet dataset
until stopped (see ``python -m amilab capture --help`` and
:mod:`amilab.dataset.capture`); ``demo`` runs a headless tour against the
built-in simulator (endpoints, a call, live events, a small analysis) and exits;
``lab`` opens JupyterLab on the quickstart notebook (extra arguments go to
JupyterLab); ``sim`` runs the simulator in the foreground (see ``python -m amilab sim --help``).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import queue
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from amilab.notebook.commands import CommandError, Connect
from amilab.notebook.config import DEFAULT_CONFIG_FILE

if TYPE_CHECKING:
    import pandas as pd

    from amilab.dataset.capture import ServerSpec
    from amilab.protocol import Message
    from amilab.protocol.login import AuthMode
    from amilab.session import Session

__all__ = ["main"]

#: The notebooks of a source checkout (``pip install -e .``), next to the package.
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
QUICKSTART = "01_quickstart.ipynb"
#: Demo defaults: a few calls a second keeps the event stream readable in a terminal.
DEMO_SECONDS = 5.0
DEMO_TRAFFIC = 2.0
DEMO_SEED = 1
#: The call the demo places: phone 101 rings, answers and runs extension 100.
DEMO_CALL = {
    "Channel": "PJSIP/101",
    "Context": "amilab",
    "Exten": "100",
    "Priority": "1",
    "Async": "true",
}
#: Events the demo prints (the call's life); every event is still recorded and counted.
SHOWN_EVENTS = frozenset(
    {"Newchannel", "Newstate", "DialBegin", "DialEnd", "BridgeEnter", "Hangup", "OriginateResponse"}
)
#: Headers of a printed event, when present.
SHOWN_HEADERS = (
    "Channel",
    "DestChannel",
    "ChannelStateDesc",
    "DialStatus",
    "Response",
    "Cause-txt",
)
#: Calls listed in the demo's analysis table.
CALL_ROWS = 10


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m amilab",
        description="amilab: the Asterisk Manager Interface (AMI) in Python and Jupyter.",
        epilog="New here? Start with `python -m amilab demo`, then `python -m amilab lab`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="a headless tour against the built-in simulator",
        description="Start the simulated Asterisk 22 with call traffic, connect, list the "
        "endpoints, place a call, show live events, then a small analysis; then exit.",
    )
    demo.add_argument(
        "--seconds",
        type=float,
        default=DEMO_SECONDS,
        metavar="N",
        help=f"seconds of live events to show (default {DEMO_SECONDS:g})",
    )
    demo.add_argument(
        "--traffic",
        type=float,
        default=DEMO_TRAFFIC,
        metavar="RATE",
        help=f"generated calls per second (default {DEMO_TRAFFIC:g}; 0 for none)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=DEMO_SEED,
        help=f"seed of the generated traffic (default {DEMO_SEED})",
    )
    _capture_parser(sub)
    sub.add_parser(
        "lab",
        help="open JupyterLab on the quickstart notebook (extra arguments go to JupyterLab)",
        add_help=False,
    )
    sub.add_parser(
        "sim",
        help="run the simulator in the foreground (python -m amilab sim --help)",
        add_help=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    # lab and sim pass their arguments through untouched (--port, --no-browser, ...).
    if args[:1] == ["lab"]:
        return lab(args[1:])
    if args[:1] == ["sim"]:
        from amilab.sim.__main__ import main as sim_main

        return sim_main(args[1:])
    parser = _parser()
    ns = parser.parse_args(args)
    if ns.command == "demo":
        if ns.seconds < 0 or ns.traffic < 0:
            parser.error("--seconds and --traffic must not be negative")
        return demo(ns.seconds, ns.traffic, ns.seed)
    if ns.command == "capture":
        return capture(ns)
    parser.print_help()
    return 0


# -- capture --------------------------------------------------------------------------------
#: A dataset name: it becomes a directory name (server=NAME), so no separators.
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CAPTURE_LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def _capture_parser(sub: Any) -> None:
    from amilab.dataset.capture import DEFAULT_ROTATE_BYTES, DEFAULT_ROTATE_SECONDS

    cap = sub.add_parser(
        "capture",
        help="capture AMI servers' events into a Parquet dataset, until stopped",
        description="Log in to each server and write every event to DIR/server=NAME/"
        "date=YYYY-MM-DD/part-*.parquet until SIGTERM or Ctrl-C. Logs go to stderr. "
        "Exit codes: 0 stopped by a signal, 1 every server gave up, 2 nothing to capture.",
    )
    cap.add_argument("--to", required=True, metavar="DIR", help="the dataset directory")
    cap.add_argument(
        "servers",
        nargs="+",
        metavar="SERVER",
        help="@NAME (a section of the config file), HOST:PORT or NAME=HOST:PORT",
    )
    cap.add_argument(
        "--config",
        default=DEFAULT_CONFIG_FILE,
        metavar="FILE",
        help=f"connection profiles for @NAME (default {DEFAULT_CONFIG_FILE})",
    )
    cap.add_argument("--user", help="AMI user for HOST:PORT entries (else $AMI_USER)")
    cap.add_argument(
        "--secret-env",
        metavar="VAR",
        help="environment variable holding the secret of HOST:PORT entries (else $AMI_SECRET)",
    )
    cap.add_argument(
        "--rotate-mb",
        type=float,
        default=DEFAULT_ROTATE_BYTES / 2**20,
        metavar="MB",
        help=f"start a new Parquet file after this many MiB (default {DEFAULT_ROTATE_BYTES >> 20})",
    )
    cap.add_argument(
        "--rotate-seconds",
        type=float,
        default=DEFAULT_ROTATE_SECONDS,
        metavar="S",
        help=f"... or after this many seconds (default {DEFAULT_ROTATE_SECONDS:g})",
    )


def capture(ns: argparse.Namespace) -> int:
    """``amilab capture``: resolve the server entries, then run until a signal."""
    import asyncio

    from amilab.dataset.capture import EXIT_UNUSABLE, Limits, run

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=CAPTURE_LOG_FORMAT)
    logging.getLogger("amilab.client").setLevel(logging.WARNING)
    if ns.rotate_mb <= 0 or ns.rotate_seconds <= 0:
        print("amilab capture: --rotate-mb and --rotate-seconds must be positive", file=sys.stderr)
        return EXIT_UNUSABLE
    specs = _server_specs(ns)
    if not specs:
        print("amilab capture: no usable server entry; nothing to capture", file=sys.stderr)
        return EXIT_UNUSABLE
    limits = Limits(int(ns.rotate_mb * 2**20), ns.rotate_seconds)
    return asyncio.run(run(Path(ns.to).expanduser(), specs, limits))


def _server_specs(ns: argparse.Namespace) -> list[ServerSpec]:
    """One spec per usable entry; each bad entry gets one line on stderr and is skipped."""
    from amilab.notebook.config import load_profiles, permission_warning

    warning = permission_warning(ns.config)
    if warning:
        print(f"amilab capture: {warning}", file=sys.stderr)
    try:
        profiles = load_profiles(ns.config)
    except CommandError as exc:
        print(f"amilab capture: {exc}; @NAME entries cannot be used", file=sys.stderr)
        profiles = {}
    specs: dict[str, ServerSpec] = {}
    for entry in ns.servers:
        try:
            spec = _server_spec(entry, ns, profiles)
        except (CommandError, ValueError, OSError) as exc:
            print(f"amilab capture: bad server entry {entry!r}: {exc}; skipped", file=sys.stderr)
            continue
        if spec.name in specs:
            print(
                f"amilab capture: bad server entry {entry!r}: the name {spec.name!r} is "
                "already used; give it another with NAME=HOST:PORT; skipped",
                file=sys.stderr,
            )
            continue
        specs[spec.name] = spec
    return list(specs.values())


def _server_spec(entry: str, ns: argparse.Namespace, profiles: Any) -> ServerSpec:
    """``@NAME``, ``HOST:PORT`` or ``NAME=HOST:PORT`` -> a spec; CommandError/ValueError if bad."""
    import ssl

    from amilab.dataset.capture import ServerSpec
    from amilab.notebook.config import DEFAULT_CONFIG_FILE, Defaults, Environment, resolve

    if entry.startswith("@"):
        name = entry[1:]
        cmd = Connect(profile=name)
    else:
        name, _, address = entry.rpartition("=")
        host, colon, port = address.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected @NAME, HOST:PORT or NAME=HOST:PORT")
        name = name or f"{host}-{port}"
        cmd = Connect(host=host, port=int(port), user=ns.user, secret_env=ns.secret_env)
    if not SERVER_NAME.match(name):
        raise ValueError(
            f"the name {name!r} cannot name a directory: use letters, digits, '.', '_', '-'"
        )
    settings = resolve(
        cmd,
        env=Environment(),
        profiles=profiles,
        defaults=Defaults(),
        prompt=None,
        config_path=ns.config or DEFAULT_CONFIG_FILE,
    )
    tls: bool | ssl.SSLContext = settings.tls
    if settings.cafile:
        tls = ssl.create_default_context(cafile=settings.cafile)
    auth = settings.auth if settings.auth in ("md5", "plain") else "auto"
    return ServerSpec(
        name,
        settings.host,
        settings.port,
        settings.user,
        settings.secret,
        tls=tls,
        auth=cast("AuthMode", auth),
        events=settings.events,
    )


# -- lab ------------------------------------------------------------------------------------
def lab(extra: list[str]) -> int:
    """Replace this process with JupyterLab, opened on the quickstart notebook."""
    if {"-h", "--help"} & set(extra):
        print(
            "usage: python -m amilab lab [JUPYTERLAB OPTIONS ...]\n\n"
            f"Opens JupyterLab in {NOTEBOOKS} on {QUICKSTART}. Options go to JupyterLab,\n"
            "e.g. --no-browser, --ip 0.0.0.0, --port 8888 (see `jupyter lab --help`)."
        )
        return 0
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            "JupyterLab is not installed: pip install -e '.[notebook]' (or scripts/demo.sh)",
            file=sys.stderr,
        )
        return 2
    if not (NOTEBOOKS / QUICKSTART).exists():
        print(
            f"the notebooks are not next to this amilab ({NOTEBOOKS} has no {QUICKSTART}); "
            "run from a source checkout installed with pip install -e .",
            file=sys.stderr,
        )
        return 2
    if _is_root() and "--allow-root" not in extra:
        # JupyterLab refuses root without it; root is common in containers and fresh VMs.
        print("Running as root: passing --allow-root to JupyterLab", file=sys.stderr)
        extra = ["--allow-root", *extra]
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={NOTEBOOKS}",
        *extra,
        str(NOTEBOOKS / QUICKSTART),
    ]
    print(f"Starting JupyterLab on {NOTEBOOKS / QUICKSTART} (Ctrl-C stops it)", flush=True)
    if os.name == "posix":
        os.execv(sys.executable, command)  # JupyterLab gets the terminal and its Ctrl-C
    return subprocess.call(command)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# -- demo -----------------------------------------------------------------------------------
def demo(seconds: float, traffic: float, seed: int) -> int:
    """The headless tour; returns the exit status."""
    import amilab.sim
    from amilab.session import connect

    say(f"amilab {_version()} demo: a simulated Asterisk 22 speaking real AMI")
    with amilab.sim.start(traffic=traffic or None, seed=seed) as sim:
        print(f"simulator on {sim.host}:{sim.port}, {traffic:g} generated calls/s (seed {seed})")
        with connect(sim) as session:
            print(f"logged in: {session!r}")
            _endpoints(session)
            recorder = session.record()
            _live(session, seconds)
            recorder.detach()
            _analysis(recorder.df)
    say("Next: python -m amilab lab (the notebooks), python -m amilab sim (a simulator to try)")
    return 0


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _version() -> str:
    from amilab import __version__

    return __version__


def _endpoints(session: Session) -> None:
    say("PJSIPShowEndpoints: the phones (a list action: one EndpointList event per endpoint)")
    result = session.action("PJSIPShowEndpoints")
    columns = ["ObjectName", "DeviceState", "Contacts"]
    print(result.df[columns].to_string(index=False), flush=True)


def _live(session: Session, seconds: float) -> None:
    say(f"Originate a call to phone 101, then {seconds:g} s of live events")
    counts: dict[str, int] = {}
    with session.events() as stream:
        result = session.action("Originate", DEMO_CALL)
        print(f"Originate: {result.response['Response']}, {result.message}", flush=True)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = stream.get(timeout=left)
            except queue.Empty:
                break
            name = msg.name or "?"
            counts[name] = counts.get(name, 0) + 1
            if name in SHOWN_EVENTS:
                print(_event_line(msg), flush=True)
    total = sum(counts.values())
    shown = sum(n for name, n in counts.items() if name in SHOWN_EVENTS)
    print(f"{total} events in {seconds:g} s ({shown} shown; the rest are VarSet, Newexten, ...)")


def _event_line(msg: Message) -> str:
    parts = [f"{time.strftime('%H:%M:%S')} {msg.name:<18}"]
    for key in SHOWN_HEADERS:
        value = msg.get(key)
        if value:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _analysis(df: pd.DataFrame) -> None:
    import pandas as pd

    from amilab import analysis

    say(f"Analysis of the {len(df)} recorded events (amilab.analysis)")
    print(df["event"].value_counts().head(8).to_string(), end="\n\n")
    calls = analysis.calls(df)
    table = pd.DataFrame(
        {
            "caller": calls["caller"],
            "callee": calls["callee"],
            "talk_s": calls["talk_time"].round(1),
            "ended": calls["cause_txt"].fillna("(in progress)"),
        }
    ).reset_index(drop=True)
    finished = int(calls["end"].notna().sum())
    print(f"{len(calls)} calls seen, {finished} finished; the first {CALL_ROWS}:")
    print(table.head(CALL_ROWS).to_string(index=False), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
