#!/usr/bin/env python3
"""Record the real Asterisk 22 sequences the simulator's transfer, parking and ConfBridge follow.

    tests/asterisk/sandbox.sh status && python tests/asterisk/record_simulate.py [name ...]

Reuses record.py's raw-socket recorder (stdlib only, no project code) and
writes ``tests/fixtures/asterisk22/<name>.ami`` plus its metadata as
``<name>.json``, the Secret replaced by ``<secret>``. Nothing is configured:
the sandbox's own dialplan (102: Answer, Wait(30); 101: Answer, Wait(2)),
res_parking's built-in ``default`` lot (700 parks, 701-720, 45 s) and
app_confbridge's built-in profiles. The sandbox is shared, so nothing here
hangs up a channel it did not start.

* ``blindtransfer``: Local/102/n runs Dial(Local/102/n); the two ;1 halves
  are bridged; ``BlindTransfer`` sends the dialled one to amilab,101.
* ``park_blindtransfer``: the same bridge, transferred to parkedcalls,700
  (Park); a third call runs ``ParkedCall(default,701)`` and picks it up.
* ``park_giveup``: the same park, then the parked channel is hung up.
* ``park_timeout``: a Local/102 runs ``Park(default,t(4))`` (the lot's 45 s
  would leave the shared sandbox's other users time to hang it up).
* ``confbridge``: two Local/102 calls run ``ConfBridge(amilabsim)``, then
  hang up one after the other.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("amilab_record", os.path.join(HERE, "record.py"))
assert _spec is not None and _spec.loader is not None
record = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record)

#: Seconds to wait for the sandbox to have no channel before recording (never forced).
IDLE_WAIT = 60.0


def wait_quiet() -> None:
    end = time.monotonic() + IDLE_WAIT
    while record.channels():
        if time.monotonic() > end:
            raise RuntimeError("the shared sandbox has calls up; try again later")
        time.sleep(0.5)


def channel_of(uniqueid: str, timeout: float = 10.0) -> str:
    """The name of the channel with ``uniqueid`` once it is up."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for ch in record.channels():
            up = record.get(ch, "ChannelStateDesc") == "Up"
            if up and record.get(ch, "Uniqueid") == uniqueid:
                return str(record.get(ch, "Channel"))
        time.sleep(0.2)
    raise RuntimeError(f"channel {uniqueid} did not come up")


def originate(r, uid: str, **how: str) -> None:
    r.act(
        [
            ("Action", "Originate"),
            ("Async", "true"),
            ("ChannelId", uid),
            ("OtherChannelId", uid + "-2"),
            *how.items(),
        ],
        wait=lambda aid: lambda: r.c.event("OriginateResponse", aid) is not None,
    )


def bridged_pair(r, tag: str) -> tuple[str, str]:
    """Local/102/n dialling Local/102/n: return (the dialling ;1, the dialled ;1)."""
    originate(
        r,
        f"sim-{tag}",
        Channel="Local/102@amilab/n",
        Application="Dial",
        Data="Local/102@amilab/n,10",
        CallerID='"Transfer Test" <555>',
    )
    r.c.wait(lambda: sum(1 for m in r.c.messages if record.get(m, "Event") == "BridgeEnter") >= 2)
    r.c.settle(0.5)
    caller = channel_of(f"sim-{tag}")
    dialled = next(
        record.get(m, "DestChannel")
        for m in r.c.messages
        if record.get(m, "Event") == "DialBegin" and record.get(m, "Channel") == caller
    )
    return caller, str(dialled)


def blind_transfer(r, channel: str, context: str, exten: str) -> None:
    r.act(
        [
            ("Action", "BlindTransfer"),
            ("Channel", channel),
            ("Context", context),
            ("Exten", exten),
        ]
    )


def sc_blindtransfer():
    wait_quiet()
    r = record.Rec("blindtransfer", notes="a bridged Local/102/n pair; BlindTransfer to amilab,101")
    r.login()
    caller, _ = bridged_pair(r, "xfer")
    blind_transfer(r, caller, "amilab", "101")
    return r.finish(5.0)


def _park(r, tag: str) -> str:
    """Bridge a pair, blind-transfer the dialled half to 700; return its name."""
    caller, dialled = bridged_pair(r, tag)
    blind_transfer(r, caller, "parkedcalls", "700")
    r.c.wait(lambda: r.c.event("ParkedCall") is not None, 5)
    r.c.settle(1.0)
    return dialled


def sc_park_blindtransfer():
    wait_quiet()
    r = record.Rec(
        "park_blindtransfer",
        notes="bridged pair, BlindTransfer to parkedcalls,700; a Local/102 runs "
        "ParkedCall(default,701) and picks it up",
    )
    r.login()
    _park(r, "park")
    originate(
        r,
        "sim-unpark",
        Channel="Local/102@amilab",
        Application="ParkedCall",
        Data="default,701",
        CallerID='"Retriever" <556>',
    )
    r.c.wait(lambda: r.c.event("UnParkedCall") is not None, 5)
    return r.finish(3.0)


def sc_park_giveup():
    wait_quiet()
    r = record.Rec("park_giveup", notes="bridged pair parked via 700, then the parkee hung up")
    r.login()
    parked = _park(r, "giveup")
    r.act([("Action", "Hangup"), ("Channel", parked)])
    return r.finish(3.0)


def sc_park_timeout():
    wait_quiet()
    r = record.Rec(
        "park_timeout",
        notes="Local/102 runs Park(default,t(4)): parked with a 4 s timeout, then "
        "comebacktoorigin dials the parker back",
    )
    r.login()
    originate(
        r,
        "sim-ptimeout",
        Channel="Local/102@amilab",
        Application="Park",
        Data="default,t(4)",
        CallerID='"Park Timeout" <557>',
    )
    r.c.wait(lambda: r.c.event("ParkedCallTimeOut") is not None, 15)
    return r.finish(5.0)


def sc_confbridge():
    wait_quiet()
    r = record.Rec(
        "confbridge", notes="two Local/102 calls into ConfBridge(amilabsim), hung up in turn"
    )
    r.login()
    for n in (1, 2):
        originate(
            r,
            f"sim-conf{n}",
            Channel="Local/102@amilab",
            Application="ConfBridge",
            Data="amilabsim",
            CallerID=f'"Conf {n}" <55{n}>',
        )
        r.c.settle(1.0)
    for n in (1, 2):
        r.act([("Action", "Hangup"), ("Channel", channel_of(f"sim-conf{n}"))])
        r.c.settle(1.0)
    return r.finish(1.0)


SCENARIOS = {
    "blindtransfer": sc_blindtransfer,
    "park_blindtransfer": sc_park_blindtransfer,
    "park_giveup": sc_park_giveup,
    "park_timeout": sc_park_timeout,
    "confbridge": sc_confbridge,
}


def main(argv: list[str]) -> None:
    record.save_scenario_files(SCENARIOS, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
