"""The client against a real Asterisk 22 (the chroot sandbox): what only it can prove."""

from __future__ import annotations

import asyncio
import ssl

import pytest

import amilab
from amilab import AMIClient

pytestmark = pytest.mark.asterisk


def client(sb, who: str = "admin", **kw) -> AMIClient:
    user, secret = sb.admin if who == "admin" else sb.readonly
    kw.setdefault("ping_interval", None)
    return AMIClient(sb.host, sb.port, username=user, secret=secret, **kw)


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_login_modes(asterisk, auth):
    """Plain Secret and MD5 challenge logins both succeed and read the AMI version."""
    async with client(asterisk, auth=auth) as ami:
        assert ami.connected
        assert ami.version == "11.0.0"
        assert await ami.ping() > 0


async def test_wrong_password_raises_promptly_without_leaking(asterisk):
    """A wrong secret raises AuthenticationError (after Asterisk's 1 s delay); no secret in it."""
    bad = AMIClient(
        asterisk.host,
        asterisk.port,
        username="admin",
        secret="wrong-s3cret",
        auth="plain",
        ping_interval=None,
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(amilab.AuthenticationError) as info:
        await bad.connect()
    assert loop.time() - start < 5
    assert "Authentication failed" in str(info.value)
    assert "wrong-s3cret" not in str(info.value) and "wrong-s3cret" not in repr(bad)
    assert not bad.connected


async def test_pjsip_endpoints_is_a_list(asterisk):
    """PJSIPShowEndpoints collects its EventList; ListItems matches the items received."""
    async with client(asterisk) as ami:
        res = await ami.action("PJSIPShowEndpoints")
    names = [ev["ObjectName"] for ev in res.events]
    assert {"100", "101"} <= set(names)
    assert all(ev.name == "EndpointList" for ev in res.events)
    assert res.list_end is not None and int(res.list_end["ListItems"]) == len(names)
    df = res.df
    assert list(df["ObjectName"]) == names


async def test_command_output_exact(asterisk):
    """Command output comes back as text with its blank lines (Asterisk 22 Output: format)."""
    async with client(asterisk) as ami:
        uptime = await ami.command("core show uptime")
        doc = await ami.command("manager show command Originate")
    assert "System uptime:" in uptime
    assert "[Synopsis]" in doc and "\n\n" in doc


async def test_unknown_action_error(asterisk):
    """An unknown action raises ActionError carrying Asterisk's own message."""
    async with client(asterisk) as ami:
        with pytest.raises(amilab.ActionError) as info:
            await ami.action("NoSuchAction")
        res = await ami.action("NoSuchAction", check=False)
    assert "Invalid/unknown command: NoSuchAction" in str(info.value)
    assert not res.ok and res.message.startswith("Invalid/unknown command")


async def test_originate_async_events_reach_handlers(asterisk):
    """Async Originate of a Local channel: OriginateResponse (with our ActionID) and Hangup."""
    async with client(asterisk) as ami:
        seen: list[amilab.Message] = []
        ami.on(["OriginateResponse", "Hangup"], seen.append)
        res = await ami.action(
            "Originate",
            Channel="Local/100@amilab",
            Context="amilab",
            Exten="100",
            Priority=1,
            Async=True,
        )
        action_id = res.response.action_id
        for _ in range(100):
            if any(m.name == "Hangup" for m in seen) and any(
                m.name == "OriginateResponse" for m in seen
            ):
                break
            await asyncio.sleep(0.1)
    responses = [m for m in seen if m.name == "OriginateResponse"]
    assert responses and responses[0].action_id == action_id
    assert responses[0]["Response"] == "Success"
    hangups = [m for m in seen if m.name == "Hangup"]
    assert hangups and hangups[0]["Channel"].startswith("Local/100@amilab")
    assert hangups[0]["Cause"].isdigit()


async def test_userevent_keeps_action_id_and_reaches_handlers(asterisk):
    """The UserEvent event carries the action's ActionID and is still delivered as an event."""
    async with client(asterisk) as ami:
        got: list[amilab.Message] = []
        ami.on("UserEvent", got.append)
        res = await ami.action("UserEvent", UserEvent="AmilabLive", Payload="a: b")
        for _ in range(50):
            if got:
                break
            await asyncio.sleep(0.05)
    assert got and got[0].action_id == res.response.action_id
    assert got[0]["Payload"] == "a: b"


async def test_200_concurrent_actions(asterisk):
    """200 concurrent actions on one connection each get exactly their own answer."""
    async with client(asterisk) as ami:
        coros = []
        for i in range(200):
            if i % 3 == 0:
                coros.append(ami.action("PJSIPShowEndpoints"))
            elif i % 3 == 1:
                coros.append(ami.action("Getvar", Variable="AMILAB_GLOBAL"))
            else:
                coros.append(ami.action("Ping"))
        results = await asyncio.gather(*coros)
    ids = {r.response.action_id for r in results}
    assert len(ids) == 200
    for i, r in enumerate(results):
        assert r.ok
        if i % 3 == 0:
            assert r.events and all(e.action_id == r.response.action_id for e in r[1:])
        elif i % 3 == 1:
            assert r.response["Value"] == "hello"
        else:
            assert r.response["Ping"] == "Pong"


async def test_readonly_user_permission_denied(asterisk):
    """A user without write permission gets Asterisk's 'Permission denied'."""
    async with client(asterisk, "readonly") as ami:
        with pytest.raises(amilab.ActionError) as info:
            await ami.action("Originate", Channel="Local/100@amilab", Application="Wait", Data=1)
    assert "Permission denied" in str(info.value)


async def test_tls_with_the_sandbox_certificate(asterisk):
    """AMI over TLS: verification on by default; the sandbox's CA makes it succeed."""
    assert asterisk.tls_cert is not None and asterisk.tls_cert.exists()
    with pytest.raises(amilab.NotConnected, match="certificate"):
        await AMIClient(
            asterisk.host,
            asterisk.tls_port,
            username="admin",
            secret="x",
            tls=True,
            ping_interval=None,
        ).connect()
    ctx = ssl.create_default_context(cafile=str(asterisk.tls_cert))
    ctx.check_hostname = False
    async with AMIClient(
        asterisk.host,
        asterisk.tls_port,
        username=asterisk.admin[0],
        secret=asterisk.admin[1],
        tls=ctx,
        ping_interval=None,
    ) as ami:
        assert (await ami.action("Ping")).response["Ping"] == "Pong"


async def test_restart_under_live_client_reconnects(asterisk):
    """Asterisk restarted under a live client: it reports the gap, re-logs in, and works."""
    ami = client(asterisk, reconnect_delay=(0.2, 1.0))
    changes: list[str] = []
    ami.on_connection(lambda ev: changes.append(ev.kind))
    async with ami:
        await asyncio.to_thread(asterisk.restart)
        for _ in range(200):
            if "reconnected" in changes:
                break
            await asyncio.sleep(0.1)
        assert changes[:1] == ["connected"] and "disconnected" in changes
        assert "reconnected" in changes
        assert (await ami.action("Ping")).ok
        gap = next(e for e in ami.connection_events if e.kind == "reconnected").gap
        assert gap is not None and gap > 0


def _real_call(asterisk):
    """Record a real Local-channel call on a live Session; return the recorder and monitor."""
    from amilab.notebook.monitor import EventMonitor

    session = amilab.connect(
        asterisk.host,
        asterisk.port,
        username=asterisk.admin[0],
        secret=asterisk.admin[1],
        ping_interval=None,
    )
    try:
        monitor = EventMonitor(session, ["*"], start=True)
        with session.events("Hangup", timeout=10) as hangups:
            session.action(
                "Originate",
                Channel="Local/200@amilab",
                Context="amilab",
                Exten="100",
                Priority=1,
                Async=True,
            )
            seen = [hangups.get(timeout=15) for _ in range(4)]
        monitor.refresh()
        monitor.close()
    finally:
        session.close()
    return monitor, seen


def test_recorder_monitor_and_analysis_on_a_real_call(asterisk, tmp_path):
    """A real call: the monitor counts it, the recorder's frame and analysis.calls agree."""
    from amilab.analysis import calls
    from amilab.recorder import load_frame

    monitor, hangups = _real_call(asterisk)
    df = monitor.df
    assert list(df.columns[:2]) == ["received_at", "event"]
    names = set(df["event"])
    assert {"Newchannel", "Newstate", "DialBegin", "DialEnd", "BridgeEnter", "Hangup"} <= names
    assert (df["event"] == "Hangup").sum() == len(hangups) == 4
    assert "Hangup" in monitor.view.value and "Newchannel" in monitor.view.value
    table = calls(df)
    # Local/200 dials Local/100: Dial propagates the Linkedid, so one call of 4 channels.
    assert len(table) == 1 and int(table["channels"].iloc[0]) == 4
    assert str(table["cause"].iloc[0]) == "16" and table["cause_txt"].iloc[0] == "Normal Clearing"
    path = tmp_path / "real.parquet"
    monitor.recorder.save(path)
    assert load_frame(path).equals(df)
