"""Session behaviour of the simulator: greeting, login, permissions, errors, masks, filters."""

from __future__ import annotations

import asyncio

import pytest
from sim_helpers import RawClient

from amilab.protocol import challenge_key
from amilab.sim import SimulatorServer
from amilab.sim.ami.actions import session as actions


async def test_greeting_is_asterisk_22s(server, connect):
    """The first line is Asterisk 22's greeting, AMI version 11.0.0."""
    client = await connect(login=None)
    assert client.greeting == "Asterisk Call Manager/11.0.0"


async def test_plain_login_then_fullybooted_and_successfulauth(server, connect):
    """Plain login answers 'Authentication accepted', then FullyBooted, then SuccessfulAuth."""
    client = await connect(login=None)
    result = await client.login("admin", "amilab")
    assert result.response.items()[0] == ("Response", "Success")
    assert result.message == "Authentication accepted"
    await client.wait_event("SuccessfulAuth")
    assert client.names()[:2] == ["FullyBooted", "SuccessfulAuth"]
    booted = client.events[0]
    assert booted.keys() == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    auth = client.events[1]
    assert auth["AccountID"] == "admin" and auth["UsingPassword"] == "0"


async def test_md5_login(server, connect):
    """Challenge/AuthType md5 gives digits; Login with md5(challenge+secret) succeeds."""
    client = await connect(login=None)
    challenge = await client.action("Challenge", AuthType="md5")
    digits = challenge.response["Challenge"]
    assert digits.isdigit()
    assert challenge.response.keys() == ["Response", "ActionID", "Challenge"]
    key = challenge_key(digits, "amilab")
    result = await client.action("Login", AuthType="md5", Username="admin", Key=key)
    assert result.ok and result.message == "Authentication accepted"


async def test_wrong_password_delays_then_disconnects(server, connect, monkeypatch):
    """A wrong secret waits FAILED_LOGIN_DELAY, answers 'Authentication failed', then closes."""
    monkeypatch.setattr(actions, "FAILED_LOGIN_DELAY", 0.2)
    observer = await connect()
    client = await connect(login=None)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await client.login("admin", "wrong")
    assert loop.time() - started >= 0.2
    assert not result.ok and result.message == "Authentication failed"
    await asyncio.wait_for(client.closed.wait(), 2)
    await observer.wait_event("InvalidPassword", AccountID="admin")


async def test_unknown_user_gives_invalid_account_id(server, connect, monkeypatch):
    """An unknown username fails like a wrong secret and raises InvalidAccountID."""
    monkeypatch.setattr(actions, "FAILED_LOGIN_DELAY", 0.0)
    observer = await connect()
    client = await connect(login=None)
    result = await client.login("nobody", "x")
    assert result.message == "Authentication failed"
    await observer.wait_event("InvalidAccountID", AccountID="nobody")


async def test_actions_before_login_are_denied(server, connect):
    """Before Login even Ping gets 'Permission denied' and the connection stays open."""
    client = await connect(login=None)
    result = await client.action("Ping")
    assert not result.ok and result.message == "Permission denied"
    assert not client.closed.is_set()


async def test_readonly_originate_is_denied_with_security_event(server, connect):
    """A user without write class 'originate' gets Permission denied and RequestNotAllowed."""
    client = await connect("readonly")
    result = await client.action("Originate", Channel="Local/100@amilab", Application="Wait")
    assert result.message == "Permission denied"
    event = await client.wait_event("RequestNotAllowed")
    assert event["RequestType"] == "Action: Originate"
    assert (await client.action("Ping")).ok


async def test_unknown_action_exact_text_and_request_bad_format(server, connect):
    """An unknown action gets Asterisk 22's exact text, then RequestBadFormat."""
    client = await connect()
    result = await client.action("NoSuchAction")
    assert result.message == (
        "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available "
        "commands."
    )
    event = await client.wait_event("RequestBadFormat")
    assert event["RequestType"] == "Action: NoSuchAction"
    assert event.keys()[-3:] == ["RequestType", "SessionTV", "AccountID"]


