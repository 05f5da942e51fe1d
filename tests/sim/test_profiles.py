"""Version profiles: asterisk="22" (PJSIP only, as recorded) and "20" (chan_sip beside PJSIP).

The 22 side is checked against the real recording (sippeers.ami); the 20
side against the shapes of Asterisk 20.20.1's channels/chan_sip.c, cited in
:mod:`amilab.sim.ami.actions.sip`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sim_helpers import RawClient

import amilab
import amilab.sim
from amilab.protocol import ReceiveBuffer
from amilab.sim import PBX, SimulatorServer, VirtualClock
from amilab.sim.ami.actions import CHAN_SIP_ACTIONS
from amilab.sim.profiles import CHAN_SIP_TO_PJSIP, get_profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
CHAN_SIP = ["SIPpeers", "SIPshowpeer", "SIPqualifypeer", "SIPshowregistry", "SIPnotify"]


def recorded_unknown_text(name: str) -> str:
    """Real 22's reply to an unknown action, from sippeers.ami, for action ``name``."""
    messages = ReceiveBuffer(expect_greeting=True).feed((FIXTURES / "sippeers.ami").read_bytes())
    reply = next(m for m in messages if m.action_id == "rec-2")
    assert reply["Response"] == "Error"
    return reply["Message"].replace("SIPPeers", name)


async def logged_in(server: SimulatorServer) -> RawClient:
    client = await RawClient().connect(server.host, server.port)
    assert (await client.login()).ok
    return client


@pytest.mark.parametrize("name", CHAN_SIP)
async def test_22_has_no_chan_sip(name):
    """On the 22 profile every chan_sip action gets real 22's Invalid/unknown command."""
    async with SimulatorServer(asterisk="22") as server:
        client = await logged_in(server)
        assert client.greeting == "Asterisk Call Manager/11.0.0"
        result = await client.action(name, Peer="100", Channel="SIP/100")
        assert result.response["Response"] == "Error"
        assert result.message == recorded_unknown_text(name)
        listed = await client.action("ListCommands")
        assert name not in listed.response and "PJSIPShowEndpoints" in listed.response
        await client.close()


async def test_20_announces_asterisk_20():
    """The 20 profile's greeting, CoreSettings and CLI version say Asterisk 20 / AMI 9.0.0."""
    async with SimulatorServer(asterisk="20") as server:
        client = await logged_in(server)
        assert client.greeting == "Asterisk Call Manager/9.0.0"
        settings = await client.action("CoreSettings")
        assert settings.response["AMIversion"] == "9.0.0"
        assert settings.response["AsteriskVersion"].startswith("20.20.1")
        version = await client.action("Command", Command="core show version")
        assert version.response.getall("Output")[0].startswith("Asterisk 20.20.1")
        endpoints = await client.action("PJSIPShowEndpoints")  # PJSIP is loaded too
        assert [e["ObjectName"] for e in endpoints.events] == ["100", "101", "102", "200"]
        await client.close()


async def test_20_sippeers_shape():
    """SIPpeers: listack, PeerEntry items (ActionID right after Event), PeerlistComplete."""
    async with SimulatorServer(asterisk="20") as server:
        client = await logged_in(server)
        result = await client.action("SIPpeers")
        assert result.response.keys() == ["Response", "ActionID", "EventList", "Message"]
        assert result.message == "Peer status list will follow"
        assert [e["ObjectName"] for e in result.events] == ["100", "101", "102", "200"]
        entry = result.events[0]
        assert entry.keys() == [
            "Event", "ActionID", "Channeltype", "ObjectName", "ChanObjectType", "IPaddress",
            "IPport", "Dynamic", "AutoForcerport", "Forcerport", "AutoComedia", "Comedia",
            "VideoSupport", "TextSupport", "ACL", "Status", "RealtimeDevice", "Description",
            "Accountcode",
        ]  # fmt: skip
        assert (entry["Status"], entry["Description"]) == ("OK (1 ms)", "Alice")
        end = result.list_end
        assert end.name == "PeerlistComplete"
        assert end.keys() == ["Event", "ActionID", "EventList", "ListItems"]
        assert end["ListItems"] == "4"
        await client.close()


async def test_20_sipshowpeer_and_its_errors():
    """SIPshowpeer: Success with the peer's fields and no Message; chan_sip's error texts."""
    async with SimulatorServer(asterisk="20") as server:
        client = await logged_in(server)
        peer = await client.action("SIPshowpeer", Peer="101")
        keys = peer.response.keys()
        assert keys[:5] == ["Response", "ActionID", "Channeltype", "ObjectName", "ChanObjectType"]
        assert "Message" not in keys and keys[-1] == "Description"
        assert peer.response["Callerid"] == '"Bob" <101>'
        assert peer.response["Status"] == "OK (1 ms)"
        missing = await client.action("SIPshowpeer")
        assert missing.message == "Peer: <name> missing."
        unknown = await client.action("SIPshowpeer", Peer="999")
        assert unknown.message == "Peer 999 not found."
        await client.close()


