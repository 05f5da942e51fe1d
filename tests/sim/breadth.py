"""The breadth parity harness: each action's reply shape, simulator against Asterisk 22.

``tests/asterisk/record_breadth.py`` sent one or more probes per action that
the sandbox's ``ListCommands`` lists for an admin user and recorded the
replies in ``tests/fixtures/asterisk22/breadth.json``. This module sends the
same probes to a simulator (or to a live sandbox) the same way (a fresh admin
connection logged in with ``Events: off``) and compares the SHAPE of each
reply: message kinds and names, header names in order, list framing, and the
exact ``Response``/``Message``/``EventList``/``Event`` values (error texts).
How many items a list holds is data, not shape, so consecutive items of the
same shape count once; values such as Uniqueids and times are not compared.
An action matches when every one of its probes does.

    PYTHONPATH=$PWD python tests/sim/breadth.py     # rewrite tests/sim/BREADTH.md

writes the report (matching and non-matching actions) that
``test_breadth.py`` checks is current and the README quotes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from amilab.protocol import Message, ReceiveBuffer
from amilab.sim import SimulatorServer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22" / "breadth.json"
REPORT = Path(__file__).resolve().parent / "BREADTH.md"
RECORDED: dict[str, Any] = json.loads(FIXTURE.read_text())
#: The sandbox's manager.conf users (tests/asterisk/etc/manager.conf).
SANDBOX_USERS = {
    "admin": {"secret": "amilab-admin", "read": "all", "write": "all"},
    "readonly": {"secret": "amilab-readonly", "read": "all", "write": ""},
}
#: Values compared exactly; every other value may differ between runs.
EXACT = {"response", "message", "eventlist", "event"}
#: The simulator answers at once; this is only for events that trail a reply.
SIM_SETTLE = 0.02
LIVE_SETTLE = 0.3
REPLY_TIMEOUT = 5.0

Shape = list[tuple[str, str | None]]
#: Live probes that end or change the call: each gets a call of its own (as recorded).
FRESH_CALL = {"BridgeKick", "BridgeDestroy", "LocalOptimizeAway"}


def probes() -> list[dict[str, Any]]:
    return list(RECORDED["probes"])


def actions() -> list[str]:
    return list(RECORDED["actions"])


def parse(text: str) -> list[Message]:
    return ReceiveBuffer(expect_greeting=False).feed(text.encode())


def shape(msg: Message) -> Shape:
    """Header names in order, with the values that must match exactly."""
    out: Shape = []
    for k, v in msg.items():
        if k == "Output" and out and out[-1][0] == "Output":
            continue  # CLI output lines are text, not AMI shape
        out.append((k, v if k.lower() in EXACT else None))
    return out


def reply_shapes(messages: list[Message]) -> list[Shape]:
    """The shapes of everything the probe caused, consecutive repeats counted once."""
    out: list[Shape] = []
    for msg in messages:
        item = shape(msg)
        if not out or out[-1] != item:
            out.append(item)
    return out


def event_shapes(messages: list[Message]) -> dict[str, Shape]:
    """Each unsolicited event's name -> the shape of its first occurrence.

    Events on different channels come in an order that varies from run to run
    (tests/sim/test_call_sequences.py), so a probe's events are compared by
    name and shape, not by position.
    """
    out: dict[str, Shape] = {}
    for msg in messages:
        if msg.kind == "event" and "EventList" not in msg and msg.action_id != "probe":
            out.setdefault(msg.name or "", shape(msg))
    return out


def compare(expected: list[Message], actual: list[Message]) -> str | None:
    """None when the shapes match, else a short description of the first difference."""
    want_ev, got_ev = event_shapes(expected), event_shapes(actual)
    if want_ev != got_ev:
        return f"events: expected {want_ev}\n    got {got_ev}"
    unsolicited = set(want_ev)
    expected = [m for m in expected if m.kind != "event" or (m.name or "") not in unsolicited]
    actual = [m for m in actual if m.kind != "event" or (m.name or "") not in unsolicited]
    want, got = reply_shapes(expected), reply_shapes(actual)
    if want == got:
        return None
    for i, (w, g) in enumerate(zip(want, got, strict=False)):
        if w != g:
            return f"message {i}: expected {w}\n    got {g}"
    extra = want[len(got) :] or got[len(want) :]
    return f"expected {len(want)} message shapes, got {len(got)}: {extra}"


def relevant(messages: list[Message], events: list[str] | None) -> list[Message]:
    """With events on, the probe's own replies plus the events it names; else everything."""
    if events is None:
        return messages
    return [m for m in messages if (m.action_id == "probe" and m.kind == "response")
            or (m.kind == "event" and (m.name in events or "EventList" in m))]  # fmt: skip


