"""Parity: the simulator's replies have the shape of real Asterisk 22's.

For every scenario in ``tests/fixtures/asterisk22/scenarios.json`` the same
actions are sent to the simulator and its reply is compared with the recorded
transcript: message kinds, names, header names in order, EventList framing,
and the exact Response/Message/EventList values (error texts). Values that
legitimately differ (Uniqueid, timestamps, uptime, ports) are not compared.
Event headers are compared for every event name both sides produced.
When the sandbox runs (``asterisk`` fixture), the same comparison also runs
live, simulator against real Asterisk.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from amilab.protocol import Message, ReceiveBuffer, challenge_key
from amilab.sim import SimulatorServer
from amilab.sim.ami.actions import session as actions

pytestmark = pytest.mark.asterisk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
SCENARIOS = json.loads((FIXTURES / "scenarios.json").read_text())["scenarios"]
SANDBOX_USERS = {
    "admin": {"secret": "amilab-admin", "read": "all", "write": "all"},
    "readonly": {"secret": "amilab-readonly", "read": "all", "write": ""},
}
#: Scenarios that act on a live call set up first (see the fixtures' README).
LIVE_CALL = {"status", "hangup", "redirect", "getvar_setvar", "coreshowchannels_call"}
#: Events whose presence depends on build options or timing, not on AMI shape.
IGNORED_EVENTS = {"TestEvent"}
#: Values compared exactly; every other value may differ between runs.
EXACT = {"response", "message", "eventlist", "event"}
SETTLE = 0.4
#: The simulator answers at once; a short settle still catches trailing events.
SIM_SETTLE = 0.1
_LOCAL_102 = re.compile(r"Local/102@amilab-[0-9a-f]{8};(\d)")


def parse(data: bytes) -> list[Message]:
    return ReceiveBuffer(expect_greeting=True).feed(data)


def shape(msg: Message) -> list[tuple[str, str | None]]:
    """Header names in order, with the values that must match exactly.

    Repeated ``Output`` lines count as one: CLI output text is not AMI shape.
    """
    out: list[tuple[str, str | None]] = []
    for k, v in msg.items():
        if k == "Output" and out and out[-1][0] == "Output":
            continue
        out.append((k, v if k.lower() in EXACT else None))
    return out


def replies(messages: list[Message], action_ids: list[str]) -> dict[str, list]:
    """Per ActionID: the response and the list events that carry it, as shapes."""
    out: dict[str, list] = {aid: [] for aid in action_ids}
    for msg in messages:
        aid = msg.action_id
        if aid in out and (msg.kind == "response" or "EventList" in msg or _is_item(msg, out)):
            item = shape(msg)
            if not out[aid] or out[aid][-1] != item:  # how many items is data, not shape
                out[aid].append(item)
    return out


def _is_item(msg: Message, out: dict[str, list]) -> bool:
    first = out.get(msg.action_id or "")
    return bool(first) and any(k == "EventList" and v == "start" for k, v in first[0])


def event_shapes(messages: list[Message]) -> dict[str, list[str]]:
    """For each unsolicited event name: the header names of its first occurrence."""
    seen: dict[str, list[str]] = {}
    for msg in messages:
        if msg.kind == "event" and "Privilege" in msg and msg.name not in IGNORED_EVENTS:
            seen.setdefault(msg.name or "", [k for k, _ in msg.items()])
    return seen


async def setup_call(host: str, port: int, secret: str, tag: str) -> None:
    """Originate Local/102@amilab (Wait 30) with ChannelId amilab-<tag>, as the recorder did."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"Action: Login\r\nUsername: admin\r\nSecret: {secret}\r\nEvents: off\r\n\r\n"
        f"Action: Originate\r\nChannel: Local/102@amilab\r\nApplication: Wait\r\nData: 30\r\n"
        f"ChannelId: amilab-{tag}\r\nOtherChannelId: amilab-{tag}-2\r\n"
        f'CallerID: "Live Call" <555>\r\nActionID: setup\r\n\r\n'.encode()
    )
    await reader.readuntil(b"ActionID: setup\r\n")
    await asyncio.sleep(0.3)
    writer.close()


