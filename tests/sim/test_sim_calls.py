"""Call event sequences on a virtual clock: originate, dial, hangup, redirect, queue."""

from __future__ import annotations

from amilab.sim import PBX, VirtualClock
from amilab.sim import dialplan as sim_calls
from amilab.sim.model import snapshot

CHANNEL_KEYS = [
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
]


def collect(pbx: PBX) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    pbx.listeners.append(lambda name, cat, data: out.append((name, data)))
    return out


async def test_async_originate_local_sequence(vserver, admin):
    """Async Originate Local/100: queued response, then the 22 event order and OriginateResponse."""
    result = await admin.action(
        "Originate", Channel="Local/100@amilab", Application="Wait", Data="1", Async="true"
    )
    assert result.message == "Originate successfully queued"
    vserver.pbx.clock.run_for(10)
    await admin.wait_event("Hangup", Channel="Local/100@amilab-00000000;2")
    names = [n for n in admin.names() if n not in ("FullyBooted", "SuccessfulAuth")]
    assert names[:5] == ["Newchannel", "Newchannel", "Newexten", "LocalBridge", "DialBegin"]
    assert names.index("DialEnd") < names.index("OriginateResponse")
    assert names[-1] in ("Hangup", "DeviceStateChange")
    response = await admin.wait_event("OriginateResponse")
    assert response.keys()[:4] == ["Event", "Privilege", "ActionID", "Response"]
    assert response["ActionID"] == result.response.action_id
    assert response["Response"] == "Success" and response["Reason"] == "4"
    first = await admin.wait_event("Newchannel")
    assert first.keys()[2:] == CHANNEL_KEYS
    assert first["Channel"] == "Local/100@amilab-00000000;1"
    second = [e for e in admin.events if e.name == "Newchannel"][1]
    assert second["Linkedid"] == first["Uniqueid"]
    assert second["Uniqueid"] == first["Uniqueid"].rsplit(".", 1)[0] + ".1"
    assert not vserver.pbx.channels


async def test_originate_to_unregistered_pjsip_fails(vserver, admin):
    """Async Originate to an unknown/unregistered PJSIP endpoint: Failure, Reason 0."""
    vserver.pbx.endpoints["101"].registered = False
    result = await admin.action(
        "Originate", Channel="PJSIP/101", Exten="100", Context="amilab", Priority="1", Async="true"
    )
    assert result.ok
    failed = await admin.wait_event("OriginateResponse")
    assert failed["Response"] == "Failure" and failed["Reason"] == "0"
    assert failed["Uniqueid"] == "<unknown>"


async def test_sync_originate_pjsip_waits_for_answer(vserver, admin):
    """Sync Originate to a PJSIP phone answers once the phone picks up."""
    import asyncio

    task = asyncio.create_task(
        admin.action("Originate", Channel="PJSIP/100", Application="Wait", Data="2")
    )
    await asyncio.sleep(0.05)
    assert not task.done()
    vserver.pbx.clock.run_for(1.5)
    result = await task
    assert result.message == "Originate successfully queued"


async def test_sync_originate_busy_fails(vserver, admin):
    """A busy phone makes a sync Originate fail with 'Originate failed'."""
    import asyncio

    vserver.pbx.fates["101"] = "busy:0.5"
    task = asyncio.create_task(admin.action("Originate", Channel="PJSIP/101", Application="Wait"))
    await asyncio.sleep(0.05)
    vserver.pbx.clock.run_for(1)
    result = await task
    assert result.message == "Originate failed"
    hangup = await admin.wait_event("Hangup")
    assert hangup["Cause"] == "17" and hangup["Cause-txt"] == "User busy"


async def test_dial_to_local_bridges_and_tears_down():
    """Local/200 dials Local/100: DialBegin/End, BridgeCreate/Enter/Leave/Destroy, all hung up."""
    pbx = PBX(clock=VirtualClock(), seed=3)
    events = collect(pbx)
    sim_calls.originate(
        pbx, "Local/200@amilab", context="amilab", exten="100", done=lambda *a: None
    )
    pbx.clock.run_for(30)
    names = [n for n, _ in events]
    for name in (
        "DialBegin",
        "DialEnd",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "SoftHangupRequest",
        "HangupRequest",
    ):
        assert name in names, name
    assert names.index("BridgeCreate") < names.index("BridgeEnter") < names.index("BridgeLeave")
    assert names.count("BridgeEnter") == names.count("BridgeLeave") == 2
    assert names.count("Newchannel") == names.count("Hangup") == 4
    assert not pbx.channels and not pbx.bridges


