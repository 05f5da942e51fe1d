#!/usr/bin/env python3
"""Record a live-state scenario from a real Asterisk 22 sandbox (issue 13).

    AMILAB_ASTERISK_PORT=15338 python tests/state/record_state.py [name]

One admin connection subscribes to every event, then drives calls in the
``amilab-state`` context (tests/asterisk/etc/extensions.conf): an unbridged
call, a bridged call, a queue call answered by a member, a queue caller left
waiting behind a paused member, a conference; hangs one up; lets the rest
end. At checkpoints it runs ``CoreShowChannels``, ``BridgeList``,
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
OUT = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
#: The lists each checkpoint records, in this order.
CHECK_LISTS = ("CoreShowChannels", "BridgeList", "QueueStatus", "ConfbridgeListRooms")
HOLD_MEMBER = {"Queue": "amilab-state-hold", "Interface": "Local/agent@amilab-state/n"}


async def checkpoint(client: AMIClient, rec: EventRecorder) -> None:
    for name in CHECK_LISTS:
        result = await client.action(name, check=False)
        now = time.time_ns()
        for msg in result:
            rec.record(msg, now)


async def originate(client: AMIClient, exten: str) -> None:
    await client.action(
        "Originate",
        Channel=f"Local/{exten}@amilab-state",
        Application="Wait",
        Data="20",
        Async="true",
    )


async def scenario(client: AMIClient, rec: EventRecorder) -> None:
    await client.action("QueuePause", Paused="true", **HOLD_MEMBER)
    await checkpoint(client, rec)
    for exten in ("wait", "bridge", "queue", "hold", "conf"):
        await originate(client, exten)
    await asyncio.sleep(2.0)
    await checkpoint(client, rec)
    await originate(client, "conf")
    await originate(client, "hold")
    await asyncio.sleep(2.0)
    await checkpoint(client, rec)
    channels = await client.action("CoreShowChannels")
    waiting = [m.get("Channel") for m in channels.events if "wait@" in (m.get("Channel") or "")]
    if waiting:
        await client.action("Hangup", Channel=waiting[0])
    await asyncio.sleep(1.0)
    await checkpoint(client, rec)
    await asyncio.sleep(24.0)
    await checkpoint(client, rec)
    await client.action("QueuePause", Paused="false", **HOLD_MEMBER)
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