async def test_missing_action_header(server, connect):
    """A block without Action gets 'Missing action in request' (RequestType 'Action: NONE')."""
    client = await connect()
    await client.send_raw(b"Foo: bar\r\nActionID: m1\r\n\r\n")
    event = await client.wait_event("RequestBadFormat")
    assert event["RequestType"] == "Action: NONE"
    assert client.proto.stray_responses == 1


async def test_logoff_says_goodbye_and_closes(server, connect):
    """Logoff answers 'Response: Goodbye' with the fish message, then the server closes."""
    client = await connect()
    result = await client.action("Logoff")
    assert result.response["Response"] == "Goodbye"
    assert result.message == "Thanks for all the fish."
    await asyncio.wait_for(client.closed.wait(), 2)


async def test_events_mask_off_on_and_classes(server, connect):
    """Events EventMask off/on/class list answer 'Events: Off'/'On' and gate delivery."""
    client = await connect()
    off = await client.action("Events", EventMask="off")
    assert off.response.items()[2] == ("Events", "Off")
    await client.action("UserEvent", UserEvent="Hidden")
    on = await client.action("Events", EventMask="system,user")
    assert on.response["Events"] == "On"
    await client.action("UserEvent", UserEvent="Shown")
    await client.wait_event("UserEvent", UserEvent="Shown")
    assert not [e for e in client.events if e.get("UserEvent") == "Hidden"]


async def test_login_events_off_suppresses_fullybooted(server, connect):
    """Login with Events: off sends no FullyBooted."""
    client = await connect(login=None)
    await client.action("Login", Username="admin", Secret="amilab", Events="off")
    await client.action("Ping")
    assert "FullyBooted" not in client.names()


async def test_filter_is_a_regex_on_the_event_text(server, connect):
    """Filter 'Event: User' passes UserEvent only; '!' filters exclude."""
    client = await connect()
    added = await client.action("Filter", Operation="Add", Filter="Event: User")
    assert added.message == "Success"
    await client.action("Filter", Operation="Add", Filter="!UserEvent: Drop")
    await client.action("UserEvent", UserEvent="Drop")
    await client.action("UserEvent", UserEvent="Keep")
    await client.action("Challenge", AuthType="md5")  # ChallengeSent must be filtered out
    await client.wait_event("UserEvent", UserEvent="Keep")
    await client.action("Ping")
    kinds = {e.name for e in client.events[2:]}
    assert kinds == {"UserEvent"}
    assert [e["UserEvent"] for e in client.events if e.name == "UserEvent"] == ["Keep"]


async def test_per_user_read_classes():
    """A user with read=call sees call events but not user or security events."""
    users = {
        "caller": {"secret": "s", "read": "call", "write": "all"},
        "admin": {"secret": "amilab", "read": "all", "write": "all"},
    }
    async with SimulatorServer(users=users) as srv:
        client = await RawClient().connect(srv.host, srv.port)
        await client.login("caller", "s")
        await client.action("UserEvent", UserEvent="X")
        await client.action("Originate", Channel="PJSIP/nope", Application="Wait", Async="true")
        await client.wait_event("OriginateResponse")
        assert "UserEvent" not in client.names()
        assert "SuccessfulAuth" not in client.names()
        assert "FullyBooted" not in client.names()
        await client.close()


@pytest.mark.parametrize("secret", ["", "wrong"])
async def test_failed_login_never_authenticates(server, connect, monkeypatch, secret):
    """A failed login leaves the session unauthenticated (no FullyBooted before close)."""
    monkeypatch.setattr(actions, "FAILED_LOGIN_DELAY", 0.0)
    client = await connect(login=None)
    await client.login("admin", secret)
    await asyncio.wait_for(client.closed.wait(), 2)
    assert client.events == []
