"""``%ami`` / ``%%ami``: the notebook's AMI magics (``%load_ext amilab``).

The magic keeps only the handlers: :mod:`amilab.notebook.commands` turns the
line or cell into a command object, :meth:`AmiMagics.execute` dispatches it
with a ``match`` over the command types, and one small method per type runs
it. What is connected (named sessions, their I/O threads, the simulator
``%ami sim`` started, monitors, the completion cache, the I/O threads'
messages) belongs to :class:`~amilab.notebook.connections.Connections`, which
needs no IPython. Settings are traits of :class:`AmiMagics` (``%config
AmiMagics``, or ``c.AmiMagics.timeout = 5`` in ``ipython_config.py``).

Errors that are the user's or the server's (an ``ActionError``, a refused
login, a bad line) become ``UsageError``: IPython prints one line and marks
the cell failed, so "Run all" stops there. ``short_errors = False`` re-raises
the original exception instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import getpass
import logging
import queue
import re
import sys
import time
from collections import ChainMap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, assert_never, cast

from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher
from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from traitlets import Bool, Enum, Float, Int, Unicode, Union
from traitlets.config.configurable import Configurable

from amilab.analysis.plots import ladder, timeline
from amilab.catalog import action_help, event_help
from amilab.catalog import load as load_catalog
from amilab.catalog.chan_sip import pjsip_equivalent
from amilab.client import default_deadline
from amilab.errors import (
    ActionError,
    AMIError,
    AuthenticationError,
    ConnectionLost,
)
from amilab.notebook import commands as cmds
from amilab.notebook import tables
from amilab.notebook.completion import (
    ActionCatalog,
    complete,
    complete_cell,
    parse_listcommands,
)
from amilab.notebook.config import (
    DEFAULT_CONFIG_FILE,
    Defaults,
    Environment,
    Section,
    load_profiles,
    permission_warning,
    resolve,
)
from amilab.notebook.connections import NOT_CONNECTED, Connections, Link, probe
from amilab.notebook.guard import dry_run_text, write_reason
from amilab.protocol import Action
from amilab.protocol.login import Secret
from amilab.session import Session
from amilab.state import SessionState

if TYPE_CHECKING:
    import pandas as pd

    from amilab.notebook.monitor import EventMonitor
    from amilab.protocol import Message
    from amilab.results import ActionResult
    from amilab.sim import SimulatedPBX

__all__ = ["AmiMagics", "load_ipython_extension", "unload_ipython_extension"]

#: Name of the user-namespace variable holding the last ActionResult.
RESULT_VAR = "_ami"
#: Events printed live by ``%ami events`` before it only counts (keeps cells short).
MAX_LIVE_LINES = 20
#: Characters of one live event line.
LIVE_LINE_WIDTH = 110
#: Seconds ``CoreSettings`` may take when connecting, to show the Asterisk version.
VERSION_PROBE_TIMEOUT = 2.0
#: difflib similarity a name needs to be offered as "did you mean" (0.6, its default,
#: offers Login for Originat).
SUGGEST_CUTOFF = 0.75
#: Optional packages a magic may need, and what to install (one line, not a traceback).
OPTIONAL_MODULES = {
    "ipywidgets": "%ami monitor needs it: pip install ipywidgets (or amilab[notebook])",
    "pyarrow": "Parquet needs it: pip install pyarrow (or amilab[parquet])",
    "matplotlib": "plots need it: pip install matplotlib (or amilab[notebook])",
}
_EXPECTED = (AMIError, cmds.CommandError, ValueError, OSError)


class ReadOnlyRefusal(ValueError):
    """Read-only mode refused an action that may write; nothing was sent."""


def _summary(msg: Message) -> str:
    """One line for a live event: name and its first few headers."""
    pairs = [f"{k}={v}" for k, v in msg.headers[1:] if k.lower() not in ("privilege", "actionid")]
    line = f"{time.strftime('%H:%M:%S')} {msg.name or '?'} " + " ".join(pairs)
    return line if len(line) <= LIVE_LINE_WIDTH else line[: LIVE_LINE_WIDTH - 1] + "…"


def _facts(name: str, *, event: bool) -> str | None:
    """The catalog's offline help for an action or event, or None if it is not documented."""
    cat = load_catalog()
    if event:
        found = cat.event(name)
        return None if found is None else event_help(found)
    doc = cat.action(name)
    return None if doc is None else action_help(doc)


