"""The AMI layer without sockets: handlers return what to send, sessions keep their state."""

from __future__ import annotations

from amilab.protocol import Message, ReceiveBuffer, ServerProtocol
from amilab.sim import PBX, VirtualClock
from amilab.sim.ami import ActionContext, AMISession, action_table, dispatch, make_users
from amilab.sim.server import DEFAULT_USERS

USERS = make_users(DEFAULT_USERS)


def context(pbx: PBX, chan_sip: bool = False) -> ActionContext:
    session = AMISession("0x1", pbx.clock.now())
    return ActionContext(pbx, session, USERS, "11.0.0", action_table(chan_sip))


def action(name: str, **headers: str) -> Message:
    data = f"Action: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return ServerProtocol().receive_data((data + "\r\n").encode())[0]


def names(steps: list) -> list[str]:
    """Bytes steps as message names (``Response:<kind>`` for responses), callables as '()'."""
    out = []
    framer = ReceiveBuffer(expect_greeting=False)
    for step in steps:
        if not isinstance(step, bytes):
            out.append("()")
            continue
        for m in framer.feed(step):
            out.append(f"Response:{m['Response']}" if m.kind == "response" else m.name or "")
    return out


async def test_login_returns_response_then_fullybooted_then_a_security_change():
    """Login: the reply is data (response, FullyBooted) plus the SuccessfulAuth emission."""
    pbx = PBX(clock=VirtualClock())
    ctx = context(pbx)
    emitted: list[str] = []
    pbx.listeners.append(lambda name, cat, data: emitted.append(name))
    steps = await dispatch(ctx, action("Login", Username="admin", Secret="amilab", Events="call"))
    assert names(steps) == ["Response:Success", "()"]  # Events: call -> no FullyBooted
    assert ctx.session.user is not None and ctx.session.event_mask == {"call"}
    assert emitted == []  # nothing happens until the caller runs the steps
    steps[-1]()
    assert emitted == ["SuccessfulAuth"]


async def test_logoff_ends_the_session_only_when_its_steps_run():
    """Logoff answers Goodbye; the session ends through a step, after the reply is queued."""
    ctx = context(PBX(clock=VirtualClock()))
    steps = await dispatch(ctx, action("Logoff"))
    assert names(steps) == ["Response:Goodbye", "()"] and not ctx.session.ending
    steps[-1]()
    assert ctx.session.ending


async def test_hangup_reply_comes_before_the_events():
    """Hangup: the Success response is the first step, the hang-up (and its events) the next."""
    pbx = PBX(clock=VirtualClock())
    ctx = context(pbx)
    ctx.session.log_in(USERS["admin"], None)
    for step in await dispatch(ctx, action("Originate", Channel="Local/102@amilab", Exten="100")):
        if not isinstance(step, bytes):
            step()
    pbx.clock.run_for(0.5)
    name = next(n for n in pbx.channels if n.endswith(";1"))
    steps = await dispatch(ctx, action("Hangup", Channel=name))
    assert names(steps) == ["Response:Success", "()"] and name in pbx.channels
    steps[1]()
    assert name not in pbx.channels


async def test_unknown_and_denied_actions_raise_security_events_in_one_place():
    """Unknown action -> RequestBadFormat; missing write class -> RequestNotAllowed."""
    pbx = PBX(clock=VirtualClock())
    emitted: list[str] = []
    pbx.listeners.append(lambda name, cat, data: emitted.append(f"{cat}:{name}"))
    ctx = context(pbx)
    ctx.session.log_in(USERS["readonly"], None)
    for request in (action("NoSuchThing"), action("Originate", Channel="PJSIP/100")):
        for step in await dispatch(ctx, request):
            if not isinstance(step, bytes):
                step()
    assert emitted == ["security:RequestBadFormat", "security:RequestNotAllowed"]


def test_session_filters_and_mask():
    """wants(): read classes, then the Events mask, then allow/deny Filter regexes."""
    session = AMISession("0x2", 0.0)
    assert not session.wants("call", b"Event: Newchannel\r\n")  # not logged in
    session.log_in(USERS["admin"], None)
    assert session.add_filter("Event: Newchannel") and session.add_filter("!Channel: Local/")
    assert not session.add_filter("(unclosed")
    assert session.wants("call", b"Event: Newchannel\r\nChannel: PJSIP/100\r\n")
    assert not session.wants("call", b"Event: Newchannel\r\nChannel: Local/1@a;1\r\n")
    assert not session.wants("call", b"Event: Hangup\r\n")
    assert not session.set_events("off") and not session.wants("call", b"Event: Newchannel\r\n")
