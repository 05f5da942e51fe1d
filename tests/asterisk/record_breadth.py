#!/usr/bin/env python3
"""Record Asterisk 22's reply to one probe (or a few) per action, for the breadth parity test.

    AMILAB_ASTERISK_PORT=15138 python tests/asterisk/record_breadth.py [Action ...]

Issue 10 section 2 asks the simulator to give "the same reply shape as real
Asterisk 22 for the same request" on the actions the sandbox's
``ListCommands`` lists for an admin user. This sends, for every such action,
the probes in :data:`PROBES` (no probe for an action = the bare action),
each on a fresh admin connection logged in with ``Events: off`` (so the
stream holds only the replies: list items reach a session whatever its event
mask), and writes the bytes the server sent after the login response to
``tests/fixtures/asterisk22/breadth.json``. ``tests/sim/test_breadth.py``
replays the same probes against the simulator and compares the shapes.

The probes are the cheap, deterministic kind: missing or non-existent names
(an error text), lists of what the sandbox has configured (an empty list has
the right framing too), and reads of its configuration. Probes that change
state change only harmless things (a global variable, a member's penalty to
its configured value). Run it against a PRIVATE sandbox (it reloads queues and
rotates logs): its state must be idle, as after ``sandbox.sh restart``.

Stdlib only, raw sockets, no project code (like record.py).
Env: AMILAB_ASTERISK_HOST (127.0.0.1), AMILAB_ASTERISK_PORT (15038),
AMILAB_ASTERISK_ROOT (for ``asterisk -V`` in the metadata).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = os.environ.get("AMILAB_ASTERISK_HOST", "127.0.0.1")
PORT = int(os.environ.get("AMILAB_ASTERISK_PORT", "15038"))
ROOT = os.environ.get("AMILAB_ASTERISK_ROOT", "/var/cache/amilab/asterisk-sid")
OUT = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22" / "breadth.json"
USER, SECRET = "admin", "amilab-admin"
#: Seconds to wait for a probe's reply (and, for a list, its Complete event).
REPLY_TIMEOUT = 5.0
#: Seconds to keep reading after the reply, to catch anything that trails it.
SETTLE = 0.3
#: A channel name that names nothing (the technology does not exist either).
NONE_CHANNEL = "AmilabProbe/none"
CALL = {"Channel": NONE_CHANNEL}

#: Action -> probes (each a list of (header, value) after ``Action``); absent: one bare probe.
PROBES: dict[str, list[list[tuple[str, str]]]] = {
    "AbsoluteTimeout": [[], [("Channel", NONE_CHANNEL), ("Timeout", "1")]],
    "AgentLogoff": [[], [("Agent", "amilab-none")]],
    "AGI": [[], [("Channel", NONE_CHANNEL), ("Command", "noop")]],
    "AOCMessage": [[], [("Channel", NONE_CHANNEL), ("MsgType", "d"), ("ChargeType", "free")]],
    "Atxfer": [[], [("Channel", NONE_CHANNEL), ("Exten", "100"), ("Context", "amilab")]],
    "BlindTransfer": [[], [("Channel", NONE_CHANNEL), ("Exten", "100"), ("Context", "amilab")]],
    "Bridge": [[], [("Channel1", NONE_CHANNEL), ("Channel2", NONE_CHANNEL + "2")]],
    "BridgeDestroy": [[], [("BridgeUniqueid", "amilab-none")]],
    "BridgeInfo": [[], [("BridgeUniqueid", "amilab-none")]],
    "BridgeKick": [[], [("Channel", NONE_CHANNEL)]],
    "BridgeTechnologySuspend": [[], [("BridgeTechnology", "amilab-none")]],
    "BridgeTechnologyUnsuspend": [[], [("BridgeTechnology", "amilab-none")]],
    "CancelAtxfer": [[], [("Channel", NONE_CHANNEL)]],
    "Challenge": [[("AuthType", "MD5")], [("AuthType", "plain")]],
    "Command": [[], [("Command", "core show uptime")]],
    "ConfbridgeKick": [[], [("Conference", "amilab"), ("Channel", "all")]],
    "ConfbridgeList": [[], [("Conference", "amilab")]],
    "ConfbridgeLock": [[], [("Conference", "amilab")]],
    "ConfbridgeMute": [[], [("Conference", "amilab"), ("Channel", "all")]],
    "ConfbridgeSetSingleVideoSrc": [[], [("Conference", "amilab"), ("Channel", NONE_CHANNEL)]],
    "ConfbridgeStartRecord": [[], [("Conference", "amilab")]],
    "ConfbridgeStopRecord": [[], [("Conference", "amilab")]],
    "ConfbridgeUnlock": [[], [("Conference", "amilab")]],
    "ConfbridgeUnmute": [[], [("Conference", "amilab"), ("Channel", "all")]],
    "ControlPlayback": [[], [("Channel", NONE_CHANNEL), ("Control", "stop")]],
    "CoreShowChannelMap": [[], [("Channel", NONE_CHANNEL)]],
    "CreateConfig": [[]],
    "DBDel": [[], [("Family", "amilab-none"), ("Key", "none")]],
    "DBDelTree": [[("Family", "amilab-none")]],
    "DBGet": [[], [("Family", "amilab-none"), ("Key", "none")]],
    "DBGetTree": [[], [("Family", "amilab-none")]],
    "DBPut": [[], [("Family", "amilab-breadth")]],
    "DialplanExtensionAdd": [[]],
    "DialplanExtensionRemove": [[], [("Context", "amilab-none"), ("Extension", "1")]],
    "Events": [[], [("EventMask", "off")], [("EventMask", "call")]],
    "ExtensionState": [[], [("Exten", "100"), ("Context", "amilab")]],
    "Filter": [[], [("Operation", "Add"), ("Filter", "Event: X")]],
    "GetConfig": [[], [("Filename", "amilab-none.conf")]],
    "GetConfigJSON": [[], [("Filename", "amilab-none.conf")]],
    "Getvar": [[], [("Variable", "AMILAB_GLOBAL")], [("Variable", "AMILAB_GLOBAL"), *CALL.items()]],
    "Hangup": [[], [("Channel", NONE_CHANNEL)]],
    "ListCategories": [[], [("Filename", "amilab-none.conf")]],
    "LocalOptimizeAway": [[], [("Channel", NONE_CHANNEL)]],
    "Login": [[("Username", USER), ("Secret", SECRET)]],
    "MailboxCount": [[], [("Mailbox", "100@default")]],
    "MailboxStatus": [[], [("Mailbox", "100@default")]],
    "MessageSend": [[]],
    "MixMonitor": [[], [("Channel", NONE_CHANNEL)]],
    "MixMonitorMute": [[], [("Channel", NONE_CHANNEL), ("Direction", "both")]],
    "ModuleCheck": [[], [("Module", "res_parking")], [("Module", "amilab_none")]],
    "ModuleLoad": [[], [("Module", "amilab_none.so"), ("LoadType", "load")]],
    "MuteAudio": [[], [("Channel", NONE_CHANNEL), ("Direction", "in"), ("State", "on")]],
    "Originate": [[]],
    "Park": [[], [("Channel", NONE_CHANNEL)]],
    "ParkedCalls": [[], [("ParkingLot", "default")]],
    "PJSIPHangup": [[], [("Channel", NONE_CHANNEL)]],
    "PJSIPNotify": [[]],
    "PJSIPQualify": [[], [("Endpoint", "amilab-none")]],
    "PJSIPRegister": [[], [("Registration", "amilab-none")]],
    "PJSIPSetMaintenance": [[], [("Endpoint", "amilab-none"), ("State", "on")]],
    "PJSIPShowEndpoint": [[("Endpoint", "amilab-none")]],
    "PJSIPUnregister": [[], [("Registration", "amilab-none")]],
    "PlayDTMF": [[], [("Channel", NONE_CHANNEL), ("Digit", "1")]],
    "PlayMF": [[], [("Channel", NONE_CHANNEL), ("Digit", "1")]],
    "PresenceState": [[], [("Provider", "CustomPresence:amilab")]],
    "QueueAdd": [[], [("Queue", "support")]],
    "QueueChangePriorityCaller": [
        [],
        [("Queue", "support"), ("Caller", NONE_CHANNEL), ("Priority", "1")],
    ],
    "QueueLog": [[], [("Queue", "support"), ("Event", "AMILAB")]],
    "QueueMemberRingInUse": [
        [],
        [("Interface", "Local/400@amilab/n"), ("RingInUse", "no"), ("Queue", "support")],
    ],
    "QueuePause": [[], [("Interface", "Local/499@amilab/n"), ("Paused", "true")]],
    "QueuePenalty": [
        [],
        [("Interface", "Local/400@amilab/n"), ("Penalty", "0"), ("Queue", "support")],
    ],
    "QueueRemove": [[], [("Queue", "support"), ("Interface", "Local/499@amilab/n")]],
    "QueueStatus": [[("Queue", "sales")]],
    "QueueWithdrawCaller": [[], [("Queue", "support"), ("Caller", NONE_CHANNEL)]],
    "Redirect": [[], [("Channel", NONE_CHANNEL), ("Exten", "100"), ("Context", "amilab")]],
    "Reload": [[("Module", "amilab_none.so")]],
    "SendFlash": [[], [("Channel", NONE_CHANNEL)]],
    "SendText": [[], [("Channel", NONE_CHANNEL), ("Message", "hi")]],
    "Setvar": [[], [("Variable", "AMILAB_BREADTH"), ("Value", "1")]],
    "ShowDialPlan": [[("Context", "amilab"), ("Extension", "100")]],
    "SorceryMemoryCacheExpire": [[], [("Cache", "amilab-none")]],
    "Status": [[], [("Channel", NONE_CHANNEL)]],
    "StopMixMonitor": [[], [("Channel", NONE_CHANNEL)]],
    "UpdateConfig": [[]],
    "UserEvent": [[("UserEvent", "AmilabBreadth"), ("Zeta", "1"), ("Alpha", "2")]],
    "WaitEvent": [[("Timeout", "1")]],
}


#: Probes recorded with events on, and the events of theirs to compare: the
#: action's effect, not only its reply. UserEvent sends its headers in the
#: client's order, ActionID wherever the client put it (issue 10).
EVENT_PROBES: dict[str, list[tuple[list[tuple[str, str]], list[str]]]] = {
    "UserEvent": [
        (
            [("ActionID", "probe"), ("UserEvent", "AmilabBreadth"), ("Zeta", "1"), ("Alpha", "2")],
            ["UserEvent"],
        )
    ],
}


#: Probes on a live bridged call (extensions.conf ``[amilab-breadth]`` 600: Local/600;2
#: bridged with Local/102;1 for 30 s). ``{bridge}``, ``{callee}`` (Local/102;1) and
#: ``{caller}`` (Local/600;2) are found with BridgeList/BridgeInfo, on Asterisk and on
#: the simulator alike. ``True``: on a fresh call (the probe ends or changes it).
#: A fourth item names the events to compare: the probe then runs with events on.
LIVE_PROBES: list[tuple] = [
    ("BridgeList", [], False),
    ("BridgeInfo", [("BridgeUniqueid", "{bridge}")], False),
    ("CoreShowChannels", [], False),
    ("Status", [("Channel", "{callee}")], False),
    ("Getvar", [("Channel", "{callee}"), ("Variable", "BRIDGEPEER")], False),
    ("CoreShowChannelMap", [("Channel", "{callee}")], False),
    ("PlayDTMF", [("Channel", "{callee}"), ("Digit", "1")], False),
    ("PlayDTMF", [("Channel", "{callee}"), ("Digit", "2")], False, ["DTMFBegin", "DTMFEnd"]),
    ("SendText", [("Channel", "{callee}"), ("Message", "hi")], False),
    ("MuteAudio", [("Channel", "{callee}"), ("Direction", "in"), ("State", "on")], False),
    ("AbsoluteTimeout", [("Channel", "{callee}"), ("Timeout", "0")], False),
    (
        "MixMonitor",
        [("Channel", "{callee}"), ("File", "amilab-breadth.wav")],
        False,
        ["MixMonitorStart"],
    ),
    ("MixMonitorMute", [("Channel", "{callee}"), ("Direction", "both"), ("State", "1")], False),
    ("StopMixMonitor", [("Channel", "{callee}")], False, ["MixMonitorStop"]),
    ("StopMixMonitor", [("Channel", "{callee}")], False),  # none left to stop
    ("PlayDTMF", [("Channel", "{callee}")], False),
    ("SendText", [("Channel", "{callee}")], False),
    ("MuteAudio", [("Channel", "{callee}"), ("Direction", "sideways"), ("State", "on")], False),
    ("BridgeKick", [("Channel", "{callee}")], True, ["BridgeLeave", "Hangup"]),
    ("BridgeDestroy", [("BridgeUniqueid", "{bridge}")], True),
    ("LocalOptimizeAway", [("Channel", "{callee}")], True),
    (
        "BlindTransfer",
        [("Channel", "{callee}"), ("Exten", "500"), ("Context", "amilab")],
        True,
        ["BlindTransfer"],
    ),
    ("Park", [("Channel", "{caller}")], True, ["ParkedCall"]),
    ("ParkedCalls", [], False),
]
#: Every channel of the live call, for Hangup's regex form.
LIVE_CHANNELS = r"/^Local\/(600|102)@amilab/"


def helper(pairs: list[tuple[str, str]]) -> str:
    """One action on a fresh, unrecorded admin connection; its reply."""
    return probe(pairs[0][1], pairs[1:])


def blocks(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\r\n\r\n"):
        pairs = [line.split(": ", 1) for line in block.split("\r\n") if ": " in line]
        if pairs:
            out.append(dict(pairs))
    return out


def setup_call() -> dict[str, str]:
    """Start the bridged call and name its bridge and channels."""
    helper([("Action", "Hangup"), ("Channel", LIVE_CHANNELS)])
    time.sleep(0.5)
    helper([("Action", "Originate"), ("Channel", "Local/600@amilab-breadth"),
            ("Application", "Wait"), ("Data", "30"), ("Async", "true")])  # fmt: skip
    end = time.monotonic() + 10
    while time.monotonic() < end:
        bridges = [b for b in blocks(helper([("Action", "BridgeList")])) if "BridgeUniqueid" in b]
        for bridge in [b["BridgeUniqueid"] for b in bridges]:  # others: a parking lot's
            info = blocks(helper([("Action", "BridgeInfo"), ("BridgeUniqueid", bridge)]))
            names = [b["Channel"] for b in info if b.get("Event") == "BridgeInfoChannel"]
            callee = [n for n in names if n.startswith("Local/102@")]
            caller = [n for n in names if n.startswith("Local/600@")]
            if len(names) == 2 and callee and caller:
                return {"bridge": bridge, "callee": callee[0], "caller": caller[0]}
        time.sleep(0.2)
    raise RuntimeError("the bridged call did not come up")


def live_probes() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    names: dict[str, str] | None = None
    for action, headers, fresh, *events in LIVE_PROBES:
        if names is None or fresh:
            names = setup_call()
        sent = [(k, v.format(**names)) for k, v in headers]
        reply = probe(action, sent, "on" if events else "off")
        entry = {"action": action, "sent": [list(p) for p in headers], "live": True}
        out.append({**entry, **({"events": events[0]} if events else {}), "reply": reply})
        print(f"live {action} {sent}: {reply.splitlines()[:3]}", file=sys.stderr)
    helper([("Action", "Hangup"), ("Channel", LIVE_CHANNELS)])
    return out


def _send(sock: socket.socket, pairs: list[tuple[str, str]]) -> None:
    sock.sendall(("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode())


def _done(data: bytes, action_id: str) -> bool:
    """The probe's response arrived and, for a list, its Complete event too."""
    marker = f"ActionID: {action_id}\r\n".encode()
    # Each block gets its line end back: ActionID may be its last line.
    blocks = [b + b"\r\n" for b in data.split(b"\r\n\r\n")]
    blocks = [b for b in blocks if marker in b]
    if not any(b.startswith(b"Response:") for b in blocks):
        return False
    if not any(b"EventList: start" in b for b in blocks):
        return True
    return any(b"EventList: Complete" in b for b in blocks)


