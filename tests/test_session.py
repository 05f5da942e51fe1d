"""Session: the blocking facade on the shared I/O thread."""

from __future__ import annotations

import _thread
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
