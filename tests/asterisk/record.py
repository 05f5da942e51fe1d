#!/usr/bin/env python3
"""Record real AMI transcripts from the Asterisk 22 sandbox.

    tests/asterisk/sandbox.sh start && python tests/asterisk/record.py [scenario ...]

Stdlib only, raw sockets, no project code.  For every scenario a fresh
connection is opened and EXACTLY the bytes the server sent (greeting line
included, CRLF kept) are written to tests/fixtures/asterisk22/<name>.ami.
tests/fixtures/asterisk22/scenarios.json describes the actions sent.

Env: AMILAB_ASTERISK_HOST (127.0.0.1), AMILAB_ASTERISK_PORT (15038),
     AMILAB_ASTERISK_ROOT (chroot, used only for `asterisk -V` in metadata).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import socket
import subprocess
import sys
import time

HOST = os.environ.get("AMILAB_ASTERISK_HOST", "127.0.0.1")
PORT = int(os.environ.get("AMILAB_ASTERISK_PORT", "15038"))
ROOT = os.environ.get("AMILAB_ASTERISK_ROOT", "/var/cache/amilab/asterisk-sid")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "asterisk22"))

USERS = {"admin": "amilab-admin", "readonly": "amilab-readonly"}


# --------------------------------------------------------------------------
# tiny AMI reader (only what the recorder needs to know when to stop)
# --------------------------------------------------------------------------
def parse_message(block: bytes) -> list[tuple[str, str]]:
    pairs = []
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            pairs.append((k.strip(), v.strip()))
        elif line:
            pairs.append(("", line))
    return pairs


def get(msg, key, default=None):
    key = key.lower()
    for k, v in msg:
        if k.lower() == key:
            return v
    return default


class Conn:
    def __init__(self, host=HOST, port=PORT):
        self.t0 = time.monotonic()
        self.sock = socket.create_connection((host, port), timeout=10)
        self.raw = bytearray()
        self.buf = bytearray()
        self.greeting = None
        self.messages: list[list[tuple[str, str]]] = []
        self.closed = False
        self.closed_at = None
        self.chunks: list[tuple[float, int]] = []
        self.sent: list[tuple[float, list]] = []

    def now(self):
        return round(time.monotonic() - self.t0, 4)

    def _feed(self, data: bytes):
        self.raw += data
        self.buf += data
        if self.greeting is None:
            i = self.buf.find(b"\r\n")
            if i < 0:
                return
            self.greeting = bytes(self.buf[:i]).decode()
            del self.buf[: i + 2]
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                break
            block = bytes(self.buf[:i])
            del self.buf[: i + 4]
            self.messages.append(parse_message(block))

    def pump(self, timeout: float) -> bool:
        """Read for at most `timeout` s; False once the server closed."""
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            self.closed = True
            self.closed_at = self.now()
            return False
        self.chunks.append((self.now(), len(data)))
        self._feed(data)
        return True

    def wait(self, pred, timeout=30.0) -> bool:
        end = time.monotonic() + timeout
        while not pred():
            left = end - time.monotonic()
            if left <= 0:
                return False
            if not self.pump(min(left, 0.2)) and not pred():
                return pred()
        return True

    def settle(self, seconds: float):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.pump(end - time.monotonic()):
                break

    def send(self, pairs):
        data = "".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n"
        self.sent.append((self.now(), [list(p) for p in pairs]))
        self.sock.sendall(data.encode())

    def send_raw(self, data: bytes, pairs_for_log):
        self.sent.append((self.now(), pairs_for_log))
        self.sock.sendall(data)

    # predicates -------------------------------------------------------
    def response(self, action_id):
        for m in self.messages:
            if get(m, "Response") is not None and get(m, "ActionID") == action_id:
                return m
        return None

    def response_done(self, action_id):
        """Response seen, and for lists the ...Complete event too."""
        r = self.response(action_id)
        if r is None:
            return False
        if (get(r, "EventList") or "").lower() != "start":
            return True
        return any(
            get(m, "Event") is not None
            and get(m, "ActionID") == action_id
            and (get(m, "EventList") or "").lower() == "complete"
            for m in self.messages
        )

    def event(self, name, action_id=None):
        for m in self.messages:
            if (get(m, "Event") or "").lower() == name.lower() and (
                action_id is None or get(m, "ActionID") == action_id
            ):
                return m
        return None

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


# --------------------------------------------------------------------------
# helper connection (not recorded): set up / tear down live calls
# --------------------------------------------------------------------------
_helper_seq = [0]


def helper_action(pairs, timeout=15.0):
    c = Conn()
    c.wait(lambda: c.greeting is not None, 5)
    c.send(
        [
            ("Action", "Login"),
            ("Username", "admin"),
            ("Secret", USERS["admin"]),
            ("Events", "off"),
            ("ActionID", "h-login"),
        ]
    )
    c.wait(lambda: c.response("h-login") is not None, 5)
    _helper_seq[0] += 1
    aid = f"h-{_helper_seq[0]}"
    c.send([*list(pairs), ("ActionID", aid)])
    c.wait(lambda: c.response_done(aid), timeout)
    msgs = [m for m in c.messages if get(m, "ActionID") == aid]
    c.send([("Action", "Logoff"), ("ActionID", "h-bye")])
    c.wait(lambda: c.closed, 3)
    c.close()
    return msgs


def channels():
    msgs = helper_action([("Action", "CoreShowChannels")])
    return [m for m in msgs if get(m, "Event") == "CoreShowChannel"]


def wait_idle(timeout=40.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not channels():
            return True
        time.sleep(0.3)
    # force it
    for ch in channels():
        helper_action([("Action", "Hangup"), ("Channel", get(ch, "Channel"))])
    time.sleep(0.5)
    return not channels()


def start_live_call(tag: str, exten: str = "102") -> str:
    """Originate a long call with a known uniqueid; return the ;1 channel name."""
    uid = f"amilab-{tag}"
    helper_action(
        [
            ("Action", "Originate"),
            ("Channel", f"Local/{exten}@amilab"),
            ("Application", "Wait"),
            ("Data", "30"),
            ("Async", "true"),
            ("ChannelId", uid),
            ("OtherChannelId", uid + "-2"),
            ("CallerID", '"Live Call" <555>'),
        ]
    )
    end = time.monotonic() + 10
    while time.monotonic() < end:
        for ch in channels():
            if get(ch, "Uniqueid") == uid and get(ch, "ChannelStateDesc") == "Up":
                time.sleep(0.3)
                return get(ch, "Channel")
        time.sleep(0.2)
    raise RuntimeError("live call did not come up")


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------
class Rec:
    """One recorded scenario."""

    def __init__(self, name, user="admin", notes=""):
        self.name = name
        self.user = user
        self.notes = notes
        self.login_mode = "plain"
        self.c = Conn()
        self.n = 0
        self.steps = []
        self.extra = {}
        if not self.c.wait(lambda: self.c.greeting is not None, 10):
            raise RuntimeError("no greeting")

    def aid(self):
        self.n += 1
        return f"rec-{self.n}"

    def act(self, pairs, wait=None, timeout=30.0, settle=0.0, expect=None, with_id=True):
        pairs = list(pairs)
        aid = None
        if with_id:
            aid = self.aid()
            pairs.append(("ActionID", aid))
        self.c.send(pairs)
        t_sent = self.c.now()
        ok = self.c.wait(wait(aid) if wait else (lambda: self.c.response_done(aid)), timeout)
        step = {
            "action": [list(p) for p in pairs],
            "action_id": aid,
            "sent_at": t_sent,
            "complete_at": self.c.now(),
            "complete": ok,
        }
        if expect:
            step["expect"] = expect
        self.steps.append(step)
        if not ok:
            print(f"  !! {self.name}: step {aid} did not complete", file=sys.stderr)
        if settle:
            self.c.settle(settle)
        return aid

    def login(self, events=None):
        pairs = [("Action", "Login"), ("Username", self.user), ("Secret", USERS[self.user])]
        if events is not None:
            pairs.append(("Events", events))
        return self.act(pairs)

    def login_md5(self):
        self.login_mode = "md5"
        a = self.act([("Action", "Challenge"), ("AuthType", "md5")])
        challenge = get(self.c.response(a), "Challenge")
        key = hashlib.md5((challenge + USERS[self.user]).encode()).hexdigest()
        self.extra["md5"] = {
            "challenge": challenge,
            "key": key,
            "formula": "md5hex(challenge + secret)",
        }
        return self.act(
            [("Action", "Login"), ("AuthType", "md5"), ("Username", self.user), ("Key", key)]
        )

    def finish(self, settle=0.5):
        self.c.settle(settle)
        self.c.close()
        path = os.path.join(OUT, self.name + ".ami")
        with open(path, "wb") as f:
            f.write(bytes(self.c.raw))
        meta = {
            "file": self.name + ".ami",
            "user": self.user,
            "login": self.login_mode,
            "notes": self.notes,
            "greeting": self.c.greeting,
            "steps": self.steps,
            "closed_by_server": self.c.closed,
            "closed_at": self.c.closed_at,
            "duration": self.c.now(),
            "bytes": len(self.c.raw),
            "messages": len(self.c.messages),
            "events": sorted({get(m, "Event") for m in self.c.messages if get(m, "Event")}),
        }
        meta.update(self.extra)
        print(
            f"  {self.name}: {len(self.c.raw)} bytes, {len(self.c.messages)} msgs,"
            f" closed={self.c.closed}"
        )
        return meta


def resp_and_event(c, name):
    return lambda aid: lambda: c.response_done(aid) and c.event(name, aid) is not None


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.removeprefix("sc_")] = fn
    return fn


@scenario
def sc_login_plain():
    r = Rec(
        "login_plain",
        notes="greeting, plain Login; then 1 s settle to catch login-time events (FullyBooted, SuccessfulAuth)",
    )
    r.login()
    return r.finish(1.0)


@scenario
def sc_login_md5():
    r = Rec(
        "login_md5",
        notes="Challenge AuthType md5, then Login AuthType md5 Key=md5hex(challenge+secret)",
    )
    r.login_md5()
    return r.finish(1.0)


@scenario
def sc_login_wrong_password():
    r = Rec(
        "login_wrong_password",
        notes="Login with a wrong Secret; read until the server closes the socket. See timing: sent_at/complete_at/closed_at (s since connect).",
    )
    aid = r.aid()
    pairs = [
        ("Action", "Login"),
        ("Username", "admin"),
        ("Secret", "wrong-secret"),
        ("ActionID", aid),
    ]
    r.c.send(pairs)
    sent = r.c.now()
    r.c.wait(lambda: r.c.response(aid) is not None, 10)
    got = r.c.now()
    r.c.wait(lambda: r.c.closed, 10)
    r.steps.append(
        {
            "action": [list(p) for p in pairs],
            "action_id": aid,
            "sent_at": sent,
            "complete_at": got,
            "complete": True,
        }
    )
    r.extra["timing"] = {
        "login_sent_at": sent,
        "response_at": got,
        "response_delay_s": round(got - sent, 3),
        "closed_at": r.c.closed_at,
        "chunks": r.c.chunks,
    }
    return r.finish(0.2)


@scenario
def sc_security_events_observer():
    r = Rec(
        "security_events_observer",
        notes="admin is logged in (read=all incl. security) while a SECOND connection (not recorded) logs in with a wrong password, then with an unknown user, then with MD5 correctly: the recorded stream shows InvalidPassword / InvalidAccountID / ChallengeSent / SuccessfulAuth etc. as another user sees them",
    )
    r.login()
    r.c.settle(0.5)
    side = [
        [
            ("Action", "Login"),
            ("Username", "admin"),
            ("Secret", "wrong-secret"),
            ("ActionID", "side-1"),
        ],
        [("Action", "Login"), ("Username", "nosuchuser"), ("Secret", "x"), ("ActionID", "side-2")],
    ]
    r.extra["side_connections"] = []
    for pairs in side:
        c = Conn()
        c.wait(lambda c=c: c.greeting is not None, 5)
        c.send(pairs)
        c.wait(lambda c=c: c.closed, 5)
        c.close()
        r.extra["side_connections"].append([list(p) for p in pairs])
        r.c.settle(0.3)
    c = Conn()
    c.wait(lambda: c.greeting is not None, 5)
    c.send([("Action", "Challenge"), ("AuthType", "md5"), ("ActionID", "side-3")])
    c.wait(lambda: c.response("side-3") is not None, 5)
    ch = get(c.response("side-3"), "Challenge")
    key = hashlib.md5((ch + USERS["admin"]).encode()).hexdigest()
    pairs = [
        ("Action", "Login"),
        ("AuthType", "md5"),
        ("Username", "admin"),
        ("Key", key),
        ("ActionID", "side-4"),
    ]
    c.send(pairs)
    c.wait(lambda: c.response("side-4") is not None, 5)
    c.send([("Action", "Logoff"), ("ActionID", "side-5")])
    c.wait(lambda: c.closed, 5)
    c.close()
    r.extra["side_connections"].append(
        [["Action", "Challenge"], ["AuthType", "md5"], ["ActionID", "side-3"]]
    )
    r.extra["side_connections"].append([list(p) for p in pairs])
    r.extra["side_connections"].append([["Action", "Logoff"], ["ActionID", "side-5"]])
    return r.finish(1.0)


@scenario
def sc_ping():
    r = Rec("ping")
    r.login()
    r.act([("Action", "Ping")])
    return r.finish()


@scenario
def sc_events_off_on():
    r = Rec("events_off_on", notes="Events EventMask off, then on")
    r.login()
    r.c.settle(0.5)
    r.act([("Action", "Events"), ("EventMask", "off")])
    r.act([("Action", "Events"), ("EventMask", "on")])
    r.act([("Action", "Events"), ("EventMask", "system,call")])
    return r.finish()


@scenario
def sc_filter():
    wait_idle()
    r = Rec(
        "filter",
        notes="Filter Operation Add 'Event: Hangup', then a short call: only Hangup events (and responses) should arrive",
    )
    r.login()
    r.c.settle(0.5)
    r.act([("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: Hangup")])
    r.act(
        [
            ("Action", "Originate"),
            ("Channel", "Local/100@amilab"),
            ("Application", "Wait"),
            ("Data", "1"),
            ("Async", "true"),
        ]
    )
    return r.finish(4.0)


def command_scenario(name, cmd, notes=""):
    r = Rec(name, notes=notes or f"Command: {cmd}")
    r.login()
    r.c.settle(0.3)
    r.act([("Action", "Command"), ("Command", cmd)])
    return r.finish()


@scenario
def sc_command_core_show_uptime():
    return command_scenario("command_core_show_uptime", "core show uptime")


@scenario
def sc_command_core_show_channels():
    return command_scenario("command_core_show_channels", "core show channels")


@scenario
def sc_command_pjsip_show_endpoints():
    return command_scenario(
        "command_pjsip_show_endpoints",
        "pjsip show endpoints",
        "Command: pjsip show endpoints (output contains blank lines)",
    )


@scenario
def sc_command_manager_show_command_originate():
    return command_scenario(
        "command_manager_show_command_originate", "manager show command Originate"
    )


@scenario
def sc_command_core_show_settings():
    return command_scenario(
        "command_core_show_settings", "core show settings", "Command with blank lines in its output"
    )


@scenario
def sc_command_unknown():
    return command_scenario(
        "command_unknown", "no such cli command", "Command with a CLI command that does not exist"
    )


@scenario
def sc_command_core_show_help():
    return command_scenario("command_core_show_help", "core show help")


def simple(name, pairs, notes="", settle=0.5, user="admin"):
    r = Rec(name, user=user, notes=notes)
    r.login()
    r.c.settle(0.3)
    r.act(pairs)
    return r.finish(settle)


@scenario
def sc_listcommands():
    return simple("listcommands", [("Action", "ListCommands")])


@scenario
def sc_coresettings():
    return simple("coresettings", [("Action", "CoreSettings")])


@scenario
def sc_corestatus():
    return simple("corestatus", [("Action", "CoreStatus")])


@scenario
def sc_coreshowchannels_empty():
    wait_idle()
    return simple("coreshowchannels_empty", [("Action", "CoreShowChannels")])


@scenario
def sc_coreshowchannels_call():
    wait_idle()
    ch = start_live_call("csc")
    r = simple(
        "coreshowchannels_call",
        [("Action", "CoreShowChannels")],
        notes=f"during a live call Local/102@amilab (Wait 30), ;1 channel {ch}",
    )
    helper_action([("Action", "Hangup"), ("Channel", ch)])
    return r


@scenario
def sc_pjsipshowendpoints():
    return simple("pjsipshowendpoints", [("Action", "PJSIPShowEndpoints")])


@scenario
def sc_pjsipshowendpoint_100():
    return simple("pjsipshowendpoint_100", [("Action", "PJSIPShowEndpoint"), ("Endpoint", "100")])


@scenario
def sc_status():
    wait_idle()
    ch = start_live_call("status")
    r = Rec(
        "status",
        notes=f"Status with no channel filter during a live call ({ch}); then Status Channel=<that channel>",
    )
    r.login()
    r.c.settle(0.3)
    r.act([("Action", "Status")])
    r.act([("Action", "Status"), ("Channel", ch)])
    r.act([("Action", "Status"), ("Channel", "PJSIP/nope-00000000")])
    m = r.finish()
    helper_action([("Action", "Hangup"), ("Channel", ch)])
    return m


@scenario
def sc_originate_sync():
    wait_idle()
    r = Rec(
        "originate_sync",
        notes="synchronous Originate (no Async): the response arrives only once the call is answered; then ~3 s of events",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "Originate"),
            ("Channel", "Local/100@amilab"),
            ("Application", "Wait"),
            ("Data", "1"),
            ("Timeout", "10000"),
        ]
    )
    return r.finish(3.0)


@scenario
def sc_originate_async_call():
    wait_idle()
    r = Rec(
        "originate_async_call",
        notes="Originate Async=true Local/200@amilab -> Dial(Local/100@amilab) then context amilab exten 100; ALL events for ~6 s (the real-call corpus)",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "Originate"),
            ("Channel", "Local/200@amilab"),
            ("Context", "amilab"),
            ("Exten", "100"),
            ("Priority", "1"),
            ("CallerID", '"Amilab Test" <999>'),
            ("Variable", "AMILAB_VAR1=one"),
            ("Variable", "AMILAB_VAR2=two"),
            ("Async", "true"),
        ],
        wait=resp_and_event(r.c, "OriginateResponse"),
    )
    return r.finish(6.0)


@scenario
def sc_originate_async_fail():
    wait_idle()
    r = Rec(
        "originate_async_fail",
        notes="Originate Async to an unreachable PJSIP endpoint: OriginateResponse Response: Failure",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "Originate"),
            ("Channel", "PJSIP/101"),
            ("Context", "amilab"),
            ("Exten", "100"),
            ("Priority", "1"),
            ("Async", "true"),
        ],
        wait=resp_and_event(r.c, "OriginateResponse"),
    )
    return r.finish(1.0)


@scenario
def sc_hangup():
    wait_idle()
    ch = start_live_call("hangup")
    r = Rec("hangup", notes=f"Hangup of a live channel ({ch}); then Hangup of a missing channel")
    r.login()
    r.c.settle(0.3)
    r.act([("Action", "Hangup"), ("Channel", ch), ("Cause", "16")])
    r.c.settle(1.0)
    r.act([("Action", "Hangup"), ("Channel", "Local/nope@amilab-00000000;1")])
    return r.finish(1.0)


@scenario
def sc_redirect():
    wait_idle()
    ch = start_live_call("redirect")
    r = Rec(
        "redirect",
        notes=f"Redirect live channel {ch} to amilab,500,1 (Answer, Wait 2, Hangup); events for 4 s",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "Redirect"),
            ("Channel", ch),
            ("Context", "amilab"),
            ("Exten", "500"),
            ("Priority", "1"),
        ]
    )
    return r.finish(4.0)


@scenario
def sc_getvar_setvar():
    wait_idle()
    ch = start_live_call("vars")
    r = Rec(
        "getvar_setvar",
        notes=f"global Setvar/Getvar, missing var, on channel {ch}, function CALLERID(num), missing channel",
    )
    r.login()
    r.c.settle(0.3)
    r.act([("Action", "Setvar"), ("Variable", "AMILAB_G"), ("Value", "42")])
    r.act([("Action", "Getvar"), ("Variable", "AMILAB_G")])
    r.act([("Action", "Getvar"), ("Variable", "AMILAB_GLOBAL")])
    r.act([("Action", "Getvar"), ("Variable", "AMILAB_NOT_SET")])
    r.act(
        [("Action", "Setvar"), ("Channel", ch), ("Variable", "AMILAB_C"), ("Value", "chan value")]
    )
    r.act([("Action", "Getvar"), ("Channel", ch), ("Variable", "AMILAB_C")])
    r.act([("Action", "Getvar"), ("Channel", ch), ("Variable", "CALLERID(num)")])
    r.act([("Action", "Getvar"), ("Channel", "Local/nope@amilab-00000000;1"), ("Variable", "X")])
    r.act([("Action", "Setvar"), ("Variable", "AMILAB_G")])
    m = r.finish()
    helper_action([("Action", "Hangup"), ("Channel", ch)])
    return m


@scenario
def sc_db():
    r = Rec(
        "db",
        notes="DBPut, DBGet (found: response + DBGetResponse event + DBGetComplete), DBDel, DBGet of the deleted/missing key, DBDel missing",
    )
    r.login()
    r.c.settle(0.3)
    r.act([("Action", "DBPut"), ("Family", "amilab"), ("Key", "k1"), ("Val", "v1")])
    r.act([("Action", "DBGet"), ("Family", "amilab"), ("Key", "k1")])
    r.act([("Action", "DBDel"), ("Family", "amilab"), ("Key", "k1")])
    r.act([("Action", "DBGet"), ("Family", "amilab"), ("Key", "k1")])
    r.act([("Action", "DBDel"), ("Family", "amilab"), ("Key", "k1")])
    return r.finish()


@scenario
def sc_queuestatus():
    return simple("queuestatus", [("Action", "QueueStatus")])


@scenario
def sc_queuesummary():
    return simple("queuesummary", [("Action", "QueueSummary")])


@scenario
def sc_queue_add_remove():
    r = Rec(
        "queue_add_remove",
        notes="QueueAdd, QueueAdd again (already there), QueuePause, QueueRemove, QueueRemove again (not there)",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "QueueAdd"),
            ("Queue", "support"),
            ("Interface", "Local/402@amilab/n"),
            ("MemberName", "Agent 402"),
            ("Penalty", "1"),
            ("Paused", "false"),
        ]
    )
    r.act([("Action", "QueueAdd"), ("Queue", "support"), ("Interface", "Local/402@amilab/n")])
    r.act(
        [
            ("Action", "QueuePause"),
            ("Queue", "support"),
            ("Interface", "Local/402@amilab/n"),
            ("Paused", "true"),
            ("Reason", "lunch"),
        ]
    )
    r.act([("Action", "QueueRemove"), ("Queue", "support"), ("Interface", "Local/402@amilab/n")])
    r.act([("Action", "QueueRemove"), ("Queue", "support"), ("Interface", "Local/402@amilab/n")])
    return r.finish()


@scenario
def sc_queue_call():
    wait_idle()
    r = Rec(
        "queue_call",
        notes="Originate Local/300@amilab (Queue support, ringall Local/400+401) Application Wait 6; events for ~10 s",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "Originate"),
            ("Channel", "Local/300@amilab"),
            ("Application", "Wait"),
            ("Data", "6"),
            ("CallerID", '"Queue Caller" <777>'),
            ("Async", "true"),
        ],
        wait=resp_and_event(r.c, "OriginateResponse"),
    )
    return r.finish(10.0)


@scenario
def sc_userevent():
    r = Rec(
        "userevent",
        notes="UserEvent AmilabTest with custom headers; does the event carry ActionID, and does it arrive before/after the response?",
    )
    r.login()
    r.c.settle(0.5)
    r.act(
        [
            ("Action", "UserEvent"),
            ("UserEvent", "AmilabTest"),
            ("Header1", "value one"),
            ("X-Custom", "custom: with colon"),
        ],
        wait=lambda aid: (
            lambda: r.c.response(aid) is not None and r.c.event("UserEvent") is not None
        ),
    )
    return r.finish()


@scenario
def sc_sippeers():
    return simple("sippeers", [("Action", "SIPPeers")], notes="chan_sip is gone in 22")


@scenario
def sc_sipshowpeer():
    return simple(
        "sipshowpeer", [("Action", "SIPshowpeer"), ("Peer", "100")], notes="chan_sip is gone in 22"
    )


@scenario
def sc_unknown_action():
    return simple("unknown_action", [("Action", "NoSuchAction")])


@scenario
def sc_missing_action():
    r = Rec("missing_action", notes="a message without an Action header")
    r.login()
    r.c.settle(0.3)
    r.act([("Foo", "bar")])
    return r.finish()


@scenario
def sc_readonly_originate():
    r = Rec(
        "readonly_originate",
        user="readonly",
        notes="user readonly (read=all, no write) tries Originate and Ping",
    )
    r.login()
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "Originate"),
            ("Channel", "Local/100@amilab"),
            ("Application", "Wait"),
            ("Data", "1"),
        ]
    )
    r.act([("Action", "Ping")])
    r.act([("Action", "Command"), ("Command", "core show uptime")])
    return r.finish()


@scenario
def sc_action_before_login():
    r = Rec("action_before_login", notes="Ping and Command before Login (not authenticated)")
    r.act([("Action", "Ping")])
    r.act([("Action", "Command"), ("Command", "core show uptime")])
    return r.finish()


@scenario
def sc_logoff():
    r = Rec("logoff", notes="Logoff: Response Goodbye, then the server closes")
    r.login()
    r.c.settle(0.3)
    r.act([("Action", "Logoff")])
    r.c.wait(lambda: r.c.closed, 5)
    return r.finish(0.2)


def asterisk_version():
    try:
        out = subprocess.run(
            ["chroot", ROOT, "asterisk", "-rx", "core show version"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out or None
    except Exception:
        return None


def save_scenario_files(scenarios, argv):
    """Run the named (or all) scenarios and write each one's metadata as NAME.json.

    For the later recorders that keep one JSON per scenario beside its .ami
    (record_captures.py, record_simulate.py). Secret values are replaced.
    """
    for name in argv or list(scenarios):
        print(f"recording {name}")
        meta = scenarios[name]()
        for step in meta["steps"]:  # test-only secrets still stay out of saved files
            step["action"] = [[k, "<secret>" if k == "Secret" else v] for k, v in step["action"]]
        version = asterisk_version() or ""
        meta["asterisk_version"] = version.split(" built by ")[0]
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")


def main(argv):
    names = argv or list(SCENARIOS)
    os.makedirs(OUT, exist_ok=True)
    index_path = os.path.join(OUT, "scenarios.json")
    index = {}
    if argv and os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index.setdefault("scenarios", {})
    index.update(
        {
            "asterisk_version": asterisk_version(),
            "recorded_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": HOST,
            "port": PORT,
            "users": {u: {"secret": s} for u, s in USERS.items()},
            "format": "each <file> holds exactly the bytes the server sent (CRLF kept), greeting line first",
        }
    )
    for n in names:
        print(f"recording {n}")
        index["scenarios"][n] = SCENARIOS[n]()
    index["scenarios"] = dict(sorted(index["scenarios"].items()))
    with open(index_path, "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    wait_idle()


if __name__ == "__main__":
    main(sys.argv[1:])
