"""AMIClient against the embedded simulator: routing, handlers, timeouts, liveness, reconnect."""

from __future__ import annotations

import asyncio
import logging

import pytest

import amilab
import amilab.sim
from amilab import AMIClient
from amilab.client import default_deadline
from amilab.protocol import Credentials, ServerProtocol

SECRET = amilab.sim.DEFAULT_SECRET


@pytest.fixture
def pbx():
    sim = amilab.sim.start()
    yield sim
    sim.stop()


def make(pbx, **kw) -> AMIClient:
    kw.setdefault("ping_interval", None)
    kw.setdefault("reconnect_delay", (0.05, 0.2))
    return AMIClient(pbx.host, pbx.port, username="admin", secret=SECRET, **kw)


def watched(ami: AMIClient) -> tuple[AMIClient, list[str], list[str]]:
    """The client, with lists filling with its connection events and UserEvent names."""
    kinds: list[str] = []
    ami.on_connection(lambda ev: kinds.append(ev.kind))
    names: list[str] = []
    ami.on("UserEvent", lambda m: names.append(m["UserEvent"]))
    return ami, kinds, names


async def until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("auth", ["plain", "md5", "auto"])
async def test_login_modes(pbx, auth):
    """Every login mode reaches READY and reads the AMI version from the greeting."""
    async with make(pbx, auth=auth) as ami:
        assert ami.connected and ami.link_state.value == "ready"
        assert ami.version == "11.0.0"


async def test_wrong_password(pbx):
    """A wrong secret raises AuthenticationError; the client is left disconnected."""
    ami = AMIClient(pbx.host, pbx.port, username="admin", secret="nope", ping_interval=None)
    with pytest.raises(amilab.AuthenticationError, match="Authentication failed"):
        await ami.connect()
    assert not ami.connected


async def test_connect_refused_is_clear():
    """Nothing listening: NotConnected that says what to check, not a bare OSError."""
    ami = AMIClient("127.0.0.1", 1, username="admin", secret=SECRET, ping_interval=None)
    with pytest.raises(amilab.NotConnected, match="Is Asterisk running"):
        await ami.connect()


async def test_handlers_registered_before_connect_see_login_events(pbx):
    """Handlers added before connect() receive the events right after login (FullyBooted)."""
    ami = make(pbx)
    seen: list[str] = []
    ami.on("*", lambda m: seen.append(m.name))
    async with ami:
        await until(lambda: "FullyBooted" in seen)


async def test_glob_patterns_and_unsubscribe(pbx):
    """Patterns are case-insensitive globs; cancelling a subscription stops delivery."""
    async with make(pbx) as ami:
        hits: list[str] = []
        sub = ami.on("user*", lambda m: hits.append(m["UserEvent"]))
        await ami.action("UserEvent", UserEvent="One")
        await until(lambda: hits == ["One"])
        sub.cancel()
        await ami.action("UserEvent", UserEvent="Two")
        await ami.ping()
        await asyncio.sleep(0.05)
        assert hits == ["One"]


async def test_events_with_finished_action_id_reach_handlers(pbx):
    """OriginateResponse and UserEvent carry a finished action's ActionID and still arrive."""
    async with make(pbx) as ami:
        got: list[amilab.Message] = []
        ami.on(["OriginateResponse", "UserEvent"], got.append)
        ue = await ami.action("UserEvent", UserEvent="Tagged")
        orig = await ami.action(
            "Originate",
            Channel="Local/100@amilab",
            Context="amilab",
            Exten="100",
            Priority=1,
            Async=True,
        )
        await until(lambda: {m.name for m in got} == {"UserEvent", "OriginateResponse"})
    by_name = {m.name: m for m in got}
    assert by_name["UserEvent"].action_id == ue.response.action_id
    assert by_name["OriginateResponse"].action_id == orig.response.action_id


async def test_concurrent_actions_during_traffic(pbx):
    """Concurrent list actions amid live call traffic each get exactly their own messages."""
    pbx.traffic.start(rate=50, seed=7)
    async with make(pbx) as ami:
        events: list[amilab.Message] = []
        ami.on("*", events.append)
        results = await asyncio.gather(
            *(ami.action("PJSIPShowEndpoints" if i % 2 else "CoreShowChannels") for i in range(100))
        )
    pbx.traffic.stop()
    assert len({r.response.action_id for r in results}) == 100
    for r in results:
        assert r.complete and r.list_end is not None
        assert all(m.action_id == r.response.action_id for m in r)
        assert int(r.list_end["ListItems"]) == len(r.events)
    listed = {"EndpointList", "CoreShowChannel"}
    assert not any(m.name in listed for m in events)