async def test_hangup_action(vserver, admin):
    """Hangup of a live channel says 'Channel Hungup' and emits Hangup; a missing one errors."""
    await admin.action("Originate", Channel="Local/102@amilab", Application="Wait", Data="30")
    vserver.pbx.clock.run_for(0.1)
    name = next(n for n in vserver.pbx.channels if n.endswith(";1"))
    result = await admin.action("Hangup", Channel=name, Cause="16")
    assert result.message == "Channel Hungup"
    await admin.wait_event("Hangup", Channel=name)
    assert not vserver.pbx.channels
    missing = await admin.action("Hangup", Channel="Local/nope@amilab-00000000;1")
    assert missing.message == "No such channel"


async def test_redirect_runs_the_new_extension(vserver, admin):
    """Redirect moves a live channel to amilab,500,1, which then runs its dialplan."""
    await admin.action("Originate", Channel="Local/102@amilab", Application="Wait", Data="30")
    vserver.pbx.clock.run_for(0.1)
    name = next(n for n in vserver.pbx.channels if n.endswith(";2"))
    result = await admin.action(
        "Redirect", Channel=name, Context="amilab", Exten="500", Priority="1"
    )
    assert result.message == "Redirect successful"
    await admin.wait_event("Newexten", Channel=name, Exten="500")


async def test_queue_call_join_and_leave():
    """A call into the queue emits QueueCallerJoin then QueueCallerLeave and is bridged."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    events = collect(pbx)
    sim_calls.originate(pbx, "Local/300@amilab", application="Wait", data="6", done=lambda *a: None)
    pbx.clock.run_for(60)
    names = [n for n, _ in events]
    assert names.index("QueueCallerJoin") < names.index("QueueCallerLeave")
    assert "BridgeEnter" in names
    assert pbx.queues["support"].completed == 1
    assert not pbx.channels


def test_snapshot_header_order():
    """Channel snapshots list the 14 headers in Asterisk 22's order, with a prefix if asked."""
    pbx = PBX(clock=VirtualClock())
    channel = pbx.new_channel("PJSIP/100-00000000", emit=False)
    assert [k for k, _ in snapshot(channel)] == CHANNEL_KEYS
    assert [k for k, _ in snapshot(channel, "Dest")] == ["Dest" + k for k in CHANNEL_KEYS]


def test_queue_member_freed_when_caller_hangs_up_first():
    """A queue member is free again when the caller ends the call mid-talk; Reason is caller."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    events = collect(pbx)
    sim_calls.originate(pbx, "Local/300@amilab", application="Wait", data="1", done=lambda *a: None)
    pbx.clock.run_for(0.5)
    assert any(m.in_call for m in pbx.queues["support"].members)
    pbx.clock.run_for(1.0)
    assert not pbx.channels
    assert not any(m.in_call for m in pbx.queues["support"].members)
    complete = [data for name, data in events if name == "AgentComplete"]
    assert len(complete) == 1 and b"Reason: caller\r\n" in complete[0]


def test_queue_caller_waits_for_a_busy_member():
    """With every member busy a second caller waits, then is rung when one is free again."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    events = collect(pbx)
    for _ in range(3):
        sim_calls.originate(
            pbx, "Local/300@amilab", application="Wait", data="6", done=lambda *a: None
        )
    pbx.clock.run_for(0.5)
    assert all(m.in_call for m in pbx.queues["support"].members)
    assert len(pbx.queues["support"].callers) == 1
    pbx.clock.run_for(20)
    names = [n for n, _ in events]
    assert names.count("AgentConnect") == 3 and names.count("AgentComplete") == 3
    assert not pbx.channels and not pbx.queues["support"].callers


def test_queue_times_out_without_members():
    """No member to ring: after Queue()'s timeout the caller leaves and the dialplan goes on."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    pbx.queues["support"].members.clear()
    events = collect(pbx)
    sim_calls.originate(
        pbx, "Local/300@amilab", application="Wait", data="30", done=lambda *a: None
    )
    pbx.clock.run_for(9.5)
    assert "QueueCallerLeave" not in [n for n, _ in events]
    pbx.clock.run_for(1.0)
    names = [n for n, _ in events]
    assert names.index("MusicOnHoldStop") < names.index("QueueCallerLeave")
    assert not pbx.channels  # the dialplan's Hangup() after Queue()