def probe(action: str, headers: list[tuple[str, str]], events: str = "off") -> str:
    """Send one probe on a fresh admin connection; the bytes after the login reply."""
    sock = socket.create_connection((HOST, PORT), timeout=10)
    sock.settimeout(0.1)
    _send(
        sock,
        [
            ("Action", "Login"),
            ("Username", USER),
            ("Secret", SECRET),
            ("Events", events),
            ("ActionID", "login"),
        ],
    )
    data = bytearray()
    end = time.monotonic() + REPLY_TIMEOUT
    while b"ActionID: login\r\n" not in data or not data.endswith(b"\r\n\r\n"):
        if time.monotonic() > end:
            raise RuntimeError("login did not answer")
        with contextlib.suppress(TimeoutError):
            data += sock.recv(65536)
    start = len(data)
    given = any(k == "ActionID" for k, _ in headers)  # a probe may place it itself
    _send(sock, [("Action", action), *headers, *([] if given else [("ActionID", "probe")])])
    end = time.monotonic() + REPLY_TIMEOUT
    closed = False
    while not _done(bytes(data[start:]), "probe") and time.monotonic() < end and not closed:
        try:
            chunk = sock.recv(65536)
            closed = not chunk
            data += chunk
        except TimeoutError:
            pass
    settle = time.monotonic() + SETTLE
    while time.monotonic() < settle and not closed:
        try:
            chunk = sock.recv(65536)
            closed = not chunk
            data += chunk
        except TimeoutError:
            pass
    sock.close()
    return bytes(data[start:]).decode("utf-8", "replace")