async def test_action_timeout_cleans_up(pbx):
    """A peer that stops answering: ActionTimeout (a TimeoutError) and no routing leftovers."""
    async with make(pbx, reconnect=False) as ami:
        pbx.faults.half_open()
        with pytest.raises(TimeoutError) as info:
            await ami.action("Ping", timeout=0.3)
        assert isinstance(info.value, amilab.ActionTimeout)
        assert "Ping" in str(info.value)
        assert ami.connection is not None
        assert not ami.connection.pending and not ami.connection.proto.pending
        pbx.faults.clear()


async def test_cancelled_action_leaks_nothing(pbx):
    """Cancelling an awaiting action removes its future and its pending protocol entry."""
    async with make(pbx, reconnect=False) as ami:
        pbx.faults.half_open()
        task = asyncio.create_task(ami.action("Ping"))
        await until(lambda: ami.connection is not None and ami.connection.pending > 0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ami.connection is not None
        assert not ami.connection.pending and not ami.connection.proto.pending
        pbx.faults.clear()


async def test_half_open_peer_detected_by_ping(pbx):
    """Half-open TCP: pending actions fail with ConnectionLost within ping interval+deadline."""
    ami = make(pbx, ping_interval=0.2, ping_timeout=0.2, reconnect=False)
    async with ami:
        pbx.faults.half_open()
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(amilab.ConnectionLost):
            await ami.action("Ping", timeout=30)
        assert loop.time() - start < 0.2 + 0.2 + 1.0
        assert not ami.connected
        pbx.faults.clear()


async def test_reconnect_after_drop_keeps_handlers_and_reports_gap(pbx):
    """Dropped link: Disconnected/Reconnected are reported and old handlers see new events."""
    ami, kinds, names = watched(make(pbx))
    async with ami:
        pbx.faults.drop_all()
        await until(lambda: "reconnected" in kinds)
        await ami.action("UserEvent", UserEvent="AfterReconnect")
        await until(lambda: "AfterReconnect" in names)
    assert kinds[:3] == ["connected", "disconnected", "reconnected"]
    gap = next(e for e in ami.connection_events if e.kind == "reconnected").gap
    assert gap is not None and gap >= 0


async def test_pending_actions_fail_on_drop(pbx):
    """Actions in flight when the link drops fail with ConnectionLost instead of hanging."""
    async with make(pbx, reconnect=False) as ami:
        pbx.faults.half_open()
        task = asyncio.create_task(ami.action("Ping", timeout=30))
        await until(lambda: ami.connection is not None and ami.connection.pending > 0)
        pbx.faults.drop_all()
        with pytest.raises(amilab.ConnectionLost):
            await task
        pbx.faults.clear()


async def test_filters_reapplied_after_reconnect(pbx):
    """A server-side Filter added once still applies after a reconnect."""
    ami, kinds, names = watched(make(pbx))
    async with ami:
        await ami.add_filter("UserEvent: Keep")
        pbx.faults.drop_all()
        await until(lambda: "reconnected" in kinds)
        await ami.action("UserEvent", UserEvent="Drop")
        await ami.action("UserEvent", UserEvent="Keep")
        await until(lambda: "Keep" in names)
    assert "Drop" not in names
    assert ami.filters == ["UserEvent: Keep"]


async def test_garbage_from_server_closes_and_recovers(pbx):
    """An oversized message is a protocol error: link closed, then reconnect works."""
    ami = make(pbx, max_message_size=64 * 1024)
    kinds: list[str] = []
    ami.on_connection(lambda ev: kinds.append(ev.kind))
    async with ami:
        pbx.faults.send_oversized(200 * 1024)
        await until(lambda: "reconnected" in kinds)
        assert (await ami.action("Ping")).ok
    assert (
        "protocol error"
        in next(e for e in ami.connection_events if e.kind == "disconnected").reason
    )


async def test_split_writes_at_every_byte(pbx):
    """A server writing one byte at a time still yields correct list results."""
    async with make(pbx) as ami:
        pbx.faults.split_writes("byte")
        res = await ami.action("PJSIPShowEndpoints")
        pbx.faults.split_writes(None)
    assert len(res.events) == int(res.list_end["ListItems"]) > 0


async def test_raising_handler_does_not_kill_reader(pbx, caplog):
    """A handler that raises is logged and kept in .errors; later events still arrive."""
    async with make(pbx) as ami:
        ok: list[str] = []

        def bad(msg: amilab.Message) -> None:
            raise RuntimeError("handler bug")

        ami.on("UserEvent", bad)
        ami.on("UserEvent", lambda m: ok.append(m["UserEvent"]))
        with caplog.at_level(logging.ERROR, logger="amilab.handlers"):
            await ami.action("UserEvent", UserEvent="A")
            await ami.action("UserEvent", UserEvent="B")
            await until(lambda: ok == ["A", "B"])
        assert len(ami.errors) == 2 and isinstance(ami.errors[0].error, RuntimeError)
        assert "handler bug" in caplog.text


async def test_async_handler_is_scheduled(pbx):
    """A coroutine handler runs as a task."""
    async with make(pbx) as ami:
        done: list[str] = []

        async def handler(msg: amilab.Message) -> None:
            await asyncio.sleep(0)
            done.append(msg["UserEvent"])

        ami.on("UserEvent", handler)
        await ami.action("UserEvent", UserEvent="Async")
        await until(lambda: done == ["Async"])


async def test_event_stream_is_bounded_and_counts_drops(pbx):
    """events() keeps at most maxsize events, dropping (and counting) the oldest."""
    async with make(pbx) as ami:
        stream = ami.events("FloodEvent", maxsize=10)
        pbx.faults.flood(50)
        await until(lambda: stream.dropped == 40)
        first = await stream.__anext__()
        stream.close()
    assert first.name == "FloodEvent"


async def test_header_injection_sends_nothing(pbx):
    """A CR/LF in a value raises ValueError before anything reaches the wire."""
    async with make(pbx) as ami:
        ami.trace.enable()
        with pytest.raises(ValueError, match="header injection"):
            await ami.action(
                "Setvar", Variable="x", Value="1\r\nAction: Command\r\nCommand: core stop now"
            )
        assert not ami.trace.entries


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_secret_never_in_repr_trace_or_logs(caplog, auth):
    """The secret appears in no repr, log line, or wire trace (Secret/Key are masked)."""
    secret = "Zq9-distinctive-S3cret"
    sim = amilab.sim.start(users={"admin": {"secret": secret, "read": "all", "write": "all"}})
    try:
        ami = AMIClient(
            sim.host, sim.port, username="admin", secret=secret, auth=auth, ping_interval=None
        )
        ami.trace.enable()
        with caplog.at_level(logging.DEBUG):
            async with ami:
                await ami.ping()
        text = repr(ami) + caplog.text + ami.trace.text() + repr(vars(ami))
    finally:
        sim.stop()
    assert secret not in text
    assert ("Secret: ***" if auth == "plain" else "Key: ***") in ami.trace.text()


async def test_command_output_exact(pbx):
    """command() returns the CLI text with its line structure intact."""
    async with make(pbx) as ami:
        out = await ami.command("core show uptime")
    assert out.startswith("System uptime:")


async def test_command_pre14_follows_format():
    """The pre-14 Follows format (raw body, blank lines, glued marker) reads exactly."""
    body = "line one\n\nUptime: 5 minutes\nlast"

    async def handle(reader, writer):
        sp = ServerProtocol()
        writer.write(sp.greeting())
        while data := await reader.read(65536):
            for act in sp.receive_data(data):
                if act.name == "Command":
                    writer.write(
                        f"Response: Follows\r\nPrivilege: Command\r\nActionID: "
                        f"{act.action_id}\r\n{body}--END COMMAND--\r\n\r\n".encode()
                    )
                else:
                    writer.write(sp.response(act, message="ok"))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with AMIClient(
        "127.0.0.1", port, username="u", secret="s", auth="plain", ping_interval=None
    ) as ami:
        assert await ami.command("core show uptime") == body
    server.close()


async def test_not_connected_error_says_how(pbx):
    """Using a client that was never connected says to connect first."""
    ami = make(pbx)
    with pytest.raises(amilab.NotConnected, match="connect"):
        await ami.action("Ping")


def test_sync_originate_deadline_covers_server_timeout():
    """A sync Originate may take its AMI Timeout (ms); the default deadline allows for it."""
    ami = AMIClient("127.0.0.1", 1, username="u", secret="s", timeout=10)
    from amilab.protocol import Action

    assert default_deadline(Action("Ping"), ami.timeout) == 10
    assert default_deadline(Action("Originate", Channel="x", Timeout=45000), ami.timeout) == 55
    assert default_deadline(Action("Originate", Channel="x"), ami.timeout) == 40
    assert default_deadline(Action("Originate", Channel="x", Async=True), ami.timeout) == 10


class ScriptedServer:
    """A minimal AMI server whose n-th connection follows ``modes[n]`` (last mode repeats).

    ``"ok"`` answers every action with Success, ``"refuse"`` with Error,
    ``"drop_at_login"`` closes on the first action, ``"mute"`` sends the
    greeting and never answers, ``"login_only"`` answers Login and nothing else.
    """

    def __init__(self, *modes: str) -> None:
        self.modes = modes
        self.accepted = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.handlers: list[asyncio.Task[None]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        async with asyncio.timeout(2):
            await asyncio.gather(*self.handlers, return_exceptions=True)

    def open_connections(self) -> int:
        return sum(1 for w in self.writers if not w.is_closing())

    async def _handle(self, reader, writer) -> None:
        mode = self.modes[min(self.accepted, len(self.modes) - 1)]
        self.accepted += 1
        self.writers.append(writer)
        self.handlers.append(asyncio.current_task())
        sp = ServerProtocol()
        writer.write(sp.greeting())
        try:
            while data := await reader.read(65536):
                for act in sp.receive_data(data):
                    if mode == "drop_at_login":
                        writer.transport.abort()
                        return
                    if mode == "ok" or (mode == "login_only" and act.name == "Login"):
                        writer.write(sp.response(act, message="ok"))
                    elif mode == "refuse":
                        writer.write(sp.response(act, "Error", "Authentication failed"))
            # EOF from the client: close our side too.
            writer.close()
        except ConnectionError:
            pass


def scripted(server: ScriptedServer, **kw) -> AMIClient:
    kw.setdefault("ping_interval", None)
    kw.setdefault("reconnect_delay", (0.01, 0.05))
    kw.setdefault("auth", "plain")
    kw.setdefault("secret", "s")
    return AMIClient("127.0.0.1", server.port, username="u", **kw)


async def test_close_during_reconnect_wakes_waiting_actions(pbx):
    """close() while reconnecting fails actions waiting for the link at once, not at deadline."""
    ami = make(pbx, reconnect_delay=(30.0, 30.0))
    kinds: list[str] = []
    ami.on_connection(lambda ev: kinds.append(ev.kind))
    await ami.connect()
    pbx.faults.drop_all()
    await until(lambda: "disconnected" in kinds)
    task = asyncio.create_task(ami.action("Ping", timeout=20))
    await asyncio.sleep(0.05)
    assert not task.done()
    await ami.close()
    async with asyncio.timeout(1.0):
        with pytest.raises(amilab.NotConnected, match="closed"):
            await task
    assert ami.link_state.value == "closed"


async def test_action_after_failed_connect_fails_at_once(pbx):
    """After connect() failed (wrong secret), an action says 'connect first' at once, no wait."""
    ami = AMIClient(pbx.host, pbx.port, username="admin", secret="nope", ping_interval=None)
    with pytest.raises(amilab.AuthenticationError):
        await ami.connect()
    async with asyncio.timeout(1.0):
        with pytest.raises(amilab.NotConnected, match="connect"):
            await ami.action("Ping", timeout=20)


async def test_reconnect_gave_up_fails_waiting_actions_with_reason():
    """When re-login is refused the reconnect stops, and waiting actions fail at once saying why."""
    async with ScriptedServer("ok") as server:
        ami = scripted(server)
        kinds: list[str] = []
        ami.on_connection(lambda ev: kinds.append(ev.kind))
        await ami.connect()
        ami.credentials = Credentials("admin", "wrong")
        server.modes = ("refuse",)
        ami.connection.abort("test: drop the link")
        await until(lambda: "disconnected" in kinds)
        async with asyncio.timeout(1.0):
            with pytest.raises(amilab.NotConnected, match="login refused"):
                await ami.action("Ping", timeout=20)
        await ami.close()


async def test_drop_during_relogin_keeps_reconnecting():
    """A link that drops during re-login is retried, not mistaken for a refused login."""
    async with ScriptedServer("ok", "drop_at_login", "ok") as server:
        ami = scripted(server)
        kinds: list[str] = []
        ami.on_connection(lambda ev: kinds.append(ev.kind))
        await ami.connect()
        ami.connection.abort("test: drop the link")
        await until(lambda: "reconnected" in kinds)
        assert server.accepted == 3 and ami.connected


async def test_unanswered_login_closes_its_socket():
    """A server that greets but never answers the login: NotConnected, and the socket is closed."""
    async with ScriptedServer("mute") as server:
        ami = scripted(server, connect_timeout=0.3)
        with pytest.raises(amilab.NotConnected, match="login"):
            await ami.connect()
        assert ami.connection is None and ami.link_state.value == "idle"
        await until(lambda: server.open_connections() == 0)


async def test_action_sent_while_link_closes_on_protocol_error(pbx):
    """An action sent after a protocol error, before the link is gone, gets ConnectionLost."""
    async with make(pbx, reconnect=False, max_message_size=1024) as ami:
        conn = ami.connection
        conn.data_received(b"Event: Huge\r\nData: " + b"x" * 4096)
        with pytest.raises(amilab.ConnectionLost):
            await ami.action("Ping", timeout=1)
        assert not conn.pending


TRACEBACK_SECRET = "Zq9-traceback-S3cret"


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_secret_not_in_traceback_locals(pbx, auth):
    """A refused or unanswered login's traceback, with locals (%xmode Verbose), hides the secret."""
    import traceback

    # The secret stays a module constant: a local here would show in this frame.
    texts = []
    ami = AMIClient(pbx.host, pbx.port, username="admin", secret=TRACEBACK_SECRET, auth=auth)
    with pytest.raises(amilab.AuthenticationError) as refused:
        await ami.connect()
    texts.append(refused.value)
    async with ScriptedServer("mute") as server:
        ami = scripted(server, secret=TRACEBACK_SECRET, auth=auth, connect_timeout=0.2)
        with pytest.raises(amilab.NotConnected) as unanswered:
            await ami.connect()
        texts.append(unanswered.value)
    for exc in texts:
        shown = "".join(
            traceback.TracebackException.from_exception(exc, capture_locals=True).format()
        )
        assert "Traceback" in shown and TRACEBACK_SECRET not in shown


async def test_action_object_with_extra_headers_is_refused(pbx):
    """Headers given beside an Action object are refused, not silently dropped."""
    async with make(pbx) as ami:
        with pytest.raises(TypeError, match="Action"):
            await ami.action(amilab.Action("UserEvent", UserEvent="A"), {"Extra": "1"})
        with pytest.raises(TypeError, match="Action"):
            await ami.action(amilab.Action("UserEvent", UserEvent="A"), Extra="1")


async def test_event_stream_close_ends_a_waiting_iteration(pbx):
    """Closing an events() stream ends an `async for` that is waiting for the next event."""
    async with make(pbx) as ami:
        stream = ami.events("NoSuchEvent")
        got: list[amilab.Message] = []

        async def consume() -> None:
            async for ev in stream:
                got.append(ev)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        stream.close()
        async with asyncio.timeout(1.0):
            await task
        assert got == []


async def test_one_deadline_covers_reconnect_wait_and_answer():
    """timeout= bounds the whole call: a reconnect wait plus an unanswered action, not 2x."""
    async with ScriptedServer("ok", "login_only") as server:
        ami = scripted(server, reconnect_delay=(0.4, 0.4))
        async with ami:
            server.writers[0].transport.abort()
            await until(lambda: not ami.connected)
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(amilab.ActionTimeout):
                await ami.action("Ping", timeout=1.0)
            elapsed = loop.time() - start
            assert server.accepted == 2  # it did reconnect, then waited for the answer
            assert elapsed < 1.0 + 0.2


async def test_connect_during_reconnect_joins_it(pbx):
    """connect() while a reconnect is under way waits for it instead of opening a second link."""
    ami = make(pbx, reconnect_delay=(0.3, 0.3))
    async with ami:
        pbx.faults.drop_all()
        await until(lambda: not ami.connected)
        await ami.connect()
        assert ami.connected
        assert [e.kind for e in ami.connection_events].count("reconnected") == 1


# -- details pinned after mutation testing (mutmut on amilab/client.py) ---------------
@pytest.mark.parametrize("value", ["true", "Yes", "1", "ON"])
def test_async_originate_keeps_the_plain_timeout(value):
    """Each spelling of a true Async (manager.c's ast_true) keeps Originate's plain deadline."""
    assert default_deadline(amilab.Action("Originate", Channel="x", Async=value), 10.0) == 10.0


def test_repr_names_tls_and_its_default_port():
    """A TLS client's repr says tls, with port 5039 by default; a plain one says neither."""
    tls = AMIClient("pbx.example", username="u", secret="s", tls=True)
    assert repr(tls) == "<AMIClient u@pbx.example:5039 tls idle>"
    plain = AMIClient("pbx.example", username="u", secret="s")
    assert repr(plain) == "<AMIClient u@pbx.example:5038 idle>"


async def test_action_object_with_extra_headers_says_nothing_was_sent(pbx):
    """The refusal of headers beside an Action object says that nothing was sent."""
    async with make(pbx) as ami:
        with pytest.raises(TypeError, match="nothing was sent"):
            await ami.action(amilab.Action("Ping"), Extra="1")


async def test_add_filter_sends_an_add_operation_with_the_expression(pbx):
    """add_filter puts Operation: Add and the expression on the wire, and returns the answer."""
    async with make(pbx, trace=True) as ami:
        ami.trace.clear()
        result = await ami.add_filter("UserEvent: Keep")
        assert result.ok and ami.filters == ["UserEvent: Keep"]
    sent = [e for e in ami.trace.entries if e.direction == "sent"]
    assert sent[0].data.startswith(b"Action: Filter\r\n")
    assert sent[0].data.endswith(b"\r\nOperation: Add\r\nFilter: UserEvent: Keep\r\n\r\n")


async def test_add_filter_uses_its_own_timeout():
    """add_filter(timeout=) bounds the wait for the Filter answer (not the client default)."""
    async with ScriptedServer("login_only") as server, scripted(server, timeout=30) as ami:
        with pytest.raises(amilab.ActionTimeout, match=r"within 0\.2s"):
            await ami.add_filter("UserEvent: Keep", timeout=0.2)


async def test_wait_for_skips_events_the_predicate_rejects(pbx):
    """wait_for returns the first matching event the predicate accepts, not merely the first."""
    async with make(pbx) as ami:
        waiter = asyncio.create_task(
            ami.wait_for("UserEvent", lambda m: m["UserEvent"] == "second", timeout=5)
        )
        await asyncio.sleep(0.05)  # subscribed
        await ami.action("UserEvent", UserEvent="first")
        await ami.action("UserEvent", UserEvent="second")
        assert (await waiter)["UserEvent"] == "second"


async def test_on_connection_unsubscribe_stops_the_callback(pbx):
    """The callable returned by on_connection() removes the callback."""
    ami = make(pbx)
    seen: list[str] = []
    undo = ami.on_connection(lambda ev: seen.append(ev.kind))
    undo()
    async with ami:
        assert ami.connection_events[0].kind == "connected"
    assert seen == []


async def test_refused_relogin_moves_to_gave_up_and_reports_why():
    """A refused re-login leaves the client 'gave up' and reports a disconnect saying why."""
    async with ScriptedServer("ok") as server:
        ami = scripted(server)
        await ami.connect()
        ami.credentials = Credentials("admin", "wrong")
        server.modes = ("refuse",)
        ami.connection.abort("test: drop the link")
        await until(lambda: len(ami.connection_events) >= 3)
        assert ami.link_state.value == "gave up" and not ami.connected
        last = ami.connection_events[-1]
        assert last.kind == "disconnected" and last.reason.startswith("login refused: ")
        await ami.close()


async def test_closed_client_refuses_actions_while_close_is_still_running(pbx):
    """Once close() has begun, an action is refused even though the socket is not shut yet."""
    ami = make(pbx, ping_interval=30)
    await ami.connect()
    closing = asyncio.create_task(ami.close())
    await asyncio.sleep(0)  # close() moved to CLOSED and waits for the ping task to end
    assert ami.link_state.value == "closed" and ami.connection is not None
    with pytest.raises(amilab.NotConnected, match="the client was closed"):
        await ami.action("Ping")
    await closing


async def test_not_connected_messages_say_what_to_do(pbx):
    """After close() and after a drop with reconnect=False, the error says to call connect()."""
    ami = make(pbx, reconnect=False)
    async with ami:
        pbx.faults.drop_all()
        await until(lambda: ami.link_state.value == "idle")
        with pytest.raises(amilab.NotConnected) as dropped:
            await ami.action("Ping")
    assert str(dropped.value).startswith("not connected to AMI: the link dropped (")
    assert str(dropped.value).endswith(") and reconnect=False; call connect() again")
    with pytest.raises(amilab.NotConnected) as closed:
        await ami.action("Ping")
    assert str(closed.value) == (
        "not connected to AMI: the client was closed; call connect() to open it again"
    )


async def test_answered_liveness_pings_keep_a_quiet_link_up():
    """A quiet peer that answers each liveness Ping keeps the link up across several pings."""

    def pings_sent() -> int:
        return sum(
            b"Action: Ping\r\n" in e.data for e in ami.trace.entries if e.direction == "sent"
        )

    async with ScriptedServer("ok") as server:
        ami = scripted(server, ping_interval=0.05, ping_timeout=5.0, reconnect=False, trace=True)
        async with ami:
            await until(lambda: pings_sent() >= 3)
            assert ami.connected
        assert [e.kind for e in ami.connection_events] == ["connected"]


async def test_a_failing_connection_callback_is_recorded_not_raised(pbx):
    """A connection callback that raises is kept in errors (kind, callback, exception)."""

    def broken(ev) -> None:
        raise RuntimeError("callback failed")

    ami = make(pbx)
    ami.on_connection(broken)
    async with ami:
        (err,) = ami.errors
    assert err.event == "connected" and err.callback.endswith("broken")
    assert isinstance(err.error, RuntimeError)


async def test_connect_timeout_names_the_stage_it_stopped_at():
    """A login that never comes is reported as 'no login to host:port within Ns'."""
    async with ScriptedServer("mute") as server:
        ami = scripted(server, connect_timeout=0.3)
        with pytest.raises(
            amilab.NotConnected, match=r"^no login to 127\.0\.0\.1:\d+ within 0\.3s"
        ):
            await ami.connect()


async def test_tls_true_really_speaks_tls(pbx):
    """tls=True wraps the socket in TLS: against the plain-text simulator the connect fails."""
    ami = make(pbx, tls=True, connect_timeout=5)
    with pytest.raises(amilab.NotConnected):
        await ami.connect()
    assert not ami.connected


@pytest.mark.parametrize(("tls", "server_hostname"), [(False, None), (True, "pbx.invalid")])
async def test_connects_to_the_host_it_was_given(monkeypatch, tls, server_hostname):
    """The socket is opened to the client's own host and port (TLS checks that name); no
    network is used: the test's create_connection records the call and refuses it."""
    loop = asyncio.get_running_loop()
    calls: list[tuple[object, ...]] = []

    async def refuse(factory, host, port, **kw):
        calls.append((host, port, kw.get("server_hostname")))
        raise OSError("refused by the test")

    monkeypatch.setattr(loop, "create_connection", refuse)
    ami = AMIClient("pbx.invalid", 5038, username="u", secret="s", tls=tls, ping_interval=None)
    with pytest.raises(amilab.NotConnected, match=r"pbx\.invalid:5038"):
        await ami.connect()
    assert calls == [("pbx.invalid", 5038, server_hostname)]


async def test_an_action_whose_deadline_has_passed_does_not_wait_for_the_reconnect(pbx):
    """While reconnecting, an action with no time left fails at once saying so; it does not
    wait for the reconnect and then time out on the new link."""
    ami, kinds, _ = watched(make(pbx, reconnect_delay=(0.1, 0.1)))
    async with ami:
        pbx.faults.drop_all()
        await until(lambda: "disconnected" in kinds)
        with pytest.raises(amilab.NotConnected, match="still reconnecting"):
            await ami.action("Ping", timeout=0.001)
        await until(lambda: "reconnected" in kinds)
