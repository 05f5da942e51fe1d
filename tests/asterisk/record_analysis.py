#!/usr/bin/env python3
"""Record the real calls amilab.analysis is checked on (issue 12).

    AMILAB_ASTERISK_ROOT=... AMILAB_ASTERISK_PORT=... tests/asterisk/sandbox.sh start
    AMILAB_ASTERISK_ROOT=... AMILAB_ASTERISK_PORT=... \
        python tests/asterisk/record_analysis.py [capture ...]

Run it as root against a private sandbox: while it records it copies
tests/asterisk/analysis/queues.conf into the chroot and appends
tests/asterisk/analysis/extensions.conf to its dialplan (undone after), so
the shared sandbox's QueueStatus and dialplan keep their recorded shape.
``AMILAB_ANALYSIS_OUT`` writes elsewhere (for a re-run to compare).

Stdlib only (record.py's raw-socket reader, no project code). Each capture is
one AMI connection, logged in with all events, while calls are originated
into the ``amilab-analysis`` contexts of tests/asterisk/analysis/extensions.conf
from a second, unrecorded connection. It writes, under
tests/fixtures/asterisk22/analysis/:

* ``<name>.ami``: every event block as received, in amilab's capture format
  (amilab/recorder.py: greeting ``Asterisk Call Manager/amilab-capture-1``,
  then each block with ``X-Amilab-Received-At: <ns>`` added), so
  ``load_frame`` gives real receive times;
* ``<name>.queue_log``: the lines Asterisk appended to its own
  /var/log/asterisk/queue_log while the capture ran (the reference the
  queue figures are checked against);
* ``<name>.json``: what was done and when (seconds since connect).

Captures:

* ``day``: every call type, one after the other (caller numbers name them,
  see CALLS below), with an agent pause in between;
* ``in_progress``: the capture stops while a queue caller is still waiting
  and its agent's phone rings (the call is hung up afterwards, unrecorded);
* ``local_optimise``: a dial through a Local channel that carries media, so
  Asterisk optimises the Local pair away.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("amilab_record", os.path.join(HERE, "record.py"))
assert _spec is not None and _spec.loader is not None
record = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record)

OUT = os.environ.get("AMILAB_ANALYSIS_OUT", os.path.join(record.OUT, "analysis"))
#: The queues, kept out of the shared sandbox (see tests/asterisk/etc/queues.conf).
QUEUES_SRC = os.path.join(HERE, "analysis", "queues.conf")
QUEUES_DST = "etc/asterisk/amilab-analysis-queues.conf"
#: The dialplan, appended to the sandbox's extensions.conf while recording.
DIALPLAN_SRC = os.path.join(HERE, "analysis", "extensions.conf")
DIALPLAN_DST = "etc/asterisk/extensions.conf"
GREETING = b"Asterisk Call Manager/amilab-capture-1\r\n"
QUEUE_LOG = "/var/log/asterisk/queue_log"
CALLERS = "amilab-analysis-callers"
ENTRY = "amilab-analysis"


class StampedConn(record.Conn):
    """record.Conn that also keeps each block's raw bytes and receive time (ns)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[int, bytes]] = []
        self._raw_buf = bytearray()
        self._greeted = False

    def _feed(self, data: bytes) -> None:
        now = time.time_ns()
        super()._feed(data)
        self._raw_buf += data
        if not self._greeted:
            i = self._raw_buf.find(b"\r\n")
            if i < 0:
                return
            del self._raw_buf[: i + 2]
            self._greeted = True
        while (i := self._raw_buf.find(b"\r\n\r\n")) >= 0:
            self.blocks.append((now, bytes(self._raw_buf[: i + 2])))
            del self._raw_buf[: i + 4]