async def test_20_qualify_registry_notify():
    """SIPqualifypeer acks then SIPQualifyPeerDone; SIPshowregistry lists; SIPnotify sends."""
    async with SimulatorServer(asterisk="20") as server:
        client = await logged_in(server)
        qualify = await client.action("SIPqualifypeer", Peer="100")
        assert qualify.message == "SIP peer found - will qualify"
        done = await client.wait_event("SIPQualifyPeerDone")
        assert done.keys() == ["Event", "Privilege", "Peer", "ActionID"]
        assert done["ActionID"] == qualify.response.action_id
        assert (await client.action("SIPqualifypeer", Peer="9")).message == "Peer not found"
        registry = await client.action("SIPshowregistry")
        assert registry.message == "Registrations will follow"
        entry = registry.events[0]
        assert entry.keys()[2:] == [
            "Host", "Port", "Username", "Domain", "DomainPort", "Refresh", "State",
            "RegistrationTime",
        ]  # fmt: skip
        assert entry["State"] == "Registered" and int(entry["RegistrationTime"]) > 0
        assert registry.list_end.name == "RegistrationsComplete"
        notify = await client.action("SIPnotify", Channel="SIP/100", Variable="Event=check-sync")
        assert notify.message == "Notify Sent"
        nochannel = await client.action("SIPnotify")
        assert nochannel.message == "SIPNotify requires a channel name"
        nobody = await client.action("SIPnotify", Channel="SIP/999")
        assert nobody.message == "Could not create address"
        await client.close()


async def test_20_lists_chan_sip_with_its_privileges():
    """ListCommands on 20 lists the chan_sip actions with chan_sip.c's classes."""
    async with SimulatorServer(asterisk="20") as server:
        client = await logged_in(server)
        listed = (await client.action("ListCommands")).response
        assert listed["SIPpeers"] == "List SIP peers (text format).  (Priv: system,reporting,all)"
        assert listed["SIPnotify"] == "Send a SIP notify.  (Priv: system,all)"
        await client.close()


async def test_readonly_user_cannot_sipnotify():
    """SIPnotify needs the system write class, as chan_sip registers it."""
    async with SimulatorServer(asterisk="20") as server:
        client = await RawClient().connect(server.host, server.port)
        assert (await client.login("readonly", "amilab")).ok
        result = await client.action("SIPnotify", Channel="SIP/100")
        assert result.message == "Permission denied"
        await client.close()


def test_start_exposes_profile_and_banner():
    """start(asterisk=...) runs that profile; banner says what is imitated, in one line."""
    with amilab.sim.start(asterisk="20") as sim:
        assert sim.banner == "simulated Asterisk 20.20.1 (chan_sip + PJSIP)"
        assert sim.profile.chan_sip and sim.banner in repr(sim)
    with amilab.sim.start() as sim:
        assert sim.banner == "simulated Asterisk 22.10.1 (PJSIP)" and not sim.profile.chan_sip
    with amilab.sim.start(legacy_sip=True) as sim:  # the older spelling
        assert sim.profile.name == "20"


def test_profile_errors_say_what_to_pass():
    """An unknown version, or chan_sip asked of 22, is refused with what to pass instead."""
    with pytest.raises(
        ValueError, match=re.escape("not '19'; pass asterisk='22' or asterisk='20'")
    ):
        get_profile("19")
    with pytest.raises(ValueError, match="Asterisk 22 does not have; pass asterisk='20' alone"):
        SimulatorServer(asterisk="22", legacy_sip=True)
    with pytest.raises(ValueError, match="Asterisk 22 has no chan_sip"):
        PBX(sip_peers=["100"])
    with pytest.raises(ValueError, match="imitates Asterisk 22, not 20"):
        SimulatorServer(asterisk="20", pbx=PBX(clock=VirtualClock()))


def test_every_chan_sip_action_has_a_pjsip_equivalent():
    """The hint table names a PJSIP action for each chan_sip action the 20 profile answers."""
    assert set(CHAN_SIP_TO_PJSIP) == set(CHAN_SIP_ACTIONS)
    assert all(name.startswith("PJSIP") for name in CHAN_SIP_TO_PJSIP.values())


def test_sippeers_as_a_dataframe_through_a_session():
    """What %ami SIPPeers will show: on the 20 profile a DataFrame of peers, one per row."""
    with amilab.sim.start(asterisk="20") as sim, amilab.connect(sim) as session:
        df = session.action("SIPPeers").df  # action names are case-insensitive, as in manager.c
        assert list(df["ObjectName"]) == ["100", "101", "102", "200"]
        assert list(df["Status"].unique()) == ["OK (1 ms)"]
