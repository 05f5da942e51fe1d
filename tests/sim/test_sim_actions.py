"""Each action's reply shape, as Asterisk 22 sends it (header names and order)."""

from __future__ import annotations

import pytest
from sim_helpers import RawClient

from amilab.sim import SimulatorServer


async def live_call(vserver, admin, exten: str = "102") -> str:
    """Originate Local/<exten>@amilab running Wait(30); return the ;1 channel name."""
    await admin.action("Originate", Channel=f"Local/{exten}@amilab", Application="Wait", Data="30")
    vserver.pbx.clock.run_for(0.1)
    return next(n for n in vserver.pbx.channels if n.endswith(";1"))


async def test_ping_shape(admin):
    """Ping: Response, ActionID, Ping: Pong, Timestamp."""
    result = await admin.action("Ping")
    assert result.response.keys() == ["Response", "ActionID", "Ping", "Timestamp"]


async def test_command_uptime_output_lines(admin):
    """Command answers 'Command output follows' with one Output header per line."""
    result = await admin.action("Command", Command="core show uptime")
    assert result.message == "Command output follows"
    lines = result.response.getall("Output")
    assert lines[0].startswith("System uptime: ") and lines[1].startswith("Last reload: ")


@pytest.mark.parametrize(
    "command, needle",
    [
        ("core show channels", "active channels"),
        ("core show version", "Asterisk 22"),
        ("pjsip show endpoints", "Objects found: 4"),
        ("manager show command Originate", "[Syntax]"),
    ],
)
async def test_cli_commands(admin, command, needle):
    """The supported CLI commands print their Asterisk-style output."""
    result = await admin.action("Command", Command=command)
    assert result.ok and needle in result.output


async def test_unknown_cli_command(admin):
    """An unknown CLI command is Response: Error with Asterisk's 'No such command' line."""
    result = await admin.action("Command", Command="no such cli command")
    assert result.response["Response"] == "Error"
    assert result.response.getall("Output") == [
        "No such command 'no such cli command' (type 'core show help no such' for other "
        "possible commands)"
    ]


async def test_listcommands(admin):
    """ListCommands lists 'Name: synopsis  (Priv: classes)' for each action."""
    result = await admin.action("ListCommands")
    assert result.response["Originate"] == "Originate a call.  (Priv: originate,all)"
    assert result.response["Ping"].endswith("(Priv: <none>)")
    assert "SIPpeers" not in result.response


async def test_coresettings_and_corestatus(admin):
    """CoreSettings and CoreStatus carry Asterisk 22's headers in order."""
    settings = await admin.action("CoreSettings")
    assert settings.response.keys()[2:5] == ["AMIversion", "AsteriskVersion", "SystemName"]
    status = await admin.action("CoreStatus")
    assert status.response.keys()[2:] == [
        "CoreStartupDate",
        "CoreStartupTime",
        "CoreReloadDate",
        "CoreReloadTime",
        "CoreCurrentCalls",
        "CoreProcessedCalls",
    ]


async def test_coreshowchannels_eventlist_framing(vserver, admin):
    """CoreShowChannels: EventList start, one item per channel, Complete with ListItems."""
    empty = await admin.action("CoreShowChannels")
    assert empty.response.keys() == ["Response", "ActionID", "EventList", "Message"]
    assert empty.list_end is not None and empty.list_end["ListItems"] == "0"
    await live_call(vserver, admin)
    full = await admin.action("CoreShowChannels")
    assert len(full.events) == 2
    item = full.events[0]
    assert item.keys()[:3] == ["Event", "ActionID", "Channel"]
    assert item.keys()[-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]
    assert full.list_end["ListItems"] == "2"


async def test_pjsip_endpoints_and_endpoint(admin):
    """PJSIPShowEndpoints lists EndpointList items; PJSIPShowEndpoint gives 4 detail events."""
    result = await admin.action("PJSIPShowEndpoints")
    assert [e["ObjectName"] for e in result.events] == ["100", "101", "102", "200"]
    detail = await admin.action("PJSIPShowEndpoint", Endpoint="100")
    names = [e.name for e in detail.events]
    assert names == ["EndpointDetail", "AuthDetail", "TransportDetail", "AorDetail"]
    assert detail.events[0]["Callerid"] == '"Alice" <100>'


async def test_status_all_one_and_missing(vserver, admin):
    """Status lists channels (ActionID last, Privilege: Call); a missing one is an error."""
    name = await live_call(vserver, admin)
    everything = await admin.action("Status")
    assert len(everything.events) == 2
    first = everything.events[0]
    assert first.keys()[1] == "Privilege" and first["Privilege"] == "Call"
    assert first.keys()[-1] == "ActionID"
    assert everything.list_end.keys()[-2:] == ["ListItems", "Items"]
    one = await admin.action("Status", Channel=name)
    assert [e["Channel"] for e in one.events] == [name]
    missing = await admin.action("Status", Channel="PJSIP/nope-00000000")
    assert missing.message == "No such channel"