def _no_chan_sip(action: str) -> str:
    """The hint for a chan_sip action a server refused: it has no chan_sip, use PJSIP's."""
    pjsip = pjsip_equivalent(action)
    if pjsip is None:
        return ""
    return (
        f" This server has no chan_sip (removed in Asterisk 21): use %ami {pjsip} instead"
        " (or %ami sim --asterisk 20 for a simulator with chan_sip)."
    )


@magics_class
class AmiMagics(Magics, Configurable):
    """The ``%ami`` line magic and ``%%ami`` cell magic; see ``%ami?``."""

    timeout = Float(10.0, help="Seconds an action (and the login) may take before it fails.").tag(
        config=True
    )
    autolimit = Int(
        0,
        help="Keep at most this many rows in a returned DataFrame (0: all). "
        "The full result stays in _ami.",
    ).tag(config=True)
    short_errors = Bool(
        True,
        help="Show AMI and usage errors as one line (the cell still fails); "
        "False re-raises the original exception with its traceback.",
    ).tag(config=True)
    numeric = Union(
        [Bool(), Enum(["known"])],
        default_value=False,
        help="Number conversion in result tables: False (all text, lossless), 'known' "
        "(headers Asterisk always sends as integers) or True (every exact integer column); "
        "--numeric on a line means True.",
    ).tag(config=True)
    default_host = Unicode(
        "127.0.0.1",
        help="Host for %ami connect when neither the line, $AMI_HOST nor the config file name one.",
    ).tag(config=True)
    default_port = Int(
        None, allow_none=True, help="Port likewise (None: 5038, or 5039 with --tls)."
    ).tag(config=True)
    default_user = Unicode("", help="AMI username likewise.").tag(config=True)
    secret_env = Unicode(
        "AMI_SECRET", help="Environment variable holding the secret (--secret-env overrides)."
    ).tag(config=True)
    config_file = Unicode(
        DEFAULT_CONFIG_FILE,
        help="INI file of named connections ([default], [lab] ...) for %ami connect @name.",
    ).tag(config=True)
    keep_constant_columns = Bool(
        False,
        help="Keep the Event and ActionID columns in result tables even when every row has "
        "the same value (they are dropped by default; the ActionResult in _ami keeps all).",
    ).tag(config=True)
    read_only = Bool(
        False,
        help="Refuse, locally and in one line, actions that may write (Originate, Hangup, "
        "Command, ...); nothing is sent. %ami connect --read-only does it for one connection.",
    ).tag(config=True)
    events_for = Float(5.0, help="Seconds %ami events collects when --for is not given.").tag(
        config=True
    )

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        Configurable.__init__(self, config=shell.config)
        Magics.__init__(self, shell=shell, **kwargs)
        #: Sessions, their threads, simulators, monitors and completion cache.
        self.links = Connections()
        self.last: ActionResult | None = None
        #: The newest ``%ami monitor``: its recorder is what ``%ami plot`` draws.
        self._last_monitor: EventMonitor | None = None

    # Handles for users and tests: the current session and the simulator ``%ami sim`` started.
    @property
    def session(self) -> Session | None:
        return self.links.session

    @property
    def sim(self) -> SimulatedPBX | None:
        return self.links.sim

    @property
    def catalog(self) -> ActionCatalog:
        return self.links.catalog

    @property
    def _user_ns(self) -> dict[str, Any]:
        assert self.shell is not None, "AmiMagics needs a shell"
        return self.shell.user_ns  # type: ignore[no-any-return]

    # -- the magic ---------------------------------------------------------
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def ami(self, line: str, cell: str | None = None, local_ns: Any = None) -> Any:
        namespace = ChainMap(local_ns or {}, self._user_ns)

        def expand(text: str) -> str:
            return cmds.expand_fields(text, namespace)

        try:
            if cell is None:
                command = cmds.parse_line(line, expand)
            else:
                command = cmds.parse_cell(line, cell, expand)
            return self.execute(command)
        except _EXPECTED as exc:
            if not self.short_errors:
                raise
            raise UsageError(self._scrub(self._describe(exc))) from None
        except ModuleNotFoundError as exc:
            hint = OPTIONAL_MODULES.get((exc.name or "").partition(".")[0])
            if hint is None or not self.short_errors:
                raise
            raise UsageError(f"{exc.name} is not installed; {hint}") from None

    def execute(self, command: cmds.Command) -> Any:
        """Run one parsed command; what it returns is what the cell shows.

        A ``match`` over every command type, so the type checker sees a new
        command without a handler (``assert_never``).
        """
        match command:
            case cmds.Connect():
                return self._do_Connect(command)
            case cmds.SimStart():
                return self._do_SimStart(command)
            case cmds.SimFaults():
                return self._do_SimFaults(command)
            case cmds.Trace():
                return self._do_Trace(command)
            case cmds.Disconnect():
                return self._do_Disconnect(command)
            case cmds.Status():
                return self._do_Status(command)
            case cmds.Help():
                return self._do_Help(command)
            case cmds.ListActions():
                return self._do_ListActions(command)
            case cmds.Last():
                return self._do_Last(command)
            case cmds.RunAction():
                return self._do_RunAction(command)
            case cmds.Script():
                return self._do_Script(command)
            case cmds.RunCommand():
                return self._do_RunCommand(command)
            case cmds.Events():
                return self._do_Events(command)
            case cmds.Monitor():
                return self._do_Monitor(command)
            case cmds.State():
                return self._do_State(command)
            case cmds.Dashboard():
                return self._do_Dashboard(command)
            case cmds.Plot():
                return self._do_Plot(command)
            case _:
                assert_never(command)

    # -- connection ----------------------------------------------------------
    def _defaults(self) -> Defaults:
        return Defaults(self.default_host, self.default_port, self.default_user, self.secret_env)

    def _profiles(self) -> dict[str, Section]:
        warning = permission_warning(self.config_file)
        if warning:
            print(f"Warning: {warning}", file=sys.stderr)
        return load_profiles(self.config_file)

    def _do_Connect(self, cmd: cmds.Connect) -> None:
        if cmd.secret is not None:
            print(
                "Warning: the secret typed with --secret is now in this notebook's input "
                "history (In[], the .ipynb file, IPython's history database); prefer "
                f"${self.secret_env} or {self.config_file}",
                file=sys.stderr,
            )
        asked: list[str] = []

        def later(text: str) -> str:
            asked.append(text)
            return ""

        settings = resolve(
            cmd,
            env=Environment(),
            profiles=self._profiles(),
            defaults=self._defaults(),
            prompt=later,
            config_path=self.config_file,
        )
        if asked:
            # Ask for the secret only once the host answers: a typo in the address must
            # not cost the user a secret typed for nothing.
            probe(settings, self.timeout)
            secret = Secret(getpass.getpass(asked[0]))
            settings = dataclasses.replace(settings, secret=secret, secret_source="prompt")
        # Logged in before the working session is let go: a failure keeps it.
        link = self.links.connect(settings, timeout=self.timeout, read_only=cmd.read_only)
        self._connected(link)

    def _do_SimStart(self, cmd: cmds.SimStart) -> None:
        # Plain `%ami sim` again (or the same profile) reuses ours; other options replace
        # it, and say so: never a second simulator silently.
        plain = cmd.traffic is None and cmd.events is None
        reuse = self.links.reusable_sim(cmd.asterisk, read_only=cmd.read_only) if plain else None
        if reuse is not None and reuse.sim is not None:
            print(
                f"Already connected to {reuse.sim.banner} at {reuse.where}; reusing it "
                "(%ami disconnect first for a new one)"
            )
            return
        old = self.links.sim
        link = self.links.start_sim(
            timeout=self.timeout,
            asterisk=cmd.asterisk,
            traffic=cmd.traffic,
            events=cmd.events,
            read_only=cmd.read_only,
        )
        if old is not None:
            print(f"Stopped the previous simulator at {old.host}:{old.port} ({old.banner})")
        self._connected(link)

    def _connected(self, link: Link) -> None:
        """The one line that says what we are now connected to."""
        client = link.session.client
        what = f"{link.sim.banner} at {link.where}" if link.sim is not None else link.where
        guarded = " (read-only)" if self._read_only else ""
        print(f"Connected to {what} as {client.username}{self._server()}{guarded}")

    def flush_news(self, *_: Any) -> None:
        """Print the I/O threads' queued messages (IPython pre/post_run_cell hook)."""
        for line in self.links.drain_news():
            print(line, file=sys.stderr)

    def _server(self) -> str:
        """``: Asterisk 22.x, AMI 11.0.0`` (the Asterisk part only if CoreSettings answers)."""
        session = self.links.require()
        parts = []
        try:
            result = session.action("CoreSettings", timeout=VERSION_PROBE_TIMEOUT, check=False)
            if result.ok and result.response.get("AsteriskVersion"):
                parts.append(f"Asterisk {result.response['AsteriskVersion']}")
        except AMIError:
            pass
        parts.append(f"AMI {session.version or '?'}")
        return ": " + ", ".join(parts)

    def close(self) -> None:
        """Close every session, monitor, I/O thread and simulator of this magic; safe to repeat."""
        self.links.close_all()

    def _do_Trace(self, cmd: cmds.Trace) -> None:
        """Turn the session's wire trace on or off, clear it, or print it (secrets masked)."""
        trace = self._require().trace
        if cmd.mode == "on":
            trace.enable()
            print("Wire trace on: %ami trace shows it (secrets masked), %ami trace off stops it")
        elif cmd.mode == "off":
            trace.disable()
            print(f"Wire trace off ({len(trace.entries)} entries kept; %ami trace shows them)")
        elif cmd.mode == "clear":
            trace.clear()
        else:
            text = trace.text()
            if text:
                print(self._scrub(text))
            else:
                state = "on, nothing sent or received yet" if trace.enabled else "off"
                print(f"(the wire trace is {state}; %ami trace on starts it)")

    def _do_SimFaults(self, cmd: cmds.SimFaults) -> None:
        """Break the simulator this magic started, on purpose (see amilab.sim.faults)."""
        sim = self.sim
        if sim is None:
            raise ValueError("no simulator of this notebook's: %ami sim starts one")
        faults = sim.faults
        if cmd.kind == "drop":
            count = faults.drop_all()
            print(f"Dropped {count} connection(s); the session reconnects by itself")
        elif cmd.kind == "half-open":
            faults.half_open(cmd.seconds)
            span = f"for {cmd.seconds:g}s" if cmd.seconds else "until %ami sim faults clear"
            print(f"The simulator stops answering {span}, with TCP kept open")
        elif cmd.kind == "restart":
            faults.restart()
            print("The simulator restarts (like core restart now): everyone is dropped")
        else:
            faults.clear()
            print("Simulator faults cleared")

    def _do_Disconnect(self, cmd: cmds.Disconnect) -> None:
        link = self.links.close()
        if link is None:
            print("Not connected.")
            return
        stopped = "; simulator stopped" if link.sim is not None else ""
        print(f"Disconnected from {link.where}{stopped}")

    def _require(self) -> Session:
        return self.links.require()

    def _do_Status(self, cmd: cmds.Status) -> None:
        link = self.links.current
        if link is None:
            print("Not connected. " + NOT_CONNECTED.split(": ", 1)[1])
            return
        c = link.session.client
        up = int(time.monotonic() - link.opened_at)
        connected = link.session.connected
        state = "connected" if connected else f"not connected ({c.link_state.value}; reconnecting)"
        sim = f", {link.sim.banner}" if link.sim is not None else ""
        sim += ", read-only" if self._read_only else ""
        last = f", last: {self.last!r}" if self.last is not None else ""
        print(
            f"{c.username}@{c.host}:{c.port} AMI {c.version or '?'}{sim}: {state}, "
            f"session {up // 3600}h{up // 60 % 60:02d}m{up % 60:02d}s{last}"
        )

    # -- actions ---------------------------------------------------------------
    def _send(self, cmd: cmds.RunAction) -> ActionResult:
        session = self._require()
        timeout = cmd.timeout if cmd.timeout is not None else self.timeout
        action = Action(cmd.name, list(cmd.headers))
        try:
            # The README's rule: a sync Originate waits for its AMI Timeout plus ours.
            result = session.action(action, timeout=default_deadline(action, timeout))
        except ActionError as exc:
            if exc.result is not None:
                # The client's results are amilab.results.ActionResult (with .df).
                self._remember(cast("ActionResult", exc.result))
            raise
        self._remember(result)
        return result

    def _remember(self, result: ActionResult) -> None:
        self.last = result
        self._user_ns[RESULT_VAR] = result

    def _numeric(self, option: bool | None) -> bool | Literal["known"]:
        """``--numeric`` on the line, else the ``numeric`` trait (True, False or "known")."""
        return cast('bool | Literal["known"]', self.numeric if option is None else option)

    def _frame(self, result: ActionResult, numeric: bool | None) -> pd.DataFrame:
        return self._limit(self._table(result, numeric))

    def _table(self, result: ActionResult, numeric: bool | None) -> pd.DataFrame:
        """The result as a table that leads with what matters (see ``keep_constant_columns``)."""
        frame = result.to_frame(numeric=self._numeric(numeric))
        return tables.tidy(frame, keep_constant=self.keep_constant_columns)

    def _limit(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.autolimit and len(frame) > self.autolimit:
            print(
                f"Showing {self.autolimit} of {len(frame)} rows (AmiMagics.autolimit); "
                f"all of them are in {RESULT_VAR}",
                file=sys.stderr,
            )
            return frame.head(self.autolimit)
        return frame

    def _output(self, value: Any, out: str | None) -> Any:
        if out is None:
            return value
        self._user_ns[out] = value
        shape = getattr(value, "shape", None)
        what = f"{shape[0]} rows x {shape[1]} columns" if shape else type(value).__name__
        print(f"{out} = {what}")
        return None

    @property
    def _read_only(self) -> bool:
        link = self.links.current
        return bool(self.read_only or (link is not None and link.read_only))

    def _guard(self, actions: Sequence[cmds.RunAction]) -> None:
        """In read-only mode, refuse the first action that may write; nothing is sent."""
        if not self._read_only:
            return
        for action in actions:
            reason = write_reason(action.name, load_catalog())
            if reason is not None:
                how = (
                    "reconnect without --read-only"
                    if not self.read_only
                    else "%config AmiMagics.read_only = False"
                )
                raise ReadOnlyRefusal(
                    f"read-only: {action.name} {reason}; nothing was sent ({how} to allow it)"
                )

    def _dry_run(self, actions: Sequence[cmds.RunAction]) -> None:
        """Print what each action would be sent as; connect to nothing, send nothing."""
        for number, action in enumerate(actions, start=1):
            if len(actions) > 1:
                print(f"# action {number} of {len(actions)}")
            print(self._scrub(dry_run_text(action.name, action.headers)))
        notes = []
        try:
            cmds.check_required(actions, load_catalog())
        except cmds.MissingHeaders as exc:
            notes.append(str(exc).split("; nothing was sent")[0])
        try:
            self._guard(actions)
        except ReadOnlyRefusal as exc:
            notes.append(str(exc).split("; nothing was sent")[0])
        sent = "dry run: nothing was sent"
        print(f"({sent}; it would be refused: {'; '.join(notes)})" if notes else f"({sent})")

    def _do_RunAction(self, cmd: cmds.RunAction) -> Any:
        if cmd.dry_run:
            self._dry_run([cmd])
            return None
        cmds.check_required([cmd], load_catalog())
        self._guard([cmd])
        result = self._send(cmd)
        value = result if cmd.raw else self._frame(result, cmd.numeric)
        return self._output(value, cmd.out)

    def _do_Script(self, cmd: cmds.Script) -> Any:
        import pandas as pd

        if cmd.dry_run:
            self._dry_run(cmd.actions)
            return None
        cmds.check_required(cmd.actions, load_catalog())
        self._guard(cmd.actions)
        results: list[tuple[str, ActionResult]] = []
        for number, action in enumerate(cmd.actions, start=1):
            try:
                results.append((action.name, self._send(action)))
            except ActionError as exc:
                if len(cmd.actions) == 1:
                    raise
                where = f"action {number} of {len(cmd.actions)}"
                raise ActionError(f"{where}: {exc}", exc.result) from exc
        if cmd.raw:
            value: Any = results[-1][1] if len(results) == 1 else [r for _, r in results]
        elif len(results) == 1:
            value = self._frame(results[0][1], cmd.actions[0].numeric)
        else:
            frames = []
            for (name, result), action in zip(results, cmd.actions, strict=True):
                frame = self._table(result, action.numeric)
                frame.insert(0, "action", pd.Series([name] * len(frame), dtype="string"))
                frames.append(frame)
            value = self._limit(pd.concat(frames, ignore_index=True))
            tables.mark(value)
        return self._output(value, cmd.out)

    def _do_RunCommand(self, cmd: cmds.RunCommand) -> None:
        self._guard([cmds.RunAction("Command")])
        session = self._require()
        timeout = cmd.timeout if cmd.timeout is not None else self.timeout
        for text in cmd.commands:
            if len(cmd.commands) > 1:
                print(f"> {text}")
            try:
                output = session.command(text, timeout=timeout)
            except ActionError as exc:
                # Asterisk says only "Command output follows" in Message; the reason is in
                # the Output lines (tests/fixtures/asterisk22/command_unknown.ami).
                said = getattr(exc.result, "output", "") if exc.result is not None else ""
                if not said.strip():
                    raise
                raise ActionError(f"{text!r} failed: {said.strip()}", exc.result) from None
            print(output)

    def _do_Last(self, cmd: cmds.Last) -> Any:
        if self.last is None:
            raise ValueError("no action has run yet in this session")
        return self._output(self.last, cmd.out)

    # -- documentation -----------------------------------------------------------
    def _do_Help(self, cmd: cmds.Help) -> None:
        """Catalog facts (no connection needed), then the server's own text if connected."""
        if cmd.action is None:
            print(cmds.HELP)
            return
        facts = _facts(cmd.action, event=cmd.event)
        kind = "event" if cmd.event else "command"
        server = self._server_docs(f"manager show {kind} {cmd.action}", facts is not None)
        if not cmd.event:
            self.catalog.learn_syntax(cmd.action, server)
        if facts is None and not server.strip():
            what = "the event " if cmd.event else ""
            hint = "" if cmd.event else self._suggest(cmd.action)
            where = "" if self.session is not None else " in the catalog (not connected)"
            raise ValueError(f"no documentation for {what}{cmd.action}{where}.{hint}")
        if facts is not None:
            print(facts)
        if server.strip():
            print(f"\n--- manager show {kind} {cmd.action} (from the server) ---")
            print(server)

    def _server_docs(self, cli: str, have_facts: bool) -> str:
        """The server's text for ``cli``; "" when not connected, or when it has none
        and the catalog has facts (the simulator knows no ``manager show event``)."""
        if self.session is None:
            return ""
        try:
            return self.session.command(cli, timeout=self.timeout)
        except ActionError:
            if have_facts:
                return ""
            raise

    def _do_ListActions(self, cmd: cmds.ListActions) -> Any:
        import pandas as pd

        result = self._send(cmds.RunAction("ListCommands"))
        rows = parse_listcommands(result.response)
        self.catalog.learn_actions(rows)
        frame = pd.DataFrame(
            {
                "action": [r.name for r in rows],
                "synopsis": [r.synopsis for r in rows],
                "privilege": [r.privilege for r in rows],
            },
            dtype="string",
        )
        return self._output(self._limit(frame), cmd.out)

    def _suggest(self, name: str) -> str:
        """`` Did you mean Originate?`` from the server's actions, else the catalog's."""
        names = list(self.catalog.actions or load_catalog().action_names())
        lowered = {n.lower(): n for n in names}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=SUGGEST_CUTOFF)
        if not close:
            return ""
        return " Did you mean " + " or ".join(lowered[c] for c in close) + "?"

    # -- events ----------------------------------------------------------------
    def _do_Events(self, cmd: cmds.Events) -> Any:
        from amilab.frames import to_frame

        session = self._require()
        seconds = cmd.seconds if cmd.seconds is not None else self.events_for
        limit = cmd.limit or sys.maxsize
        got: list[Message] = []
        start = time.monotonic()
        deadline = start + seconds
        with session.events(*cmd.patterns) as stream:
            try:
                while len(got) < limit and (left := deadline - time.monotonic()) > 0:
                    try:
                        msg = stream.get(timeout=left)
                    except queue.Empty:
                        break
                    got.append(msg)
                    self.flush_news()
                    if not cmd.quiet and len(got) <= MAX_LIVE_LINES:
                        print(_summary(msg))
            except KeyboardInterrupt:
                print("(interrupted)")
            dropped = stream.dropped
        elapsed = time.monotonic() - start
        lost = f", {dropped} dropped (queue full)" if dropped else ""
        print(f"{len(got)} events in {elapsed:.1f}s{lost}")
        frame = to_frame(got, numeric=self._numeric(cmd.numeric))
        return self._output(self._limit(frame), cmd.out)

    def _do_Monitor(self, cmd: cmds.Monitor) -> Any:
        from amilab.notebook.monitor import EventMonitor

        monitor = EventMonitor(self._require(), cmd.patterns or ("*",))
        self._last_monitor = monitor
        return self.links.add_monitor(monitor)

    def _tracked(self) -> SessionState:
        """The session's live model, started on first use (seeding takes a few list actions)."""
        return self._require().track()

    def _do_State(self, cmd: cmds.State) -> Any:
        return self._tracked().frame(cmd.table)

    def _do_Dashboard(self, cmd: cmds.Dashboard) -> Any:
        from amilab.notebook.dashboard import StateDashboard

        return self.links.add_monitor(StateDashboard(self._tracked()))

    def _recording(self) -> pd.DataFrame:
        """The notebook's last recording: the capture of the most recently started
        ``%ami monitor`` (its recorder's ``df``, still growing while it runs).
        ``%ami events`` frames are not used: they carry no ``received_at``, and
        the plots place every step in time."""
        if self._last_monitor is None:
            raise UsageError(
                "nothing recorded yet: start %ami monitor, let the calls happen, "
                "then %ami plot (or call amilab.analysis.ladder/timeline on a frame)"
            )
        return self._last_monitor.df

    def _do_Plot(self, cmd: cmds.Plot) -> Any:
        frame = self._recording()
        if cmd.kind == "timeline":
            return timeline(frame)
        return ladder(frame, str(cmd.linkedid))

    # -- errors ------------------------------------------------------------------
    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, ActionError):
            text = str(exc)
            if "unknown command" in text.lower() and exc.result is not None:
                action = getattr(exc.result.action, "name", "")
                text += _no_chan_sip(action) or self._suggest(action) if action else ""
            return text
        if isinstance(exc, AuthenticationError):
            return f"login refused: {exc}"
        if isinstance(exc, ConnectionLost):
            return f"{exc}; it reconnects by itself (see %ami status), or %ami connect again"
        if isinstance(exc, cmds.CommandError):
            return f"{exc} (see %ami?)"
        if isinstance(exc, ValueError | AMIError):
            return str(exc)
        return f"{type(exc).__name__}: {exc}"

    def _scrub(self, text: str) -> str:
        """Last line of defence: never show the current secret, whatever the message.

        Only a whole token is masked: a short secret that happens to occur inside
        an ActionID or a number must not turn the message into nonsense.
        """
        session = self.session
        if session is not None:
            secret = session.client.credentials.secret.reveal()
            if secret:
                token = rf"(?<![\w.-]){re.escape(secret)}(?![\w.-])"
                text = re.sub(token, "***", text)
        return text

    # -- completion ----------------------------------------------------------------
    @context_matcher(identifier="amilab.ami")  # type: ignore[untyped-decorator]
    def matcher(self, context: CompletionContext) -> dict[str, Any]:
        """IPython Completer hook: ``%ami`` lines and ``%%ami`` cell bodies (v2 matcher API)."""
        try:
            if context.cursor_line == 0:
                found = complete(
                    context.text_until_cursor,
                    context.token,
                    self.catalog,
                    self.session,
                    self._profile_names,
                )
            else:
                found = complete_cell(
                    context.full_text.split("\n"),
                    context.cursor_line,
                    context.text_until_cursor,
                    context.token,
                    self.catalog,
                    self.session,
                )
        except Exception:  # a completion must never raise into the editor
            found = None
        items = [SimpleCompletion(text, type="ami") for text in found or ()]
        return {"completions": items, "suppress": bool(items), "ordered": True}

    def _profile_names(self) -> list[str]:
        try:
            return list(load_profiles(self.config_file))
        except (cmds.CommandError, OSError):
            return []


