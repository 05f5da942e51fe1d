#!/usr/bin/env python3
"""Record a live-state scenario from a real Asterisk 22 sandbox (issue 13).

    AMILAB_ASTERISK_PORT=15338 python tests/state/record_state.py [name]

One admin connection subscribes to every event, then drives calls in the
sandbox's own ``amilab`` dialplan and ``support`` queue (no extra config):
an unbridged call, a bridged call, a queue caller waiting behind paused
members and then answered, a conference; hangs one up; lets the rest end.
At checkpoints it runs ``CoreShowChannels``, ``BridgeList``,
``QueueStatus`` and ``ConfbridgeListRooms`` and writes their items into the
same capture at the moment each list completed, so
tests/state/test_recorded.py can replay the events and, at every
checkpoint, compare the model with what Asterisk listed.

The capture is saved with amilab's EventRecorder: each block is the raw bytes
as the connection framed them, with its receive time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from amilab import AMIClient, EventRecorder

HOST = os.environ.get("AMILAB_ASTERISK_HOST", "127.0.0.1")
PORT = int(os.environ.get("AMILAB_ASTERISK_PORT", "15038"))
OUT = Path(__file__).resolve().parents[1] / "fixtures" / "state"
#: The lists each checkpoint records, in this order.
CHECK_LISTS = ("CoreShowChannels", "BridgeList", "QueueStatus", "ConfbridgeListRooms")
#: The ``support`` queue's members (tests/asterisk/etc/queues.conf), paused so
#: that callers wait, then let through one at a time.
MEMBERS = ("Local/400@amilab/n", "Local/401@amilab/n")
CONFERENCE = "amilab-state-conf"


async def checkpoint(client: AMIClient, rec: EventRecorder) -> None:
    for name in CHECK_LISTS:
        result = await client.action(name, check=False)
        now = time.time_ns()
        for msg in result:
            rec.record(msg, now)


async def originate(client: AMIClient, exten: str, app: str, data: str) -> None:
    """A Local channel into the sandbox's ``amilab`` dialplan, its other side running ``app``."""
    await client.action(
        "Originate", Channel=f"Local/{exten}@amilab", Application=app, Data=data, Async="true"
    )


async def pause(client: AMIClient, member: str, paused: bool) -> None:
    await client.action(
        "QueuePause", Queue="support", Interface=member, Paused="true" if paused else "false"
    )


async def place_calls(client: AMIClient) -> None:
    """Unbridged (102 waits), bridged (Dial to another 102), a queue caller, a conference."""
    await originate(client, "102", "Wait", "20")
    await originate(client, "102", "Dial", "Local/102@amilab/n")
    await originate(client, "300", "Wait", "20")
    await originate(client, "102", "ConfBridge", CONFERENCE)


async def scenario(client: AMIClient, rec: EventRecorder) -> None:
    for member in MEMBERS:
        await pause(client, member, True)
    await checkpoint(client, rec)
    await place_calls(client)
    await asyncio.sleep(2.0)
    await checkpoint(client, rec)
    # Agent 400 takes the waiting caller (answers, holds 2 s: extensions.conf 400).
    await pause(client, MEMBERS[0], False)
    await originate(client, "102", "ConfBridge", CONFERENCE)
    await asyncio.sleep(1.0)
    await checkpoint(client, rec)
    channels = await client.action("CoreShowChannels")
    waiting = [m.get("Channel") for m in channels.events if m.get("Application") == "Wait"]
    if waiting:
        await client.action("Hangup", Channel=waiting[0])
    await asyncio.sleep(1.0)
    await checkpoint(client, rec)
    await asyncio.sleep(30.0)  # 102 holds 30 s: every call has ended
    await checkpoint(client, rec)
    await pause(client, MEMBERS[1], False)
    await asyncio.sleep(0.5)
    await checkpoint(client, rec)


async def main(name: str) -> None:
    client = AMIClient(HOST, PORT, username="admin", secret="amilab-admin")
    rec = EventRecorder()
    async with client:
        sub = client.on("*", rec.record)
        await scenario(client, rec)
        sub.cancel()
    path = rec.save(OUT / f"{name}.ami")
    print(f"wrote {path} ({len(rec.messages())} messages)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "state_calls"))
