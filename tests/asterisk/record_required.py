#!/usr/bin/env python3
"""Record whether Asterisk 22 refuses an action whose "required" header is missing.

    tests/asterisk/sandbox.sh start && python tests/asterisk/record_required.py

Asterisk's XML documentation marks parameters ``required="true"``; whether
manager.c (or the module) really refuses the action without one is only
known by asking. For every documented-required header of every action the
sandbox has loaded, this sends the action with THAT header left out and
every other required header given a harmless value that names nothing real
(a channel ``AmilabProbe/none``, a family ``amilab-probe``), on a fresh admin
connection, and writes every reply to
tests/fixtures/asterisk22/required_params.json.

``refused`` is True when the answer is ``Response: Error``; ``answered`` is
False when no response came within REPLY_TIMEOUT (the action was taken, e.g.
WaitEvent waiting for events), which counts as not refused. A refusal may be
caused by a dummy value rather than the missing header (the reply message
says which); the catalog only relaxes a flag on an acceptance, which is
proof. Actions that could change the SHARED sandbox if Asterisk accepted the
gap are not sent (see SKIPPED).

Stdlib only, raw sockets; the action list comes from the generated catalog
(amilab/catalog/ami.json). Env: AMILAB_ASTERISK_HOST/PORT as record.py.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import subprocess
import time
from pathlib import Path

HOST = os.environ.get("AMILAB_ASTERISK_HOST", "127.0.0.1")
PORT = int(os.environ.get("AMILAB_ASTERISK_PORT", "15038"))
ROOT = os.environ.get("AMILAB_ASTERISK_ROOT", "/var/cache/amilab/asterisk-sid")
HERE = Path(__file__).resolve().parent
CATALOG = HERE.parent.parent / "amilab" / "catalog" / "ami.json"
OUT = HERE.parent / "fixtures" / "asterisk22" / "required_params.json"
USER, SECRET = "admin", "amilab-admin"
#: Seconds to wait for one reply; an accepted WaitEvent without Timeout would
#: wait much longer, and "no reply in time" is recorded as such.
REPLY_TIMEOUT = 5.0

SKIPPED = {
    "ModuleLoad": "loads/unloads modules of the shared sandbox",
    "DBDelTree": "without Family it could delete the whole AstDB",
    "UpdateConfig": "writes configuration files",
    "CreateConfig": "creates a configuration file",
    "DialplanExtensionAdd": "adds dialplan to the shared sandbox",
    # On a logged-in connection Asterisk answers any Login with "Success,
    # Already authenticated" before reading its headers: the probe proves nothing.
    "Login": "answered before its headers are read on a logged-in connection",
}
#: Values for the other required headers: valid in form, naming nothing that exists.
DUMMY = {
    "timeout": "1",
    "priority": "1",
    "penalty": "0",
    "paused": "false",
    "ringinuse": "false",
    "direction": "in",
    "state": "on",
    "family": "amilab-probe",
    "variable": "AMILAB_PROBE",
}
CHANNEL_DUMMY = "AmilabProbe/none"


def dummy(param: dict) -> str:
    name = param["name"].lower()
    if "channel" in name:
        return CHANNEL_DUMMY
    if param.get("enum"):
        return param["enum"][0]
    return DUMMY.get(name, "amilab-probe-none")


class Conn:
    """One logged-in admin connection; reads blank-line-terminated blocks."""

    def __init__(self) -> None:
        self.sock = socket.create_connection((HOST, PORT), timeout=10)
        self.buf = b""
        self.greeting = self._line()
        self.n = 0
        reply = self.send([("Action", "Login"), ("Username", USER), ("Secret", SECRET)])
        if get(reply, "Response") != "Success":
            raise SystemExit(f"login as {USER} refused: {reply}")

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _block(self, deadline: float) -> list[list[str]] | None:
        while b"\r\n\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not data:
                return None
            self.buf += data
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        pairs = []
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            pairs.append([key.strip(), value.strip()])
        return pairs

    def send(self, pairs: list[tuple[str, str]]) -> list[list[str]] | None:
        """Send one action; its response block (events skipped), or None on timeout."""
        self.n += 1
        action_id = f"probe-{self.n}"
        wire = "".join(f"{k}: {v}\r\n" for k, v in [*pairs, ("ActionID", action_id)]) + "\r\n"
        self.sock.sendall(wire.encode())
        deadline = time.monotonic() + REPLY_TIMEOUT
        while (block := self._block(deadline)) is not None:
            if get(block, "Response") is not None and get(block, "ActionID") == action_id:
                return block
        return None

    def close(self) -> None:
        self.sock.close()


def get(block: list[list[str]] | None, key: str) -> str | None:
    for k, v in block or ():
        if k.lower() == key.lower():
            return v
    return None


def loaded_actions() -> set[str]:
    conn = Conn()
    try:
        reply = conn.send([("Action", "ListCommands")])
    finally:
        conn.close()
    return {k for k, v in reply or () if "(Priv:" in v}


def probe(name: str, params: list[dict], missing: str) -> dict:
    sent = [("Action", name)]
    sent += [(p["name"], dummy(p)) for p in params if p.get("required") and p["name"] != missing]
    conn = Conn()
    try:
        reply = conn.send(sent)
    finally:
        conn.close()
    return {
        "action": name,
        "missing": missing,
        "sent": [list(pair) for pair in sent],
        "reply": reply,
        "answered": reply is not None,
        "refused": get(reply, "Response") == "Error",
    }


def version() -> str:
    try:
        out = subprocess.run(
            ["chroot", ROOT, "asterisk", "-V"], capture_output=True, text=True, timeout=30
        )
        return out.stdout.strip()
    except OSError:
        return "unknown"


def main() -> None:
    actions = json.loads(CATALOG.read_text())["actions"]
    loaded = loaded_actions()
    probes, skipped = [], {}
    for name in sorted(actions):
        params = actions[name]["params"]
        required = [p["name"] for p in params if p.get("required")]
        if not required:
            continue
        if name not in loaded:
            skipped[name] = "not loaded in the sandbox"
            continue
        if name in SKIPPED:
            skipped[name] = SKIPPED[name]
            continue
        for missing in required:
            probes.append(probe(name, params, missing))
            print(f"{name} without {missing}: {get(probes[-1]['reply'], 'Message')}")
    tidy = Conn()  # an accepted DBPut without Key/Val would leave amilab-probe behind
    tidy.send([("Action", "DBDelTree"), ("Family", "amilab-probe")])
    tidy.close()
    out = {
        "asterisk": version(),
        "recorded_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "user": USER,
        "notes": __doc__.split("\n\n")[2].replace("\n", " ").strip(),
        "skipped": skipped,
        "probes": probes,
    }
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}: {len(probes)} probes, {len(skipped)} actions skipped")


if __name__ == "__main__":
    main()
