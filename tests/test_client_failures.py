"""The client's failure cases (issue 9): each test pins one behaviour that used to break."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
import traceback
from collections.abc import Iterator
from types import TracebackType

import pytest
from fake_ami import FakeAMI

import amilab
from amilab import AMIClient
from amilab.handlers import MAX_HANDLER_TASKS, MAX_ROUTES, HandlerRegistry
from amilab.iothread import IOThread
from amilab.protocol import Message
from amilab.session import Session

SECRET = "Tb7-locals-S3cret-0815"


def client(server: FakeAMI, **kw) -> AMIClient:  # type: ignore[no-untyped-def]
    kw.setdefault("ping_interval", None)
    kw.setdefault("reconnect_delay", (0.05, 0.1))
    kw.setdefault("auth", "plain")
    kw.setdefault("secret", server.secret)
    return AMIClient("127.0.0.1", server.port, username="u", **kw)


async def until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@contextlib.contextmanager
def served(name: str, **options: object) -> Iterator[tuple[IOThread, FakeAMI]]:
    """A FakeAMI running on its own I/O thread, for the blocking (Session) tests."""
    io = IOThread(name=f"amilab-test-{name}")
    servers: list[FakeAMI] = []
    ready, stop = threading.Event(), asyncio.Event()

    async def serve() -> None:
        async with FakeAMI(**options) as server:  # type: ignore[arg-type]
            servers.append(server)
            ready.set()
            await stop.wait()

    serving = io.submit(serve())
    assert ready.wait(5), "the fake server did not start"
    try:
        yield io, servers[0]
    finally:
        io.loop.call_soon_threadsafe(stop.set)
        serving.result(5)
        io.stop()


def session_on(server: FakeAMI, io: IOThread) -> Session:
    """A blocking Session logged in to ``server`` on ``io`` (no pings)."""
    return amilab.connect(
        "127.0.0.1", server.port, username="u", secret="s", auth="plain", io=io, ping_interval=None
    )


def _frames(exc: BaseException) -> list[tuple[str, dict[str, object]]]:
    """Every frame on the traceback of ``exc`` and of its causes/contexts, with locals."""
    found = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        tb: TracebackType | None = err.__traceback__
        while tb is not None:
            found.append((tb.tb_frame.f_code.co_name, dict(tb.tb_frame.f_locals)))
            tb = tb.tb_next
        stack += [err.__cause__, err.__context__]
    return found


# -- security -------------------------------------------------------------------------
def test_failed_connect_leaves_the_secret_in_no_traceback_local():
    """amilab.connect() with a wrong secret: no frame of the traceback holds it, in any form.

    What %xmode Verbose, pytest --showlocals and error reporters print: the repr of
    every local of every frame, on both threads (the coroutine frames travel along).
    """

    with served("secret", secret="right") as (io, server):
        with pytest.raises(amilab.AuthenticationError) as info:
            amilab.connect(
                "127.0.0.1", server.port, username="u", secret=SECRET, auth="plain", io=io
            )
        frames = _frames(info.value)
        assert any(name == "connect" for name, _ in frames)
        for name, local_vars in frames:
            for key, value in local_vars.items():
                assert value != SECRET, f"{name}() holds the secret as a plain str in {key!r}"
                assert SECRET not in repr(value), f"{name}() shows the secret via {key!r}"
        report = traceback.TracebackException.from_exception(info.value, capture_locals=True)
        text = "".join(report.format())
        assert SECRET not in text


# -- connection -------------------------------------------------------------------------
async def test_concurrent_connects_make_one_link_and_one_login():
    """Two connect() at once: one TCP link, one login, each event seen once; close logs off."""
    async with FakeAMI(login_delay=0.1) as server:
        ami = client(server)
        seen: list[str] = []
        ami.on("Flood", lambda m: seen.append(m["N"]))
        await asyncio.gather(ami.connect(), ami.connect())
        assert (server.accepted, server.logins) == (1, 1)
        assert ami.connected
        await ami.action("UserEvent", UserEvent="x")
        await ami.close()
        await until(lambda: server.logged_in_now() == 0)


async def test_connect_timeout_bounds_the_whole_connect():
    """connect_timeout covers greeting and login together, not each step on its own."""
    async with FakeAMI(greeting_delay=0.4, login_delay=0.4) as server:
        ami = client(server, connect_timeout=0.6)
        start = time.monotonic()
        with pytest.raises(amilab.NotConnected, match=r"within 0\.6s"):
            await ami.connect()
        assert time.monotonic() - start < 0.6 + 0.25
        await until(lambda: server.logged_in_now() == 0)


async def test_action_waits_for_a_reconnect_within_its_own_deadline():
    """During a reconnect an action waits for the link (up to its deadline), then is sent."""
    async with FakeAMI() as server:
        ami = client(server, reconnect_delay=(0.3, 0.3))
        await ami.connect()
        server.drop_all()
        await until(lambda: not ami.connected)
        start = time.monotonic()
        result = await ami.action("Ping", timeout=3)
        assert result.ok and 0.1 < time.monotonic() - start < 3
        await ami.close()


async def test_action_during_a_long_reconnect_fails_saying_it_was_reconnecting():
    """If the link is not back within the deadline, the error says it was reconnecting."""
    async with FakeAMI() as server:
        ami = client(server, reconnect_delay=(30.0, 30.0))
        await ami.connect()
        server.drop_all()
        await until(lambda: not ami.connected)
        start = time.monotonic()
        with pytest.raises(amilab.NotConnected, match=r"reconnecting.*0\.4s") as info:
            await ami.action("Ping", timeout=0.4)
        assert 0.35 < time.monotonic() - start < 1.5, "it did not wait for its deadline"
        assert "connect() first" not in str(info.value)
        await ami.close()


async def test_a_flood_proves_the_peer_alive_even_if_ping_answers_never_come():
    """Bytes arriving are proof of life: a flooding peer is not declared dead by the pinger."""
    async with FakeAMI(answer_ping=False, flood_every=0.005) as server:
        ami = client(server, ping_interval=0.1, ping_timeout=0.1, reconnect=False)
        lost: list[str] = []
        ami.on_connection(lambda ev: lost.append(ev.reason) if ev.kind != "connected" else None)
        await ami.connect()
        await asyncio.sleep(1.0)
        assert ami.connected and lost == []
        await ami.close()


async def test_a_silent_peer_is_still_declared_dead():
    """The other side of liveness: no bytes at all within interval + timeout drops the link."""
    async with FakeAMI(answer_ping=False) as server:
        ami = client(server, ping_interval=0.1, ping_timeout=0.1, reconnect=False)
        await ami.connect()
        await until(lambda: not ami.connected, timeout=2)
        assert "dead peer" in ami.connection_events[-1].reason
        await ami.close()


async def test_async_events_iteration_ends_after_close():
    """``async for ev in client.events()`` ends when the client closes; it never hangs."""
    async with FakeAMI() as server:
        ami = client(server)
        await ami.connect()
        stream = ami.events("Nothing")
        got: list[Message] = []

        async def consume() -> None:
            async for ev in stream:
                got.append(ev)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        await ami.close()
        await asyncio.wait_for(task, 1.0)
        assert got == [] and stream.closed


def test_sync_events_iteration_ends_after_close():
    """``for ev in session.events()`` (no timeout) ends when the session closes."""

    with served("events") as (io, server):
        session = amilab.connect(
            "127.0.0.1",
            server.port,
            username="u",
            secret="s",
            auth="plain",
            io=io,
            ping_interval=None,
        )
        stream = session.events("Nothing")
        done = threading.Event()

        def consume() -> None:
            for _ in stream:
                pass
            done.set()

        threading.Thread(target=consume, daemon=True).start()
        time.sleep(0.1)
        session.close()
        assert done.wait(2.0), "the iteration did not end after close()"


def test_a_dropped_session_is_closed_when_collected():
    """A Session that goes out of scope without close() logs off and closes its socket."""

    with served("finalizer") as (io, server):
        session: Session | None = amilab.connect(
            "127.0.0.1", server.port, username="u", secret="s", auth="plain", io=io
        )
        assert io.call(server.logged_in_now) == 1
        session = None
        del session
        gc.collect()
        end = time.monotonic() + 3
        while io.call(server.logged_in_now) and time.monotonic() < end:
            time.sleep(0.02)
        assert io.call(server.logged_in_now) == 0


# -- events ------------------------------------------------------------------------------
def test_unsubscribe_from_another_thread_takes_effect_before_it_returns():
    """A flood on the I/O thread; cancel() from this thread: no delivery after it returns."""

    with served("unsub", flood_every=0.0005) as (io, server):
        session = amilab.connect(
            "127.0.0.1",
            server.port,
            username="u",
            secret="s",
            auth="plain",
            io=io,
            ping_interval=None,
        )
        late = 0
        for _ in range(30):
            got: list[Message] = []
            cancelled = threading.Event()

            def handler(msg: Message, got=got, cancelled=cancelled) -> None:  # type: ignore[no-untyped-def]
                if cancelled.is_set():
                    got.append(msg)

            sub = session.on("Flood", handler)
            time.sleep(0.01)
            sub.cancel()
            cancelled.set()
            time.sleep(0.02)
            late += len(got)
        assert late == 0, f"{late} events reached handlers after cancel() returned"
        queue = session.events("Flood")
        time.sleep(0.02)
        queue.close()
        size = len(queue)
        time.sleep(0.05)
        assert len(queue) == size, "a closed events() queue kept receiving"
        session.close()


async def test_coroutine_handlers_are_bounded_and_drops_counted():
    """A flood into a slow async handler never makes more than MAX_HANDLER_TASKS tasks."""
    registry = HandlerRegistry()
    registry.bind(asyncio.get_running_loop())
    release = asyncio.Event()

    async def slow(msg: Message) -> None:
        await release.wait()

    registry.add("*", slow)
    flood = [Message(f"Event: E\r\nN: {i}".encode()) for i in range(MAX_HANDLER_TASKS + 500)]
    registry.dispatch_all(flood)
    assert registry.running_tasks == MAX_HANDLER_TASKS
    assert registry.dropped_tasks == 500
    release.set()
    await until(lambda: registry.running_tasks == 0)


def test_route_cache_is_bounded():
    """A million distinct event names cannot grow the route cache past MAX_ROUTES."""
    registry = HandlerRegistry()
    seen: list[str] = []
    registry.add("User*", lambda m: seen.append(m.name or ""))
    names = [Message(f"Event: UserEvent{i}".encode()) for i in range(MAX_ROUTES * 3)]
    registry.dispatch_all(names)
    assert registry.cached_routes <= MAX_ROUTES
    assert len(seen) == MAX_ROUTES * 3  # bounded cache, every event still delivered


async def test_timeout_messages_round_the_seconds():
    """Timeouts say 'within 0.3s', never 'within 0.29999876s'."""
    async with FakeAMI(answer_ping=False) as server:
        ami = client(server)
        await ami.connect()
        with pytest.raises(amilab.ActionTimeout) as info:
            await ami.action("Ping", timeout=0.3)
        assert "within 0.3s" in str(info.value)
        await ami.close()
