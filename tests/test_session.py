"""Session: the blocking facade on the shared I/O thread."""

from __future__ import annotations

import _thread
import asyncio
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import amilab
import amilab.sim
from amilab.iothread import IOThread


@pytest.fixture
def pbx():
    sim = amilab.sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def session(pbx):
    s = amilab.connect(pbx, ping_interval=None)
    yield s
    s.close()


def test_sync_calls(session):
    """action, command and ping block and return results like the async client."""
    res = session.action("PJSIPShowEndpoints")
    assert res.ok and len(res.events) == int(res.list_end["ListItems"])
    assert session.command("core show uptime").startswith("System uptime:")
    assert session.ping() > 0
    assert "admin@" in repr(session) and amilab.sim.DEFAULT_SECRET + "'" not in repr(session)


def test_connect_with_explicit_credentials(pbx):
    """connect(host, port, username=, secret=) logs in like connect(pbx)."""
    with amilab.connect(
        pbx.host, pbx.port, username="admin", secret=amilab.sim.DEFAULT_SECRET, ping_interval=None
    ) as s:
        assert s.connected and s.version == "11.0.0"
    assert not s.connected


def test_connect_needs_credentials():
    """A host without username/secret is a clear TypeError, not a hang."""
    with pytest.raises(TypeError, match="username"):
        amilab.connect("127.0.0.1", 5038)


async def test_awaitable_twins_from_a_running_loop(session):
    """aaction/acommand/aping can be awaited from another event loop (a notebook cell)."""
    res = await session.aaction("Ping")
    assert res.response["Ping"] == "Pong"
    assert (await session.acommand("core show uptime")).startswith("System uptime:")
    assert await session.aping() > 0


def test_blocking_call_from_io_thread_raises(session):
    """A blocking Session call inside a handler raises LoopThreadError instead of deadlocking."""
    session.on("UserEvent", lambda m: session.ping())
    session.action("UserEvent", UserEvent="x")
    deadline = time.monotonic() + 5
    while not session.errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(session.errors[0].error, amilab.LoopThreadError)
    assert session.ping() > 0  # the session still works


def test_events_arrive_while_caller_sleeps(session, pbx):
    """Events keep arriving on the I/O thread while the calling thread is blocked."""
    got: list[str] = []
    session.on("FloodEvent", lambda m: got.append(m.name))
    pbx.faults.flood(2000)
    time.sleep(1.0)  # the caller is busy; nothing here reads the socket
    assert len(got) == 2000


def test_events_queue_and_wait_for(session):
    """events() iterates with a timeout; wait_for returns the first matching event."""
    with session.events("UserEvent", timeout=0.5) as stream:
        session.action("UserEvent", UserEvent="A")
        session.action("UserEvent", UserEvent="B")
        names = [m["UserEvent"] for m in stream]
    assert names == ["A", "B"]
    with pytest.raises(amilab.ActionTimeout):
        session.wait_for("NoSuchEvent", timeout=0.2)


def test_action_error_and_check_false(session):
    """Response: Error raises ActionError with the server's message; check=False returns it."""
    with pytest.raises(amilab.ActionError, match="Invalid/unknown command: Bogus"):
        session.action("Bogus")
    assert not session.action("Bogus", check=False).ok


def test_separate_io_thread_stops_cleanly(pbx):
    """A private IOThread can be stopped; its thread ends and further calls fail clearly."""
    io = IOThread(name="amilab-test-io")
    s = amilab.connect(pbx, io=io, ping_interval=None)
    assert s.ping() > 0
    s.close()
    io.stop()
    assert not io.thread.is_alive()


def test_interpreter_exits_with_open_session(pbx):
    """A script that leaves a session open still exits promptly (daemon thread, atexit stop)."""
    code = textwrap.dedent(f"""
        import amilab
        s = amilab.connect("{pbx.host}", {pbx.port}, username="admin",
                           secret="{amilab.sim.DEFAULT_SECRET}")
        print(s.ping() > 0)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_sync_originate_waits_for_the_client_deadline(pbx):
    """Session.action waits as long as the client's deadline (a sync Originate's Timeout too).

    The session keeps no clock of its own: the client's ActionTimeout ends the wait.
    """
    with amilab.connect(pbx, ping_interval=None, timeout=0.1, reconnect=False) as s:
        pbx.faults.half_open()
        with pytest.raises(amilab.ActionTimeout, match="Originate"):
            s.action(
                "Originate",
                Channel="Local/100@amilab",
                Context="amilab",
                Exten="100",
                Priority=1,
                Timeout=600,
            )
        pbx.faults.clear()


def _sigint_main() -> None:
    """A real SIGINT to the main thread, as Ctrl-C or Jupyter's stop button on POSIX."""
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


