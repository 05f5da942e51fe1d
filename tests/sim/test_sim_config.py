"""The PBX is built from public arguments: dialplan text, queues, endpoints, users."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sim_helpers import RawClient

import amilab.sim
from amilab.protocol import ReceiveBuffer
from amilab.sim import (
    PBX,
    ConferenceRoom,
    Mailbox,
    ParkingLot,
    SimulatorServer,
    VirtualClock,
    dialplan,
)
from amilab.sim.dialplan import DialplanSyntaxError, parse_extensions
from amilab.sim.sandbox import EXTENSIONS_CONF

SANDBOX_CONF = Path(__file__).resolve().parents[1] / "asterisk" / "etc" / "extensions.conf"
LAB_DIALPLAN = """
[lab]
exten => 700,1,NoOp(lab 700)
 same => n,Answer()
 same => n,Wait(3)
 same => n,Hangup()
exten => 701,1,Queue(helpdesk,,,,5)
 same => 2,Hangup()
exten => 800,1,Answer()
 same => n,Wait(1)
 same => n,Hangup()
"""


def events(pbx: PBX) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    framer = ReceiveBuffer(expect_greeting=False)

    def listen(name: str, category: str, data: bytes) -> None:
        out.extend((m.name or "", dict(m.items())) for m in framer.feed(data))

    pbx.listeners.append(listen)
    return out


def test_default_dialplan_is_the_sandbox_extensions_conf():
    """The built-in dialplan text parses to exactly the real sandbox's extensions.conf."""
    assert parse_extensions(EXTENSIONS_CONF) == parse_extensions(SANDBOX_CONF.read_text())
    plan, globals_ = parse_extensions(SANDBOX_CONF.read_text())
    assert globals_ == {"AMILAB_GLOBAL": "hello"}
    assert plan["amilab"]["200"] == [
        ("NoOp", "amilab 200"),
        ("Set", "CDR(userfield)=amilab"),
        ("Dial", "Local/100@amilab,10"),
        ("Hangup", ""),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("exten => 1,1,NoOp()\n", "line 1: a line before any [context]"),
        ("[c]\nexten => 1,1,NoOp()\nexten => 1,3,NoOp()\n", "line 3: priority 3 is not 2"),
        ("[c]\n same => n,NoOp()\n", "line 2: 'same =>' with no extension before it"),
        ("[c]\nexten => 1,1,No Op\n", "line 2: expected Application(data)"),
        ("[c]\ninclude => other\n", "line 2: expected 'exten =>' or 'same =>'"),
    ],
)
def test_dialplan_syntax_errors_name_the_line(text, problem):
    """A dialplan line the simulator cannot run is refused with its number and the reason."""
    with pytest.raises(DialplanSyntaxError, match=re.escape(problem)):
        parse_extensions(text)


def test_custom_dialplan_runs_its_own_applications():
    """A dialplan given as text is what calls run: Newexten per priority, then hang-up."""
    pbx = PBX(clock=VirtualClock(), dialplan=LAB_DIALPLAN, endpoints=["100"])
    seen = events(pbx)
    results = []
    dialplan.originate(
        pbx, "Local/700@lab", application="Wait", data="1", done=lambda *a: results.append(a[0])
    )
    pbx.clock.run_for(30)
    steps = [(e["Application"], e["AppData"]) for n, e in seen if n == "Newexten"]
    assert ("NoOp", "lab 700") in steps and ("Wait", "3") in steps
    assert results == [True] and not pbx.channels
    assert pbx.globals == {}  # no [globals] section in that text


def test_custom_queue_and_members():
    """queues= builds the queues and members a call then reaches (ringall, agent answers)."""
    pbx = PBX(
        clock=VirtualClock(),
        dialplan=LAB_DIALPLAN,
        queues={"helpdesk": {"strategy": "ringall", "members": ["Local/800@lab/n,2,Dana"]}},
    )
    assert list(pbx.queues) == ["helpdesk"]
    member = pbx.queues["helpdesk"].members[0]
    assert (member.interface, member.penalty, member.name) == ("Local/800@lab/n", 2, "Dana")
    seen = events(pbx)
    dialplan.originate(pbx, "Local/701@lab", application="Wait", data="5", done=lambda *a: None)
    pbx.clock.run_for(60)
    connects = [e for n, e in seen if n == "AgentConnect"]
    assert [(e["Queue"], e["MemberName"]) for e in connects] == [("helpdesk", "Dana")]
    assert pbx.queues["helpdesk"].completed == 1 and not pbx.channels


def test_queue_with_unknown_setting_is_refused():
    """A misspelt queue setting is an error naming it, not a silently ignored key."""
    with pytest.raises(ValueError, match=r"queue 'q': unknown setting\(s\) \['stratgy'\]"):
        PBX(queues={"q": {"stratgy": "ringall"}})


async def test_server_serves_the_configured_pbx():
    """SimulatorServer(endpoints=, queues=, users=) answers from that configuration."""
    async with SimulatorServer(
        endpoints={"300": "Dave"},
        queues={"helpdesk": {"members": [("Local/300@amilab/n", "Dave")]}},
        users={"lab": {"secret": "s3", "read": "all", "write": "system"}},
    ) as server:
        client = await RawClient().connect(server.host, server.port)
        assert (await client.login("lab", "s3")).ok
        endpoints = await client.action("PJSIPShowEndpoints")
        assert [e["ObjectName"] for e in endpoints.events] == ["300"]
        queues = await client.action("QueueStatus")
        assert [e["Queue"] for e in queues.events if e.name == "QueueParams"] == ["helpdesk"]
        denied = await client.action("Originate", Channel="PJSIP/300", Exten="100")
        assert denied.message == "Permission denied"  # write=system only
        await client.close()


def test_conferences_parking_lots_and_mailboxes_are_configurable():
    """Rooms, lots and mailboxes given by argument are in the model, keyed as AMI names them."""
    pbx = PBX(
        conferences=["sales", ConferenceRoom("board", max_members=5)],
        parking_lots=[ParkingLot()],
        mailboxes=["100", "200@office", Mailbox("101", new=2)],
    )
    assert sorted(pbx.conferences) == ["board", "sales"]
    assert pbx.conferences["board"].max_members == 5
    assert (pbx.parking_lots["default"].exten, pbx.parking_lots["default"].timeout) == ("700", 45)
    assert sorted(pbx.mailboxes) == ["100@default", "101@default", "200@office"]
    assert pbx.mailboxes["101@default"].new == 2
    assert not PBX().conferences and not PBX().mailboxes  # the sandbox has none


def test_start_passes_the_configuration_through():
    """amilab.sim.start(...) builds its PBX from the same arguments."""
    with amilab.sim.start(
        endpoints=["300"], dialplan=LAB_DIALPLAN, conferences=["lab"], mailboxes=["300"]
    ) as sim:
        pbx = sim.pbx
        assert list(pbx.endpoints) == ["300"] and "lab" in pbx.dialplan
        assert list(pbx.conferences) == ["lab"] and list(pbx.mailboxes) == ["300@default"]