AmiMagics.ami.__doc__ = cmds.HELP


def _registered(ipython: Any) -> AmiMagics | None:
    found = ipython.magics_manager.registry.get(AmiMagics.__name__)
    return found if isinstance(found, AmiMagics) else None


#: Where the kernel prints the I/O thread's messages: before a cell runs (news from
#: between cells) and after (news from while it ran), so they appear under the cell
#: that is running, never under the cell that created the session.
_NEWS_HOOKS = ("pre_run_cell", "post_run_cell")
#: amilab's loggers' parent; its warnings (reconnected, dead peer) become news.
LOGGER = "amilab"


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%ami``/``%%ami``, its settings and its tab completion (idempotent)."""
    if _registered(ipython) is not None:
        return
    magics = AmiMagics(ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(magics)
    ipython.Completer.custom_matchers.append(magics.matcher)
    for hook in _NEWS_HOOKS:
        ipython.events.register(hook, magics.flush_news)
    logger = logging.getLogger(LOGGER)
    if not logger.handlers:  # the user's own logging setup is left alone
        logger.addHandler(magics.links.log_handler)
    tables.register_html(ipython.display_formatter.formatters["text/html"])


def unload_ipython_extension(ipython: Any) -> None:
    """Close the session, stop its thread and simulator, and remove the magics."""
    magics = _registered(ipython)
    if magics is None:
        return
    try:
        magics.close()
    finally:
        manager = ipython.magics_manager
        for kind in ("line", "cell"):
            manager.magics[kind].pop("ami", None)
        manager.registry.pop(AmiMagics.__name__, None)
        if magics in ipython.configurables:
            ipython.configurables.remove(magics)
        matchers = ipython.Completer.custom_matchers
        if magics.matcher in matchers:
            matchers.remove(magics.matcher)
        for hook in _NEWS_HOOKS:
            with contextlib.suppress(ValueError):
                ipython.events.unregister(hook, magics.flush_news)
        logging.getLogger(LOGGER).removeHandler(magics.links.log_handler)
        tables.unregister_html(ipython.display_formatter.formatters["text/html"])
