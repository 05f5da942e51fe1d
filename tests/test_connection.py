"""Connection details pinned after mutation testing (mutmut on amilab/connection.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest

import amilab
import amilab.sim
from amilab import AMIClient
from amilab.connection import Connection, format_seconds
from amilab.protocol import ClientProtocol, Stray
from amilab.trace import WireTrace


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.999998635999873, "5.0s"), (0.1, "0.1s"), (0.05, "0.05s"), (0.004, "0.00s")],
)
def test_format_seconds_rounds_for_messages(seconds: float, text: str) -> None:
    """Durations in messages: one decimal from 0.1s up, two below (never 0.0s for 50 ms)."""
    assert format_seconds(seconds) == text


async def test_request_checks_the_answer_by_default() -> None:
    """Connection.request raises ActionError for Response: Error unless check=False, and the
    error carries the whole result."""
    sim = amilab.sim.start()
    try:
        async with AMIClient(
            sim.host,
            sim.port,
            username="admin",
            secret=amilab.sim.DEFAULT_SECRET,
            ping_interval=None,
        ) as ami:
            conn = ami.connection
            assert conn is not None
            deadline = asyncio.get_running_loop().time() + 5
            bogus = amilab.Action("NoSuchAction")
            with pytest.raises(amilab.ActionError) as refused:
                await conn.request(bogus, deadline=deadline, budget=5)
            assert refused.value.result is not None and not refused.value.result.ok
            assert str(refused.value).startswith("NoSuchAction failed: ")
            answer = await conn.request(bogus, deadline=deadline, budget=5, check=False)
            assert not answer.ok
    finally:
        sim.stop()


class FakeTransport(asyncio.Transport):
    """Collects writes; abort() or close() ends the connection as asyncio would."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True

    close = abort


def raw_connection(trace: WireTrace | None = None) -> tuple[Connection, list[str]]:
    """A Connection on a fake transport, with a protocol that needs no login."""
    lost: list[str] = []
    conn = Connection(
        ClientProtocol(id_prefix="t-", raw=True),
        address="test:5038",
        deliver=lambda events: None,
        on_lost=lambda c, reason: lost.append(reason),
        trace=trace or WireTrace(),
    )
    conn.connection_made(FakeTransport())
    conn.data_received(b"Asterisk Call Manager/11.0.0\r\n")
    return conn, lost


async def test_received_bytes_are_traced_as_received() -> None:
    """The wire trace marks what came from the server as received."""
    trace = WireTrace().enable()
    raw_connection(trace)
    (entry,) = trace.entries
    assert entry.direction == "received" and entry.data.startswith(b"Asterisk Call Manager/")


async def test_strays_are_logged_at_their_level_and_the_link_stays_up(caplog) -> None:
    """An unknown response is a WARNING, a late answer to a cancelled action only DEBUG; neither
    disturbs the connection."""
    conn, lost = raw_connection()
    aid, _ = conn.proto.send(amilab.Action("Ping"))
    conn.proto.cancel(aid)
    with caplog.at_level(logging.DEBUG, logger="amilab.connection"):
        conn.data_received(b"Response: Success\r\nActionID: someone-else\r\n\r\n")
        conn.data_received(f"Response: Success\r\nActionID: {aid}\r\n\r\n".encode())
    levels = [(r.levelno, r.args[1]) for r in caplog.records if "stray" in r.msg]
    assert levels == [(logging.WARNING, Stray.UNKNOWN), (logging.DEBUG, Stray.ABANDONED)]
    assert not conn.closed and lost == []


@pytest.mark.parametrize(
    ("exc", "reason"), [(None, "closed by peer"), (ConnectionResetError("reset"), "reset")]
)
async def test_connection_lost_reports_its_reason(exc: Exception | None, reason: str) -> None:
    """connection_lost marks the connection closed and tells the owner why (peer EOF or error)."""
    conn, lost = raw_connection()
    conn.connection_lost(exc)
    assert conn.closed is True and not conn.ready
    assert lost == [reason]


async def test_abort_before_the_socket_opened_fails_the_login_futures() -> None:
    """abort() before connection_made closes the connection and fails greeting and login with
    ConnectionLost naming the reason (nothing else would ever resolve them)."""
    conn = Connection(
        ClientProtocol(id_prefix="t-"),
        address="test:5038",
        deliver=lambda events: None,
        on_lost=lambda c, reason: None,
        trace=WireTrace(),
    )
    conn.abort("connect timed out")
    assert conn.closed is True
    for future in (conn.greeting, conn.logged_in):
        error = future.exception()
        assert isinstance(error, amilab.ConnectionLost) and str(error) == "connect timed out"
