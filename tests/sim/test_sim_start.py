"""start()/stop() on a background thread, the async forms, and the command line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading

from sim_helpers import RawClient

import amilab.sim
from amilab.sim import DEFAULT_SECRET, SimulatorServer, serve, start


def sim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "amilab-sim"]


def test_start_stop_leaves_no_thread_or_socket():
    """stop() joins the thread and frees the port; nothing is left behind."""
    before = len(sim_threads())
    sim = start()
    assert len(sim_threads()) == before + 1
    port = sim.port
    sim.stop()
    assert len(sim_threads()) == before
    assert not sim.server.connections
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the listening socket is gone


def test_context_manager_and_attributes():
    """The context manager stops the simulator; address, users and defaults are visible."""
    with start() as sim:
        assert sim.address == (sim.host, sim.port) and sim.port > 0
        assert set(sim.users) == {"admin", "readonly"}
        assert sim.users["readonly"].write == frozenset()
        assert sim.pbx is sim.server.pbx and sim.traffic is sim.pbx.traffic
    assert not sim_threads()


def test_repr_hides_secrets():
    """Neither the simulator's nor a user's repr shows a secret."""
    users = {"alice": {"secret": "s3cr3t-value", "read": "all", "write": "all"}}
    with start(users=users) as sim:
        text = repr(sim) + repr(sim.users) + repr(sim.server)
    assert "s3cr3t-value" not in text
    with start() as sim:
        assert DEFAULT_SECRET not in repr(sim) + repr(sim.users)


async def test_start_from_inside_a_running_loop():
    """start() works from async code: the simulator has its own loop and thread."""
    sim = start()
    try:
        client = await RawClient().connect(*sim.address)
        assert (await client.login()).ok
        await client.close()
    finally:
        sim.stop()


async def test_async_forms_run_on_the_current_loop():
    """serve() and 'async with SimulatorServer()' run on the caller's loop."""
    server = await serve()
    try:
        client = await RawClient().connect(server.host, server.port)
        assert (await client.login()).ok
        await client.close()
    finally:
        await server.close()
    async with SimulatorServer() as srv:
        assert srv.port > 0


def test_traffic_from_start_and_threadsafe_stop():
    """start(traffic=...) generates calls; traffic.stop() from this thread stops it."""
    with start(traffic=50.0, seed=1) as sim:
        import time

        deadline = time.monotonic() + 5
        while sim.traffic.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        sim.traffic.stop()
        assert sim.traffic.calls > 0 and not sim.traffic.running


def test_command_line_prints_address_and_stops_on_ctrl_c():
    """python -m amilab.sim prints the address and the demo login, and exits on SIGINT."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "amilab.sim", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        third = proc.stdout.readline()
        assert "listening on 127.0.0.1:" in first
        assert "admin" in second and "Ctrl-C" in third
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.stdout.close()


def test_replay_sends_recorded_events():
    """replay() delivers recorded events (Message or (ts, Message)) to logged-in clients."""
    from amilab.protocol import Message

    recorded = [
        Message.from_pairs([("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", "A")]),
        (1.0, Message.from_pairs([("Event", "Newchannel"), ("Privilege", "call,all")])),
    ]
    with start() as sim:

        async def scenario() -> list[str]:
            client = await RawClient().connect(*sim.address)
            await client.login()
            await asyncio.to_thread(sim.replay, recorded)
            await client.wait_event("Newchannel")
            await client.close()
            return client.names()

        names = asyncio.run(scenario())
    assert names[-2:] == ["UserEvent", "Newchannel"]
    assert amilab.sim.SimulatedPBX


def test_call_runs_on_the_simulator_thread():
    """sim.call(fn, *args) runs fn on the simulator's own loop thread and returns its value."""
    with start() as sim:
        where = sim.call(lambda prefix: prefix + threading.current_thread().name, "on ")
        assert where == "on amilab-sim"
        assert sim.call(len, sim.pbx.channels) == 0
