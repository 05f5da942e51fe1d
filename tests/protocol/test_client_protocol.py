"""ClientProtocol: ActionIDs, response and EventList correlation, strays and lifecycle."""

from __future__ import annotations

import random

import pytest
from protocol_helpers import logged_in_client, reply_to

from amilab.errors import ActionError, AuthenticationError, ProtocolError
from amilab.protocol.client import (
    ClientProtocol,
    Completed,
    Greeting,
    LoggedIn,
    LoginFailed,
    Stray,
)
from amilab.protocol.login import Credentials, challenge_key
from amilab.protocol.message import Message
from amilab.protocol.serialize import Action
from amilab.protocol.state import ConnState

GREETING = b"Asterisk Call Manager/11.0.0\r\n"


def block(*pairs: tuple[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def response(aid: str, status: str = "Success", *extra: tuple[str, str]) -> bytes:
    return block(("Response", status), ("ActionID", aid), *extra)


def event(name: str, aid: str | None = None, *extra: tuple[str, str]) -> bytes:
    head = [("Event", name)] + ([("ActionID", aid)] if aid else [])
    return block(*head, *extra)


def list_start(aid: str) -> bytes:
    return response(aid, "Success", ("EventList", "start"), ("Message", "Channels will follow"))


def list_end(name: str, aid: str, n: int, marker: str = "Complete") -> bytes:
    return event(name, aid, ("EventList", marker), ("ListItems", str(n)))


def ready_client(**options: object) -> ClientProtocol:
    return logged_in_client(id_prefix="t-", **options)


def completions(out: list[object]) -> dict[str, Completed]:
    return {c.action_id: c for c in out if isinstance(c, Completed)}


def plain_events(out: list[object]) -> list[Message]:
    return [m for m in out if isinstance(m, Message)]


# -- greeting and ActionIDs -------------------------------------------------------
def test_greeting_reported_once_with_version() -> None:
    """The greeting comes out once, with the version after the slash, and moves to CONNECTED."""
    proto = ClientProtocol()
    assert proto.receive_data(GREETING[:10]) == []
    out = proto.receive_data(GREETING[10:] + event("FullyBooted"))
    assert out[0] == Greeting("Asterisk Call Manager/11.0.0", "11.0.0")
    assert isinstance(out[1], Message) and out[1].name == "FullyBooted"
    assert proto.state is ConnState.CONNECTED
    assert not any(isinstance(x, Greeting) for x in proto.receive_data(event("X")))


def test_action_ids_assigned_and_unique() -> None:
    """send assigns a distinct ActionID to each action and writes it on the wire."""
    proto = ready_client()
    ids = []
    for _ in range(50):
        aid, data = proto.send(Action("Ping"))
        assert data.startswith(b"Action: Ping\r\nActionID: " + aid.encode() + b"\r\n")
        ids.append(aid)
    assert len(set(ids)) == 50
    assert set(proto.pending) == set(ids)


def test_default_prefixes_differ_between_instances() -> None:
    """Two protocols without id_prefix generate different ActionIDs."""
    assert ClientProtocol().next_action_id() != ClientProtocol().next_action_id()


def test_caller_action_id_kept_and_duplicate_pending_refused() -> None:
    """A caller-given ActionID is used as is; reusing a pending one raises ValueError."""
    proto = ready_client()
    aid, data = proto.send(Action("Ping", ActionID="mine"))
    assert aid == "mine" and b"ActionID: mine\r\n" in data
    with pytest.raises(ValueError, match="mine"):
        proto.send(Action("Ping", ActionID="mine"))
    proto.receive_data(response("mine"))
    assert proto.send(Action("Ping", ActionID="mine"))[0] == "mine"


# -- completion -------------------------------------------------------------------
def test_plain_response_completes_at_once() -> None:
    """A response without EventList completes its action immediately."""
    proto = ready_client()
    aid, _ = proto.send(Action("Ping"))
    (done,) = proto.receive_data(response(aid, "Success", ("Ping", "Pong")))
    assert isinstance(done, Completed) and done.action_id == aid
    assert done.result.complete and done.result.response["Ping"] == "Pong"
    assert done.result.action.name == "Ping"
    assert aid not in proto.pending


def test_event_list_collects_only_its_events() -> None:
    """EventList start...Complete collects its own events; others pass through in order."""
    proto = ready_client()
    aid, _ = proto.send(Action("CoreShowChannels"))
    stream = (
        list_start(aid)
        + event("Newchannel", None, ("Channel", "PJSIP/9"))
        + event("CoreShowChannel", aid, ("Channel", "PJSIP/1"))
        + event("VarSet", "other-id")
        + event("CoreShowChannel", aid, ("Channel", "PJSIP/2"))
        + list_end("CoreShowChannelsComplete", aid, 2)
        + event("Hangup")
    )
    out = proto.receive_data(stream)
    assert [type(x).__name__ for x in out] == ["Message", "Message", "Completed", "Message"]
    assert [m.name for m in plain_events(out)] == ["Newchannel", "VarSet", "Hangup"]
    result = completions(out)[aid].result
    assert [e["Channel"] for e in result.events] == ["PJSIP/1", "PJSIP/2"]
    assert result.list_end is not None and result.list_end["ListItems"] == "2"


def test_three_interleaved_lists_each_get_their_own() -> None:
    """Three list actions interleaved message by message each get exactly their events, in order."""
    proto = ready_client()
    ids = [proto.send(Action("QueueStatus"))[0] for _ in range(3)]
    per_id = {aid: [list_start(aid)] for aid in ids}
    for i in range(5):
        for aid in ids:
            per_id[aid].append(event("QueueMember", aid, ("Seq", str(i)), ("Owner", aid)))
    for aid in ids:
        per_id[aid].append(list_end("QueueStatusComplete", aid, 5))
    rng = random.Random(7)
    order: list[bytes] = []
    queues = {aid: list(msgs) for aid, msgs in per_id.items()}
    while any(queues.values()):
        aid = rng.choice([a for a in ids if queues[a]])
        order.append(queues[aid].pop(0))
        order.append(event("Newexten"))  # unrelated traffic between every message
    out: list[object] = []
    for data in order:
        out.extend(proto.receive_data(data))
    done = completions(out)
    assert set(done) == set(ids)
    for aid in ids:
        events = done[aid].result.events
        assert [e["Seq"] for e in events] == ["0", "1", "2", "3", "4"]
        assert {e["Owner"] for e in events} == {aid}
    assert [m.name for m in plain_events(out)] == ["Newexten"] * (len(order) // 2)
    assert proto.pending == {}


def test_event_list_cancelled_completes() -> None:
    """EventList: Cancelled ends the list like Complete."""
    proto = ready_client()
    aid, _ = proto.send(Action("Status"))
    out = proto.receive_data(
        list_start(aid) + event("Status", aid) + list_end("StatusComplete", aid, 1, "Cancelled")
    )
    result = completions(out)[aid].result
    assert len(result.events) == 1 and result.list_end is not None


def test_old_style_will_follow_list() -> None:
    """Before AMI 2.7.0, "... will follow" lists end at the ...Complete event."""
    proto = ClientProtocol(id_prefix="t-", raw=True)
    proto.receive_data(b"Asterisk Call Manager/2.5.0\r\n")  # Asterisk 12: Status had no EventList
    aid, _ = proto.send(Action("Status"))
    out = proto.receive_data(response(aid, "Success", ("Message", "Channel status will follow")))
    assert out == []
    out = proto.receive_data(event("Status", aid, ("Channel", "SIP/1")))
    assert out == []
    out = proto.receive_data(event("StatusComplete", aid, ("Items", "1")))
    result = completions(out)[aid].result
    assert [e["Channel"] for e in result.events] == ["SIP/1"]
    assert result.list_end is not None and result.list_end.name == "StatusComplete"


def test_event_after_completion_is_an_event() -> None:
    """OriginateResponse carrying a completed action's ActionID comes out as an event."""
    proto = ready_client()
    aid, _ = proto.send(Action("Originate", Channel="Local/100@default", Async=True))
    out = proto.receive_data(
        response(aid, "Success", ("Message", "Originate successfully queued"))
        + event("OriginateResponse", aid, ("Response", "Success"))
    )
    assert isinstance(out[0], Completed) and len(out[0].result) == 1
    assert isinstance(out[1], Message) and out[1].name == "OriginateResponse"
    assert proto.stray_responses == 0


def test_user_event_before_and_after_its_response() -> None:
    """A UserEvent with the action's ActionID before or after its response is an event."""
    proto = ready_client()
    aid, _ = proto.send(Action("UserEvent", UserEvent="Hello"))
    out = proto.receive_data(
        event("UserEvent", aid, ("UserEvent", "Hello"))
        + response(aid)
        + event("UserEvent", aid, ("UserEvent", "Hello"))
    )
    assert [type(x).__name__ for x in out] == ["Message", "Completed", "Message"]
    assert len(completions(out)[aid].result) == 1


def test_late_response_after_cancel_is_stray_not_lost() -> None:
    """A response arriving after cancel() is counted and returned as a Stray, not an event."""
    proto = ready_client()
    aid, _ = proto.send(Action("Ping"))
    proto.cancel(aid)
    out = proto.receive_data(response(aid))
    assert len(out) == 1 and isinstance(out[0], Stray) and out[0].message.action_id == aid
    assert proto.stray_responses == 1


def test_late_response_with_other_pending_is_stray() -> None:
    """A stray response is counted while other actions are still pending."""
    proto = ready_client()
    aid, _ = proto.send(Action("Ping"))
    proto.send(Action("Ping"))
    proto.cancel(aid)
    out = proto.receive_data(response(aid) + event("Hangup"))
    assert [m.name for m in plain_events(out)] == ["Hangup"]
    assert [s.message.name for s in out if isinstance(s, Stray)] == ["Success"]
    assert proto.stray_responses == 1


def test_events_are_not_strays() -> None:
    """Events without a pending action are never counted as stray responses."""
    proto = ready_client()
    proto.receive_data(event("Hangup", "x") + event("OriginateResponse", "y", ("Response", "x")))
    proto.send(Action("Ping"))
    proto.receive_data(event("Hangup", "x") + event("OriginateResponse", "y", ("Response", "x")))
    assert proto.stray_responses == 0


def test_chunked_stream_gives_same_outcome() -> None:
    """Correlation does not depend on how the bytes are chunked."""
    proto = ready_client()
    aid, _ = proto.send(Action("CoreShowChannels"))
    data = (
        list_start(aid)
        + event("CoreShowChannel", aid, ("Channel", "Zoë"))
        + event("Hangup")
        + list_end("CoreShowChannelsComplete", aid, 1)
    )
    out: list[object] = []
    for i in range(len(data)):
        out.extend(proto.receive_data(data[i : i + 1]))
    assert [e["Channel"] for e in completions(out)[aid].result.events] == ["Zoë"]
    assert [m.name for m in plain_events(out)] == ["Hangup"]


# -- lifecycle --------------------------------------------------------------------
def test_eof_returns_pending_and_closes() -> None:
    """receive_eof returns the pending ActionIDs, clears them and moves to CLOSED."""
    proto = ready_client()
    ids = [proto.send(Action("Ping"))[0] for _ in range(3)]
    assert proto.receive_eof() == ids
    assert proto.pending == {}
    assert proto.state is ConnState.CLOSED


def test_send_after_close_raises() -> None:
    """Sending after EOF raises ProtocolError naming the closed state."""
    proto = ready_client()
    proto.receive_eof()
    with pytest.raises(ProtocolError, match="closed"):
        proto.send(Action("Ping"))


def test_protocol_error_moves_to_error_and_sticks() -> None:
    """Bad bytes raise ProtocolError, move to ERROR, and later feeds raise the same error."""
    proto = ClientProtocol()
    with pytest.raises(ProtocolError) as first:
        proto.receive_data(b"SSH-2.0-OpenSSH_9.6\r\n")
    assert proto.state is ConnState.ERROR
    with pytest.raises(ProtocolError) as again:
        proto.receive_data(GREETING)
    assert again.value is first.value
    assert proto.state is ConnState.ERROR
    with pytest.raises(ProtocolError):
        proto.send(Action("Ping"))


def test_oversized_message_moves_to_error() -> None:
    """A message over max_message_size moves a ready client to ERROR."""
    proto = ready_client(max_message_size=200)
    with pytest.raises(ProtocolError):
        proto.receive_data(event("Big", None, ("Data", "x" * 300)))
    assert proto.state is ConnState.ERROR


def test_fail_all_drops_pending() -> None:
    """fail_all returns and forgets every pending ActionID without closing."""
    proto = ready_client()
    aid, _ = proto.send(Action("Ping"))
    assert proto.fail_all() == [aid]
    assert proto.pending == {} and proto.state is ConnState.READY


def test_list_end_text_inside_a_value_does_not_end_the_list() -> None:
    """A list item whose value reads 'EventList: Complete' (a caller's name) stays an item."""
    proto = ready_client()
    aid, _ = proto.send(Action("CoreShowChannels"))
    stream = (
        list_start(aid)
        + event("CoreShowChannel", aid, ("CallerIDName", "EventList: Complete"))
        + event("CoreShowChannel", aid, ("CallerIDName", "x EventList: Cancelled"))
        + list_end("CoreShowChannelsComplete", aid, 2)
    )
    (done,) = completions(proto.receive_data(stream)).values()
    assert [m["CallerIDName"] for m in done.result.events] == [
        "EventList: Complete",
        "x EventList: Cancelled",
    ]
    assert done.result.list_end is not None and done.result.list_end["ListItems"] == "2"


def test_abandoned_caller_action_id_not_reused_until_its_answer_arrives() -> None:
    """A timed-out caller ActionID is refused until its late answer arrives (as a stray)."""
    proto = ready_client()
    proto.send(Action("Ping", ActionID="mine"))
    proto.cancel("mine")
    with pytest.raises(ValueError, match="mine"):
        proto.send(Action("Ping", ActionID="mine"))
    out = proto.receive_data(response("mine", "Success", ("Ping", "Pong")))
    assert not completions(out) and proto.stray_responses == 1
    aid, _ = proto.send(Action("Ping", ActionID="mine"))
    (done,) = proto.receive_data(response("mine", "Success", ("Ping", "Pong")))
    assert isinstance(done, Completed) and done.action_id == aid == "mine"


def test_abandoned_list_action_id_freed_at_its_list_end() -> None:
    """An abandoned caller-ID list action's late items are strays; the ID frees at the end."""
    proto = ready_client()
    proto.send(Action("CoreShowChannels", ActionID="L"))
    proto.cancel("L")
    proto.receive_data(list_start("L") + event("CoreShowChannel", "L"))
    with pytest.raises(ValueError, match="'L'"):
        proto.send(Action("CoreShowChannels", ActionID="L"))
    proto.receive_data(list_end("CoreShowChannelsComplete", "L", 1))
    assert proto.send(Action("CoreShowChannels", ActionID="L"))[0] == "L"


# -- the protocol's own login --------------------------------------------------------
def _greeted(credentials: Credentials, **options: object) -> tuple[ClientProtocol, bytes]:
    proto = ClientProtocol(credentials, **options)  # type: ignore[arg-type]
    proto.receive_data(GREETING)
    return proto, proto.data_to_send()


def test_login_is_sent_by_the_protocol_after_the_greeting() -> None:
    """After the greeting the protocol queues its own Login and is AUTHENTICATING."""
    proto = ClientProtocol(Credentials("admin", "pw", auth="plain"))
    assert proto.data_to_send() == b""
    assert proto.state is ConnState.GREETING
    proto.receive_data(GREETING)
    sent = Message(proto.data_to_send().rstrip(b"\r\n"))
    assert sent["Action"] == "Login"
    assert (sent["Username"], sent["Secret"]) == ("admin", "pw")
    assert proto.state is ConnState.AUTHENTICATING
    assert proto.data_to_send() == b""  # handed out once


def test_md5_login_answers_the_challenge() -> None:
    """auth='md5': Challenge first, then Login with md5(challenge + secret), then READY."""
    proto, challenge = _greeted(Credentials("admin", "pw", auth="md5"))
    assert b"Action: Challenge\r\n" in challenge
    assert proto.receive_data(reply_to(challenge, ("Challenge", "123"))) == []
    login = Message(proto.data_to_send().rstrip(b"\r\n"))
    assert login["Key"] == challenge_key("123", "pw") and "Secret" not in login
    (done,) = proto.receive_data(reply_to(login.raw))
    assert isinstance(done, LoggedIn) and proto.state is ConnState.READY


def test_refused_login_is_reported_and_moves_to_error() -> None:
    """A refused Login gives LoginFailed(AuthenticationError) and ERROR; send is then refused."""
    proto, login = _greeted(Credentials("admin", "bad", auth="plain"))
    out = proto.receive_data(reply_to(login, ("Message", "Authentication failed"), status="Error"))
    (failed,) = out
    assert isinstance(failed, LoginFailed) and isinstance(failed.error, AuthenticationError)
    assert "Authentication failed" in str(failed.error)
    assert proto.state is ConnState.ERROR
    with pytest.raises(ProtocolError, match="error"):
        proto.send(Action("Ping"))


def test_filters_follow_the_login_and_a_refused_one_fails_it() -> None:
    """Filters are added after Login, before READY; a refused filter is a LoginFailed."""
    proto, login = _greeted(Credentials("admin", "pw", auth="plain"), filters=["Event: Hangup"])
    assert proto.receive_data(reply_to(login)) == []
    assert proto.state is ConnState.AUTHENTICATING
    filt = Message(proto.data_to_send().rstrip(b"\r\n"))
    assert (filt["Action"], filt["Operation"], filt["Filter"]) == ("Filter", "Add", "Event: Hangup")
    (failed,) = proto.receive_data(
        reply_to(filt.raw, ("Message", "Permission denied"), status="Error")
    )
    assert isinstance(failed, LoginFailed) and isinstance(failed.error, ActionError)
    assert "Event: Hangup" in str(failed.error) and proto.state is ConnState.ERROR


@pytest.mark.parametrize("state", ["greeting", "authenticating"])
def test_send_before_ready_is_refused_naming_the_state(state: str) -> None:
    """An ordinary action before READY is refused by the state table, which names the state."""
    proto = ClientProtocol(Credentials("admin", "pw", auth="plain"))
    if state == "authenticating":
        proto.receive_data(GREETING)
    with pytest.raises(ProtocolError, match=state):
        proto.send(Action("Ping"))
    assert not proto.pending or state == "authenticating"


def test_manual_login_without_credentials_moves_the_state() -> None:
    """Without credentials the caller may send Login itself; its answer moves to READY."""
    proto = ClientProtocol()
    proto.receive_data(GREETING)
    with pytest.raises(ProtocolError, match="connected"):
        proto.send(Action("Ping"))
    aid, _ = proto.send(Action("Login", Username="u", Secret="s"))
    assert proto.state is ConnState.AUTHENTICATING
    (done,) = proto.receive_data(response(aid))
    assert isinstance(done, Completed) and proto.state is ConnState.READY


def test_login_actions_are_not_reported_as_lost_on_eof() -> None:
    """EOF during the protocol's own login returns no caller ActionIDs (none were the caller's)."""
    proto, _ = _greeted(Credentials("admin", "pw", auth="plain"))
    assert proto.receive_eof() == []
    assert proto.state is ConnState.CLOSED


def test_collecting_lists_are_routed_and_the_fast_path_resumes_after() -> None:
    """Only a list being collected claims events; before and after it, events stay events."""
    proto = ready_client()
    ping, _ = proto.send(Action("Ping"))
    listing, _ = proto.send(Action("CoreShowChannels"))
    early = event("CoreShowChannel", listing)  # before its list started: an event
    out = proto.receive_data(early + list_start(listing) + event("CoreShowChannel", listing))
    assert [m.name for m in plain_events(out)] == ["CoreShowChannel"]
    out = proto.receive_data(
        event("Newchannel") + list_end("CoreShowChannelsComplete", listing, 1) + response(ping)
    )
    done = completions(out)
    assert len(done[listing].result.events) == 1 and ping in done
    late = proto.receive_data(event("CoreShowChannel", listing) + event("Hangup"))
    assert [m.name for m in plain_events(late)] == ["CoreShowChannel", "Hangup"]