def list_commands() -> list[str]:
    text = probe("ListCommands", [])
    return [line.split(":", 1)[0] for line in text.split("\r\n") if "(Priv: " in line]


def asterisk_version() -> str:
    try:
        out = subprocess.run(
            ["chroot", ROOT, "asterisk", "-V"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip()
    except OSError:
        return "unknown"


def main(only: list[str]) -> None:
    actions = list_commands()
    old = json.loads(OUT.read_text()) if only and OUT.exists() else {"probes": []}
    kept = [p for p in old["probes"] if p["action"] not in only or p.get("live")]
    probes = []
    for name in actions:
        if only and name not in only:
            continue
        for headers in PROBES.get(name, [[]]):
            reply = probe(name, headers)
            probes.append({"action": name, "sent": [list(p) for p in headers], "reply": reply})
        for headers, wanted in EVENT_PROBES.get(name, []):
            reply = probe(name, headers, events="on")
            probes.append(
                {"action": name, "sent": [list(p) for p in headers], "events": wanted,
                 "reply": reply}
            )  # fmt: skip
            print(f"{name} {headers}: {reply.splitlines()[:3]}", file=sys.stderr)
    live = [p for p in kept if p.get("live")]
    kept = [p for p in kept if not p.get("live")]
    if not only or "live" in only:
        live = live_probes()
    order = {name: i for i, name in enumerate(actions)}
    # The live probes last, in the order they were sent: they share calls.
    merged = sorted(kept + probes, key=lambda p: order.get(p["action"], len(order))) + live
    doc = {
        "asterisk": asterisk_version(),
        "recorded_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "notes": (__doc__ or "").strip().split("\n\n")[1],
        "actions": actions,
        "probes": merged,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}: {len(merged)} probes of {len(actions)} actions", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