@pytest.mark.parametrize("interrupt", [_sigint_main, _thread.interrupt_main])
def test_keyboard_interrupt_cancels_the_pending_action(session, pbx, interrupt):
    """Ctrl-C while blocked in Session.action cancels the coroutine: no waiter, no pending entry.

    Both ways a kernel interrupts: a real SIGINT, and ``_thread.interrupt_main()``
    (ipykernel on Windows), which is only seen when the blocked wait wakes up.
    """
    assert threading.current_thread() is threading.main_thread()
    pbx.faults.half_open()
    timer = threading.Timer(0.3, interrupt)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            session.action("Ping", timeout=20)
    finally:
        timer.cancel()
        pbx.faults.clear()
    assert time.monotonic() - start < 10, "the interrupt waited for the action's deadline"
    client = session.client
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        conn = client.connection
        if not session.io.call(lambda c=conn: bool(c.pending or c.proto.pending)):
            break
        time.sleep(0.01)
    assert not conn.pending and not conn.proto.pending
    assert session.ping() > 0


def test_connect_with_state_tracks_the_pbx(pbx):
    """amilab.connect(..., state=True) seeds session.state; track() returns the same model."""
    with amilab.connect(pbx, ping_interval=None, state=True) as s:
        assert s.state is not None and s.track() is s.state
        assert s.client.state is not None and s.state.live is s.client.state
        channels = s.state.channels
        assert list(channels.columns) and channels.index.name is not None
        s.action(
            "Originate", Channel="Local/100@amilab", Application="Wait", Data="5", Async="true"
        )
        end = time.monotonic() + 5
        while s.state.channels.empty and time.monotonic() < end:
            time.sleep(0.05)
        assert not s.state.channels.empty
    assert s.link_state.value == "closed"


# -- details pinned after mutation testing (mutmut on amilab/session.py) --------------
def test_record_attaches_to_the_session_with_all_events_by_default(session):
    """session.record() attaches a recorder for every event ("*"), options passed through."""
    rec = session.record(max_events=5)
    try:
        assert rec.attached and rec.patterns == "*" and rec.max_events == 5
        session.action("UserEvent", UserEvent="rec-1")
        deadline = time.monotonic() + 5
        while not any(m.get("UserEvent") == "rec-1" for m in rec.messages()):
            assert time.monotonic() < deadline, "the recorder never saw the UserEvent"
            time.sleep(0.01)
    finally:
        rec.detach()


def test_generated_portals_keep_the_client_names_and_docs():
    """Every public client method and property exists on Session with the client's name and doc."""
    # Session's own, with their own docs: connect/close/track return or stop the session's
    # side, trace/version/link_state read through, state is the session's SessionState.
    written_out = {"connect", "close", "track", "trace", "version", "link_state", "state"}
    for name, member in vars(amilab.AMIClient).items():
        if name.startswith("_") or name in written_out:
            continue
        portal = getattr(amilab.Session, name)
        if isinstance(member, property):
            assert isinstance(portal, property) and portal.fget is not None, name
            assert portal.__doc__ == member.__doc__, name
            continue
        assert portal.__name__ == name and portal.__doc__ == member.__doc__, name
        if asyncio.iscoroutinefunction(member):
            twin = getattr(amilab.Session, f"a{name}")
            assert twin.__name__ == f"a{name}", name
            assert twin.__doc__, name


def test_generated_portals_reach_the_client(session):
    """Read-through properties and loop-side methods answer from this session's client."""
    assert session.username == "admin" and session.link_state.value == "ready"
    assert session.stray_responses == 0 and session.errors == []
    undo = session.on_connection(lambda ev: None)
    assert callable(undo)
    undo()
    assert session.add_filter("Event: *").ok


def test_connect_to_a_simulator_keeps_given_credentials(pbx):
    """connect(sim, username=, secret=) logs in with those, not the simulator's admin."""
    with pytest.raises(amilab.AuthenticationError):
        amilab.connect(pbx, username="admin", secret="wrong", ping_interval=None)


def test_connect_uses_the_io_thread_it_is_given(pbx):
    """connect(io=...) runs the session on that I/O thread, not the shared one."""
    io = IOThread(name="amilab-test-own-io")
    try:
        with amilab.connect(pbx, io=io, ping_interval=None) as s:
            assert s.io is io and s.connected
    finally:
        io.stop()


def test_a_method_added_to_the_client_appears_on_the_session(session, monkeypatch):
    """_install_portals gives Session every new public client method: a coroutine gets a
    blocking portal and an a-twin, a plain method runs on the I/O thread."""

    async def shout(self, text: str) -> str:
        return f"{self.username}: {text.upper()}"

    def count_up(self, n: int) -> tuple[int, bool]:
        return n + 1, threading.current_thread() is session.io.thread

    monkeypatch.setattr(amilab.AMIClient, "shout", shout, raising=False)
    monkeypatch.setattr(amilab.AMIClient, "count_up", count_up, raising=False)
    try:
        amilab.session._install_portals()
        assert session.shout("hi") == "admin: HI"
        assert asyncio.run(session.ashout("hi")) == "admin: HI"
        assert session.count_up(1) == (2, True)
    finally:
        for name in ("shout", "ashout", "count_up"):
            if name in vars(amilab.Session):
                delattr(amilab.Session, name)
