"""The live tracker against the real Asterisk 22 sandbox: agrees with fresh lists, survives SIGKILL.

Calls run in the sandbox's own ``amilab`` dialplan and ``support`` queue
(tests/asterisk/etc/extensions.conf, queues.conf; no extra config), as in
tests/state/record_state.py. At several moments the model's view is compared with fresh
CoreShowChannels / BridgeList / QueueStatus (tests/state/compare.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from amilab import AMIClient
from amilab.state import LiveState, track
from tests.conftest import SANDBOX
from tests.state.compare import differences, from_lists, from_model

pytestmark = pytest.mark.asterisk

MEMBERS = ("Local/400@amilab/n", "Local/401@amilab/n")
#: Attempts (0.3 s apart) for the model and a fresh list to agree. A list can
#: be taken while an event about the change it shows is still on its way
#: (stasis delivers events to manager.c on its own thread); the recording
#: tests/fixtures/state/state_calls.ami agreed at the first attempt at
#: every checkpoint, 2 s after the calls were placed.
AGREE_ATTEMPTS = 5


def admin(sb, **kw) -> AMIClient:
    return AMIClient(sb.host, sb.port, username="admin", secret="amilab-admin", **kw)


async def originate(client: AMIClient, exten: str, app: str = "Wait", data: str = "20") -> None:
    await client.action(
        "Originate",
        Channel=f"Local/{exten}@amilab",
        Application=app,
        Data=data,
        Async="true",
    )


async def pause(client: AMIClient, member: str, paused: bool) -> None:
    await client.action(
        "QueuePause",
        Queue="support",
        Interface=member,
        Paused="true" if paused else "false",
        check=False,
    )


async def fresh(client: AMIClient) -> list:
    items = []
    for name in ("CoreShowChannels", "BridgeList", "QueueStatus"):
        items.extend((await client.action(name)).events)
    return items


async def assert_agrees(client: AMIClient, state: LiveState) -> None:
    diff: list[str] = []
    for _ in range(AGREE_ATTEMPTS):
        listed = from_lists(await fresh(client))
        listed["conferences"] = {}
        view = from_model(state.model)
        view["conferences"] = {}
        diff = differences(view, listed)
        if not diff:
            return
        await asyncio.sleep(0.3)
    raise AssertionError("model and Asterisk disagree:\n" + "\n".join(diff))


async def hang_up_all(client: AMIClient) -> None:
    for m in (await client.action("CoreShowChannels")).events:
        await client.action("Hangup", Channel=m.get("Channel"), check=False)


async def test_live_model_agrees_with_fresh_lists(asterisk):
    """Unbridged, bridged and queue calls: at three moments the model equals fresh lists."""
    async with admin(asterisk, ping_interval=None) as client:
        for member in MEMBERS:
            await pause(client, member, True)
        state = await track(client)
        try:
            assert state.coverage["channels"] == "seeded"
            await originate(client, "102")  # unbridged: 102 answers and waits
            await originate(client, "102", "Dial", "Local/102@amilab/n")  # bridged
            await originate(client, "300")  # waits in support: both members paused
            await asyncio.sleep(2.0)
            await assert_agrees(client, state)
            assert state.model.tables["bridges"] and state.model.tables["queue_callers"]
            await pause(client, MEMBERS[0], False)  # agent 400 takes the caller
            await originate(client, "102", "Dial", "Local/102@amilab/n")
            await asyncio.sleep(1.0)
            await assert_agrees(client, state)
            await hang_up_all(client)
            await asyncio.sleep(1.0)
            await assert_agrees(client, state)
            assert state.model.tables["channels"] == {}
            assert [r.reason for r in state.resyncs] == ["initial seed"]
        finally:
            for member in MEMBERS:
                await pause(client, member, False)
            await hang_up_all(client)
            state.stop()


def _kill_asterisk() -> None:
    root = Path(os.environ.get("AMILAB_ASTERISK_ROOT", "/var/cache/amilab/asterisk-sid"))
    pid = int((root / "run" / "amilab-asterisk.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)


async def test_sigkill_and_restart_reseeds(asterisk):
    """Asterisk SIGKILLed with calls up and restarted: the tracker re-seeds and agrees again."""
    async with admin(asterisk, ping_interval=None, reconnect_delay=(0.2, 1.0)) as client:
        state = await track(client, min_interval=0.0)
        try:
            await originate(client, "102", "Dial", "Local/102@amilab/n")
            await asyncio.sleep(1.5)
            assert state.model.tables["channels"]
            _kill_asterisk()
            await asyncio.to_thread(
                subprocess.run,
                ["bash", str(SANDBOX), "start"],
                check=True,
                capture_output=True,
                timeout=180,
            )
            for _ in range(100):
                if len(state.resyncs) > 1:
                    break
                await asyncio.sleep(0.1)
            assert state.resyncs[-1].reason.startswith("reconnected")
            # The killed Asterisk's calls are gone: the re-seed dropped them.
            assert state.model.tables["channels"] == {}
            await originate(client, "102")
            await asyncio.sleep(2.0)
            await assert_agrees(client, state)
            assert len(state.model.tables["channels"]) == 2
        finally:
            await hang_up_all(client)
            state.stop()


async def test_readonly_user_gets_a_statement(asterisk):
    """The readonly user may not run CoreShowChannels: the statement says what is not seeded."""
    ro = AMIClient(
        asterisk.host,
        asterisk.port,
        username="readonly",
        secret="amilab-readonly",
        ping_interval=None,
    )
    async with ro:
        state = await track(ro)
        state.stop()
    assert state.coverage["channels"] == "CoreShowChannels: Permission denied"
    assert state.coverage["queues"] == "seeded"
    text = state.statement()
    assert "channels: NOT seeded (CoreShowChannels: Permission denied)" in text
    assert "queues, queue_members, queue_callers: seeded from QueueStatus" in text