class Capture:
    def __init__(self, name: str, notes: str) -> None:
        self.name, self.notes = name, notes
        self.log_start = _log_size()
        self.c = StampedConn()
        self.c.wait(lambda: self.c.greeting is not None, 10)
        self.c.send(
            [
                ("Action", "Login"),
                ("Username", "admin"),
                ("Secret", record.USERS["admin"]),
                ("ActionID", "login"),
            ]
        )
        self.c.wait(lambda: self.c.response("login") is not None, 5)
        self.steps: list[dict[str, object]] = []

    def note(self, what: str) -> None:
        self.steps.append({"at": self.c.now(), "what": what})
        print(f"  {self.c.now():7.2f} {what}")

    def settle(self, seconds: float) -> None:
        self.c.settle(seconds)

    def originate(self, caller: str, stay: str, exten: str, name: str = "") -> None:
        """A caller phone (Local ;2 runs ``stay``) whose ;1 half enters ``exten``."""
        self.note(f"originate {caller} {stay} -> {exten}")
        record.helper_action(
            [
                ("Action", "Originate"),
                ("Channel", f"Local/{stay}@{CALLERS}"),
                ("Context", ENTRY),
                ("Exten", exten),
                ("Priority", "1"),
                ("CallerID", f'"{name or "Caller " + caller}" <{caller}>'),
                ("Async", "true"),
            ]
        )

    def action(self, pairs: list[tuple[str, str]]) -> list[object]:
        self.note(" ".join(f"{k}={v}" for k, v in pairs))
        msgs = record.helper_action(pairs)
        return [dict(m) for m in msgs]

    def wait_event(self, name: str, **headers: str) -> dict[str, str]:
        def find() -> dict[str, str] | None:
            for m in self.c.messages:
                d = {k: v for k, v in m}
                if d.get("Event") == name and all(d.get(k) == v for k, v in headers.items()):
                    return d
            return None

        self.c.wait(lambda: find() is not None, 30)
        found = find()
        if found is None:
            raise RuntimeError(f"no {name} event with {headers} within 30 s")
        return found

    def wait_quiet(self, timeout: float = 40.0) -> None:
        """Keep recording until no channel is left (asked on the helper connection)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.settle(0.3)
            if not record.channels():
                return
        raise RuntimeError("calls still up")

    def finish(self) -> None:
        self.c.send([("Action", "Logoff"), ("ActionID", "bye")])
        self.c.wait(lambda: self.c.closed, 3)
        self.c.close()
        os.makedirs(OUT, exist_ok=True)
        events = [(ns, raw) for ns, raw in self.c.blocks if raw.startswith(b"Event:")]
        with open(os.path.join(OUT, self.name + ".ami"), "wb") as f:
            f.write(GREETING)
            for ns, raw in events:
                f.write(raw + f"X-Amilab-Received-At: {ns}\r\n\r\n".encode())
        with open(os.path.join(OUT, self.name + ".queue_log"), "wb") as f:
            f.write(_log_tail(self.log_start))
        meta = {
            "notes": self.notes,
            "steps": self.steps,
            "asterisk_version": (record.asterisk_version() or "").split(" built by ")[0],
        }
        with open(os.path.join(OUT, self.name + ".json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")


def _log_file() -> str:
    return os.path.join(record.ROOT, QUEUE_LOG.lstrip("/"))


def _log_size() -> int:
    try:
        return os.path.getsize(_log_file())
    except OSError:
        return 0


def _log_tail(start: int) -> bytes:
    time.sleep(0.5)  # app_queue writes its last line as the call ends
    with open(_log_file(), "rb") as f:
        f.seek(start)
        return f.read()


def channel_of(event: dict[str, str], key: str = "DestChannel") -> str:
    return event[key]


def day() -> None:
    record.wait_idle()
    cap = Capture("day", notes="every call type in sequence; caller numbers: see the steps")
    cap.settle(0.5)
    # bob (rings unanswered) is paused for lunch while alice's queue call rings
    iface_bob = "Local/noanswer@amilab-analysis-agents/n"
    cap.action(
        [
            ("Action", "QueuePause"),
            ("Queue", "amilab-analysis-ringall"),
            ("Interface", iface_bob),
            ("Paused", "true"),
            ("Reason", "lunch"),
        ]
    )
    cap.settle(1.0)
    # 2001: queue ringall, alice answers after 2 s ring, talks 3 s, hangs up
    cap.originate("2001", "stay-20", "q-ringall")
    cap.wait_event("AgentComplete", CallerIDNum="2001")
    cap.settle(1.0)
    cap.action(
        [
            ("Action", "QueuePause"),
            ("Queue", "amilab-analysis-ringall"),
            ("Interface", iface_bob),
            ("Paused", "false"),
        ]
    )
    cap.settle(0.5)
    # 2002: queue ringall again, bob unpaused: his leg loses to alice's (Answered elsewhere)
    cap.originate("2002", "stay-20", "q-ringall")
    cap.wait_quiet()
    # 2003 abandons after 4 s; 2004 presses 1 (exit with key); 2005 times out (4 s)
    cap.originate("2003", "stay-4", "q-nobody")
    cap.settle(0.5)
    cap.originate("2004", "dtmf", "q-nobody")
    cap.settle(0.5)
    cap.originate("2005", "stay-15", "q-timeout")
    cap.wait_quiet()
    # 2006: queue call blind-transferred by erin to the target agent
    cap.originate("2006", "stay-20", "q-xfer")
    connect = cap.wait_event("AgentConnect", CallerIDNum="2006")
    cap.settle(1.5)
    cap.action(
        [
            ("Action", "BlindTransfer"),
            ("Channel", channel_of(connect)),
            ("Context", ENTRY),
            ("Exten", "to-target"),
        ]
    )
    cap.wait_quiet()
    cap.settle(1.5)
    # 2007: a dial to "long", who attended-transfers it to 7001
    cap.originate("2007", "stay-25", "dial-xfer")
    dial = cap.wait_event("DialEnd", CallerIDNum="2007", DialStatus="ANSWER")
    cap.settle(1.5)
    print(
        cap.action(
            [
                ("Action", "Atxfer"),
                ("Channel", channel_of(dial)),
                ("Context", "amilab-analysis-agents"),
                ("Exten", "7001"),
            ]
        )
    )
    cap.wait_event("AttendedTransfer")
    cap.wait_quiet()
    cap.settle(1.5)
    # 2008: a dial through a Local channel that optimises away; alice answers
    cap.originate("2008", "stay-15", "dial-local")
    cap.wait_quiet()
    cap.settle(1.5)
    # 2009 parks itself; 3001 picks it up 3 s later
    cap.originate("2009", "stay-15", "park")
    cap.wait_event("ParkedCall")
    cap.settle(3.0)
    cap.originate("3001", "stay-6", "unpark", name="Retriever")
    cap.wait_quiet()
    cap.settle(1.5)
    # 2010 and 2011 meet in a conference
    cap.originate("2010", "stay-8", "conf")
    cap.settle(2.0)
    cap.originate("2011", "stay-8", "conf")
    cap.wait_quiet()
    cap.settle(2.0)
    cap.finish()


def in_progress() -> None:
    record.wait_idle()
    cap = Capture("in_progress", notes="stops while 2101 waits in queue and dave's phone rings")
    cap.settle(0.5)
    cap.originate("2101", "stay-30", "q-nobody")
    cap.wait_event("AgentCalled", CallerIDNum="2101")
    cap.settle(1.5)
    cap.finish()
    record.wait_idle(1.0)  # hangs the call up, unrecorded


def local_optimise() -> None:
    record.wait_idle()
    cap = Capture("local_optimise", notes="2201 dials Local/fwd-media, which optimises away")
    cap.settle(0.5)
    cap.originate("2201", "stay-15", "dial-local-media")
    cap.wait_quiet()
    cap.finish()


CAPTURES = {"day": day, "in_progress": in_progress, "local_optimise": local_optimise}


def _cli(command: str) -> None:
    subprocess.run(["chroot", record.ROOT, "asterisk", "-rx", command], check=True)


@contextlib.contextmanager
def analysis_config() -> Iterator[None]:
    """The amilab-analysis queues and dialplan loaded while recording, removed afterwards."""
    queues = os.path.join(record.ROOT, QUEUES_DST)
    dialplan = os.path.join(record.ROOT, DIALPLAN_DST)
    with open(dialplan, "rb") as f:
        original = f.read()
    shutil.copyfile(QUEUES_SRC, queues)
    with open(dialplan, "ab") as f, open(DIALPLAN_SRC, "rb") as extra:
        f.write(b"\n" + extra.read())
    try:
        # dialplan first: a Local queue member whose extension does not exist
        # yet when app_queue loads it stays "Invalid" (never rung) until removed
        _cli("dialplan reload")
        _cli("queue reload all")
        yield
    finally:
        os.remove(queues)
        with open(dialplan, "wb") as f:
            f.write(original)
        _cli("queue reload all")
        _cli("dialplan reload")


def main(argv: list[str]) -> None:
    with analysis_config():
        for name in argv or list(CAPTURES):
            print(f"recording {name}")
            CAPTURES[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