def _done(data: bytes) -> bool:
    # Each block gets its line end back: ActionID may be its last line.
    blocks = [b + b"\r\n" for b in data.split(b"\r\n\r\n")]
    blocks = [b for b in blocks if b"ActionID: probe\r\n" in b]
    if not any(b.startswith(b"Response:") for b in blocks):
        return False
    if not any(b"EventList: start" in b for b in blocks):
        return True
    return any(b"EventList: Complete" in b for b in blocks)


async def send_probe(
    host: str,
    port: int,
    action: str,
    sent: list[list[str]],
    secret: str,
    settle: float,
    events: bool = False,
) -> list[Message]:
    """One probe on a fresh admin connection, as the recorder sent it; what came back."""
    reader, writer = await asyncio.open_connection(host, port)
    data = bytearray()

    def frame(pairs: list[tuple[str, str]]) -> bytes:
        return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()

    async def read_until(pred: Any, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not pred() and loop.time() < end:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), end - loop.time())
            except TimeoutError:
                return
            if not chunk:
                return
            data.extend(chunk)

    login = [("Action", "Login"), ("Username", "admin"), ("Secret", secret)]
    writer.write(frame([*login, ("Events", "on" if events else "off"), ("ActionID", "login")]))
    await read_until(lambda: b"ActionID: login\r\n" in data and data.endswith(b"\r\n\r\n"), 5)
    start = len(data)
    pairs = [(k, secret if k == "Secret" else v) for k, v in sent]
    given = any(k == "ActionID" for k, _ in pairs)  # a probe may place it itself
    writer.write(frame([("Action", action), *pairs, *([] if given else [("ActionID", "probe")])]))
    await read_until(lambda: _done(bytes(data[start:])), REPLY_TIMEOUT)
    await read_until(lambda: False, settle)
    writer.close()
    return ReceiveBuffer(expect_greeting=False).feed(bytes(data[start:]))


#: Every channel of the live call (extensions.conf ``[amilab-breadth]``), for Hangup's regex.
LIVE_CHANNELS = r"/^Local\/(600|102)@amilab/"


def _blocks(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.kind == "event"]


async def setup_call(host: str, port: int, secret: str) -> dict[str, str]:
    """The recorder's bridged call (Local/600@amilab-breadth), its bridge and channels named."""
    loop = asyncio.get_running_loop()

    async def helper(action: str, *pairs: tuple[str, str]) -> list[Message]:
        return await send_probe(host, port, action, [list(p) for p in pairs], secret, 0.0)

    await helper("Hangup", ("Channel", LIVE_CHANNELS))
    await asyncio.sleep(0.2)
    await helper(
        "Originate",
        ("Channel", "Local/600@amilab-breadth"),
        ("Application", "Wait"),
        ("Data", "30"),
        ("Async", "true"),
    )
    end = loop.time() + 10
    while loop.time() < end:
        items = [m for m in _blocks(await helper("BridgeList")) if "BridgeUniqueid" in m]
        for bridge in [m["BridgeUniqueid"] for m in items]:  # others: e.g. a parking lot's
            info = await helper("BridgeInfo", ("BridgeUniqueid", bridge))
            names = [m["Channel"] for m in _blocks(info) if m.name == "BridgeInfoChannel"]
            callee = [n for n in names if n.startswith("Local/102@")]
            caller = [n for n in names if n.startswith("Local/600@")]
            if len(names) == 2 and callee and caller:
                return {"bridge": bridge, "callee": callee[0], "caller": caller[0]}
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the bridged call did not come up on {host}:{port}")