async def channel_names(host: str, port: int, secret: str, tag: str) -> dict[str, str]:
    """The ;1/;2 channel names of the live call, found by its Uniqueid."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"Action: Login\r\nUsername: admin\r\nSecret: {secret}\r\nEvents: off\r\n\r\n"
        "Action: CoreShowChannels\r\nActionID: csc\r\n\r\n".encode()
    )
    data = await reader.readuntil(b"Event: CoreShowChannelsComplete\r\n")
    writer.close()
    names = {}
    for msg in ReceiveBuffer(expect_greeting=True).feed(data):
        if msg.get("Uniqueid") == f"amilab-{tag}":
            names["1"] = msg["Channel"]
        elif msg.get("Uniqueid") == f"amilab-{tag}-2":
            names["2"] = msg["Channel"]
    return names


async def run(
    host: str, port: int, name: str, secrets: dict[str, str], settle: float = SETTLE
) -> list[Message]:
    """Send the scenario's steps to host:port and return everything the server sent."""
    scenario = SCENARIOS[name]
    secret = secrets["admin"]
    mapping: dict[str, str] = {}
    if name in LIVE_CALL:
        await setup_call(host, port, secret, name)
        mapping = await channel_names(host, port, secret, name)
    reader, writer = await asyncio.open_connection(host, port)
    received = bytearray()

    async def pump() -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)

    task = asyncio.create_task(pump())
    challenge = None
    for step in scenario["steps"]:
        pairs = [
            (k, _LOCAL_102.sub(lambda m: mapping.get(m.group(1), m.group(0)), v))
            for k, v in step["action"]
        ]
        pairs = [
            (k, secrets.get(scenario["user"], v) if k == "Secret" and v.startswith("amilab") else v)
            for k, v in pairs
        ]
        if challenge and any(k == "Key" for k, _ in pairs):
            key = challenge_key(challenge, secrets[scenario["user"]])
            pairs = [(k, key if k == "Key" else v) for k, v in pairs]
        writer.write("".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n")
        aid = step["action_id"].encode()
        deadline = asyncio.get_running_loop().time() + 3
        while b"ActionID: " + aid + b"\r\n" not in received and not task.done():
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        found = re.search(rb"Challenge: (\d+)", bytes(received))
        challenge = found.group(1).decode() if found else None
    await asyncio.sleep(settle)
    for channel in mapping.values():  # leave no 30 s call behind for the next scenario
        writer.write(f"Action: Hangup\r\nChannel: {channel}\r\n\r\n".encode())
    await asyncio.sleep(0.05)
    writer.close()
    task.cancel()
    return parse(bytes(received))


def compare_listcommands(expected: list[Message], actual: list[Message]) -> list[str]:
    """The simulator lists a subset of 22's actions, each with 22's synopsis and classes."""
    real = next(m for m in expected if m.action_id == "rec-2")
    ours = next(m for m in actual if m.action_id == "rec-2")
    return [
        f"{k}: expected {real.get(k)!r}, got {v!r}" for k, v in ours.items()[2:] if real.get(k) != v
    ]


def compare(expected: list[Message], actual: list[Message], name: str) -> list[str]:
    if name == "listcommands":
        return compare_listcommands(expected, actual)
    problems = []
    ids = [s["action_id"] for s in SCENARIOS[name]["steps"]]
    want, got = replies(expected, ids), replies(actual, ids)
    for aid in ids:
        if [s for s in want[aid]] != [s for s in got[aid]]:
            problems.append(f"{aid}: expected {want[aid]}\n      got {got[aid]}")
    want_ev, got_ev = event_shapes(expected), event_shapes(actual)
    for event in sorted(set(want_ev) & set(got_ev)):
        if want_ev[event] != got_ev[event]:
            problems.append(f"event {event}: expected {want_ev[event]}\n      got {got_ev[event]}")
    return problems


@pytest.fixture
def fast_failed_login(monkeypatch):
    monkeypatch.setattr(actions, "FAILED_LOGIN_DELAY", 0.05)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_simulator_matches_recorded_transcript(name, fast_failed_login):
    """The simulator answers each recorded scenario with Asterisk 22's shapes and texts."""
    expected = parse((FIXTURES / SCENARIOS[name]["file"]).read_bytes())
    async with SimulatorServer(users=SANDBOX_USERS, seed=1) as sim:
        secrets = {u: s["secret"] for u, s in SANDBOX_USERS.items()}
        actual = await run(sim.host, sim.port, name, secrets, SIM_SETTLE)
    problems = compare(expected, actual, name)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_simulator_matches_live_asterisk(name, asterisk, fast_failed_login):
    """Live: the same scenario against the sandbox and the simulator gives the same shapes."""
    secrets = {"admin": asterisk.admin[1], "readonly": asterisk.readonly[1]}
    real = await run(asterisk.host, asterisk.port, name, secrets)
    async with SimulatorServer(users=SANDBOX_USERS, seed=1) as sim:
        ours = await run(
            sim.host, sim.port, name, {u: s["secret"] for u, s in SANDBOX_USERS.items()}
        )
    problems = compare(real, ours, name)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)
