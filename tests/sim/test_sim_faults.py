"""Fault injection: every switch, driven from the test (and from another thread)."""

from __future__ import annotations

import asyncio
import threading

from sim_helpers import RawClient

from amilab.protocol import DEFAULT_MAX_MESSAGE_SIZE
from amilab.sim import start


async def test_drop_all_closes_every_connection(server, connect):
    """drop_all() aborts every client connection and reports how many."""
    a, b = await connect(), await connect()
    assert server.faults.drop_all() == 2
    await asyncio.wait_for(a.closed.wait(), 2)
    await asyncio.wait_for(b.closed.wait(), 2)


async def test_half_open_stops_answering_then_recovers(server, connect):
    """half_open(s) keeps TCP up but answers nothing; afterwards actions work again."""
    client = await connect()
    server.faults.half_open(0.3)
    pending = asyncio.create_task(client.action("Ping"))
    await asyncio.sleep(0.2)
    assert not pending.done() and not client.closed.is_set()
    pending.cancel()
    await asyncio.sleep(0.15)
    assert (await client.action("Ping")).ok


async def test_restart_resets_uptime_and_sends_fullybooted_again(server, connect):
    """restart() drops everyone and resets the clock; the next login gets FullyBooted."""
    client = await connect()
    old_start = server.pbx.startup_time
    await asyncio.sleep(0.01)
    server.faults.restart()
    await asyncio.wait_for(client.closed.wait(), 2)
    assert server.pbx.startup_time > old_start
    again = await connect()
    booted = await again.wait_event("FullyBooted")
    assert booted["Uptime"] == "0"


async def test_slow_writes_delay_each_write(server, connect):
    """slow_writes(d) delays a reply by at least d but keeps it intact."""
    client = await connect()
    server.faults.slow_writes(0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await client.action("Ping")
    assert result.ok and loop.time() - started >= 0.1
    server.faults.clear()


async def test_split_writes_byte_by_byte(server, connect):
    """split_writes('byte') writes one byte at a time; messages still frame correctly."""
    client = await connect()
    server.faults.split_writes("byte")
    result = await client.action("CoreSettings")
    assert result.response["AMIversion"] == "11.0.0"
    server.faults.clear()


async def test_split_inside_utf8_character(server, connect):
    """split_writes('utf8') cuts writes inside a UTF-8 character; the text survives."""
    client = await connect()
    server.faults.split_writes("utf8")
    server.faults.send_utf8_split()
    event = await client.wait_event("UserEvent")
    assert event["UserEvent"] == "Café"
    assert client.proto.buffer.decode_errors == 0


async def test_send_garbage_reaches_clients(server, connect):
    """send_garbage() writes the non-AMI bytes to logged-in clients."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"Action: Login\r\nUsername: admin\r\nSecret: amilab\r\n\r\n")
    await reader.readuntil(b"Authentication accepted\r\n\r\n")
    server.faults.send_garbage(b"\x00garbage\r\n\r\n")
    data = await asyncio.wait_for(reader.readuntil(b"\x00garbage\r\n\r\n"), 2)
    assert data.endswith(b"\x00garbage\r\n\r\n")
    writer.close()


async def test_oversized_message_trips_the_client_limit(server, connect):
    """send_oversized() sends one event larger than the default max_message_size."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"Action: Login\r\nUsername: admin\r\nSecret: amilab\r\nEvents: off\r\n\r\n")
    await reader.readuntil(b"Authentication accepted\r\n\r\n")
    server.faults.send_oversized()
    reader._limit = 4 * DEFAULT_MAX_MESSAGE_SIZE  # type: ignore[attr-defined]
    data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert data.startswith(b"Event: Oversized\r\n")
    assert len(data) > DEFAULT_MAX_MESSAGE_SIZE
    writer.close()


async def test_flood_delivers_every_event(server, connect):
    """flood(n) delivers exactly n events to a logged-in client."""
    client = await connect()
    server.faults.flood(5000)
    await client.wait_for(lambda: client.names().count("FloodEvent") == 5000)


def test_faults_from_another_thread():
    """Faults switched from a non-loop thread are marshalled onto the sim loop."""
    with start() as sim:

        async def scenario() -> bool:
            client = await RawClient().connect(*sim.address)
            await client.login()
            done = threading.Event()
            threading.Thread(target=lambda: (sim.faults.drop_all(), done.set())).start()
            await asyncio.wait_for(client.closed.wait(), 5)
            return done.wait(5)

        assert asyncio.run(scenario())
