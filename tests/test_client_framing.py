"""AMIClient over the issue 9 recordings: FAXStats, ShowDialPlan broken off, stray responses.

A loopback server answers each action with the answer Asterisk 22 recorded for
it (tests/fixtures/asterisk22/, record_framing.py), its ActionID swapped for
the client's, so the whole client path runs on real bytes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from amilab import AMIClient
from amilab.errors import ActionError
from amilab.protocol import Message, ServerProtocol

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "asterisk22"
SCENARIOS = json.loads((FIXTURES / "framing_scenarios.json").read_text())["scenarios"]
#: Far above a loopback answer, far below the client's default deadline.
DEADLINE = 3.0


def recorded_answers(name: str) -> dict[str, bytes]:
    """Action name -> the recorded blocks carrying that step's ActionID, in wire order."""
    scenario = SCENARIOS[name]
    blocks = (FIXTURES / scenario["file"]).read_bytes().split(b"\r\n\r\n")
    answers = {}
    for step in scenario["steps"]:
        tag = f"ActionID: {step['action_id']}".encode()
        mine = [b for b in blocks if any(line == tag for line in b.split(b"\r\n"))]
        answers[step["action"][0][1]] = b"".join(b + b"\r\n\r\n" for b in mine)
    return answers


async def replay_server(name: str, extra: bytes = b"") -> tuple[asyncio.Server, int]:
    """Serve the scenario's answers; ``extra`` is written right after the Login answer."""
    answers = recorded_answers(name)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sp = ServerProtocol()
        writer.write(sp.greeting())
        while data := await reader.read(65536):
            for act in sp.receive_data(data):
                if act.name == "Login":
                    writer.write(sp.response(act, message="Authentication accepted") + extra)
                    continue
                if act.name == "Logoff":
                    writer.write(sp.response(act, "Goodbye", "Thanks for all the fish."))
                    continue
                recorded = answers[act.name or ""]
                old = recorded.split(b"ActionID: ", 1)[1].split(b"\r\n", 1)[0]
                new = (act.action_id or "").encode()
                writer.write(
                    recorded.replace(b"ActionID: " + old + b"\r\n", b"ActionID: " + new + b"\r\n")
                )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def client(port: int) -> AMIClient:
    return AMIClient(
        "127.0.0.1", port, username="admin", secret="x", auth="plain", ping_interval=None
    )


async def test_faxstats_completes_and_its_event_reaches_handlers() -> None:
    """FAXStats answers without a list: the action completes, FAXStats goes to handlers."""
    server, port = await replay_server("faxstats")
    seen: list[Message] = []
    async with client(port) as ami:
        ami.on("FAXStats", seen.append)
        result = await ami.action("FAXStats", timeout=DEADLINE)
        await asyncio.sleep(0.05)
    server.close()
    assert result.ok and result.message == "FAXStats event will follow"
    assert [m.action_id for m in seen] == [result.response.action_id]


async def test_showdialplan_error_raises_action_error_with_the_items() -> None:
    """A list broken off by Response: Error raises ActionError carrying the partial items."""
    server, port = await replay_server("showdialplan_missing_extension")
    seen: list[Message] = []
    async with client(port) as ami:
        ami.on("*", seen.append)
        with pytest.raises(ActionError, match="Did not find extension 99999") as info:
            await ami.action(
                "ShowDialPlan", Context="amilab-framing", Extension="99999", timeout=DEADLINE
            )
        await asyncio.sleep(0.05)
    server.close()
    result = info.value.result
    assert result is not None and not result.ok
    assert [(e.name, e["IgnorePattern"]) for e in result.events] == [("ListDialplan", "9")]
    assert not [m for m in seen if m.kind == "response"]


async def test_stray_response_never_reaches_handlers() -> None:
    """A response for no pending action is not handed to on('*') handlers."""
    stray = b"Response: Success\r\nActionID: nobody-1\r\nPing: Pong\r\n\r\n"
    marker = b"Event: Marker\r\n\r\n"
    server, port = await replay_server("faxstats", extra=stray + marker)
    seen: list[Message] = []
    ami = client(port)
    ami.on("*", seen.append)  # before connecting: the stray comes right after Login
    async with ami:
        await ami.action("FAXStats", timeout=DEADLINE)
        await asyncio.sleep(0.05)
    server.close()
    assert "Marker" in [m.name for m in seen]
    assert not [m for m in seen if m.kind == "response"]