async def test_getvar_setvar_global_and_channel(vserver, admin):
    """Setvar/Getvar on globals and channels; unset is an empty Value; functions work."""
    assert (await admin.action("Setvar", Variable="G", Value="42")).message == "Variable Set"
    got = await admin.action("Getvar", Variable="G")
    assert got.response.items()[2:] == [("Variable", "G"), ("Value", "42")]
    assert (await admin.action("Getvar", Variable="AMILAB_GLOBAL")).response["Value"] == "hello"
    assert (await admin.action("Getvar", Variable="UNSET")).response["Value"] == ""
    name = await live_call(vserver, admin)
    await admin.action("Setvar", Channel=name, Variable="C", Value="chan value")
    assert (await admin.action("Getvar", Channel=name, Variable="C")).response["Value"] == (
        "chan value"
    )
    assert (await admin.action("Getvar", Channel=name, Variable="CHANNEL")).response["Value"] == (
        name
    )
    missing = await admin.action("Getvar", Channel="Local/nope@x-1;1", Variable="X")
    assert missing.message == "No such channel"
    varset = await admin.wait_event("VarSet", Variable="G")
    assert varset["Channel"] == "none" and varset["Uniqueid"] == "none"


async def test_astdb_put_get_del(admin):
    """DBPut/DBGet/DBDel with Asterisk 22's messages; DBGet of a missing key is not a list."""
    put = await admin.action("DBPut", Family="amilab", Key="k1", Val="v1")
    assert put.message == "Updated database successfully"
    got = await admin.action("DBGet", Family="amilab", Key="k1")
    assert got.events[0].items()[1:] == [
        ("Family", "amilab"),
        ("Key", "k1"),
        ("Val", "v1"),
        ("ActionID", got.response.action_id),
    ]
    assert (await admin.action("DBDel", Family="amilab", Key="k1")).message == (
        "Key deleted successfully"
    )
    missing = await admin.action("DBGet", Family="amilab", Key="k1")
    assert missing.message == "Database entry not found" and len(missing) == 1
    gone = await admin.action("DBDel", Family="amilab", Key="k1")
    assert gone.message == "Database entry could not be deleted"


async def test_queue_status_summary_add_remove(admin):
    """QueueStatus/QueueSummary lists, QueueAdd/QueueRemove with their events and errors."""
    status = await admin.action("QueueStatus")
    assert [e.name for e in status.events] == [
        "QueueParams",
        "QueueMember",
        "QueueMember",
        "QueueParams",
    ]
    summary = await admin.action("QueueSummary")
    assert summary.events[0]["LoggedIn"] == "2"
    added = await admin.action(
        "QueueAdd", Queue="support", Interface="Local/402@amilab/n", MemberName="Agent 402"
    )
    assert added.message == "Added interface to queue"
    await admin.wait_event("QueueMemberAdded", Interface="Local/402@amilab/n")
    again = await admin.action("QueueAdd", Queue="support", Interface="Local/402@amilab/n")
    assert again.message == "Unable to add interface: Already there"
    removed = await admin.action("QueueRemove", Queue="support", Interface="Local/402@amilab/n")
    assert removed.message == "Removed interface from queue"
    missing = await admin.action("QueueRemove", Queue="support", Interface="Local/402@amilab/n")
    assert missing.message == "Unable to remove interface: Not there"


async def test_userevent_keeps_the_clients_header_order(admin):
    """UserEvent first, then the other headers as sent, ActionID where it was (breadth.json)."""
    await admin.send_raw(
        b"Action: UserEvent\r\nHeader1: value one\r\nActionID: ue-1\r\n"
        b"UserEvent: AmilabTest\r\nAlpha: 2\r\n\r\n"
    )
    event = await admin.wait_event("UserEvent")
    assert event.items()[1:] == [
        ("Privilege", "user,all"),
        ("UserEvent", "AmilabTest"),
        ("Header1", "value one"),
        ("ActionID", "ue-1"),
        ("Alpha", "2"),
    ]


async def test_sippeers_unknown_by_default(admin):
    """SIPpeers is unknown, as in real Asterisk 22 (chan_sip was removed in 21)."""
    result = await admin.action("SIPpeers")
    assert result.message.startswith("Invalid/unknown command: SIPpeers.")


async def test_sippeers_in_legacy_mode():
    """legacy_sip=True (older spelling of asterisk="20") answers SIPpeers and SIPshowpeer."""
    async with SimulatorServer(legacy_sip=True) as srv:
        client = await RawClient().connect(srv.host, srv.port)
        await client.login()
        peers = await client.action("SIPpeers")
        assert [e["ObjectName"] for e in peers.events] == ["100", "101", "102", "200"]
        assert peers.list_end.name == "PeerlistComplete"
        peer = await client.action("SIPshowpeer", Peer="100")
        assert peer.response["Callerid"] == '"Alice" <100>'
        await client.close()