async def run_all(
    host: str, port: int, secret: str, settle: float, only: set[str] | None = None
) -> dict[str, list[str]]:
    """Action -> the problems of its probes (an empty list: it matches)."""
    problems: dict[str, list[str]] = {a: [] for a in actions() if only is None or a in only}
    names: dict[str, str] | None = None
    # Static probes first, then the live ones in the order recorded (they share calls).
    # Every live probe runs, even for one action: a probe may rely on the ones before it
    # on the same call (StopMixMonitor after MixMonitor), as when it was recorded.
    live_wanted = any(p.get("live") and p["action"] in problems for p in probes())
    for p in sorted(probes(), key=lambda p: bool(p.get("live"))):
        if p["action"] not in problems and not (live_wanted and p.get("live")):
            continue
        wanted, sent = p.get("events"), p["sent"]
        if p.get("live"):
            if names is None or p["action"] in FRESH_CALL:
                names = await setup_call(host, port, secret)
            sent = [[k, v.format(**names)] for k, v in sent]
        got = await send_probe(host, port, p["action"], sent, secret, settle, bool(wanted))
        diff = compare(relevant(parse(p["reply"]), wanted), relevant(got, wanted))
        if diff and p["action"] in problems:
            problems[p["action"]].append(f"{p['sent']}: {diff}")
    if names is not None:
        await send_probe(host, port, "Hangup", [["Channel", LIVE_CHANNELS]], secret, 0.0)
    return problems


async def against_simulator(only: set[str] | None = None) -> dict[str, list[str]]:
    async with SimulatorServer(users=SANDBOX_USERS, seed=1) as sim:
        return await run_all(sim.host, sim.port, "amilab-admin", SIM_SETTLE, only)


def matching(problems: dict[str, list[str]]) -> list[str]:
    return [a for a, p in problems.items() if not p]


def render_report(problems: dict[str, list[str]]) -> str:
    ok = matching(problems)
    bad = [a for a in problems if a not in ok]
    lines = [
        "# Breadth parity: simulator against Asterisk 22",
        "",
        "Generated by `PYTHONPATH=$PWD python tests/sim/breadth.py` from",
        "`tests/fixtures/asterisk22/breadth.json` (recorded by",
        "`tests/asterisk/record_breadth.py`); `tests/sim/test_breadth.py` checks it is current.",
        "",
        f"**{len(ok)} of {len(problems)}** actions that Asterisk {RECORDED['asterisk'].split()[1]}",
        "lists in `ListCommands` for an admin user answer every probe with the same reply shape.",
        "",
        f"## Matching ({len(ok)})",
        "",
        *[f"- {a}" for a in ok],
        "",
        f"## Not matching ({len(bad)})",
        "",
        *[f"- {a}" for a in bad],
        "",
    ]
    return "\n".join(lines)


def reported_matching() -> list[str]:
    """The matching actions the committed report lists."""
    text = REPORT.read_text() if REPORT.exists() else ""
    section = text.split("## Matching", 1)[-1].split("## Not matching", 1)[0]
    return [line[2:].strip() for line in section.splitlines() if line.startswith("- ")]


if __name__ == "__main__":
    result = asyncio.run(against_simulator())
    REPORT.write_text(render_report(result))
    for name, found in result.items():
        for problem in found:
            print(f"{name}: {problem}", file=sys.stderr)
    print(f"{len(matching(result))} of {len(result)} match; wrote {REPORT}")
