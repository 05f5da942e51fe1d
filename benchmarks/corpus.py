"""The flood corpus: real Asterisk 22 call events, repeated to any length.

The events come from transcripts recorded from the project's Asterisk 22
sandbox (``tests/fixtures/asterisk22``): an async Originate of a Local call
and a call through a queue. Each transcript is split into its blank-line
terminated blocks; the greeting, the responses and the events the recording's
own login caused are dropped, leaving the traffic of real calls (Newchannel,
Newexten, VarSet, Newstate, Dial*, Bridge*, Hangup, Queue*, ...), CRLF line
ends and header order exactly as Asterisk wrote them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

__all__ = ["SENTINEL", "SEPARATOR", "build", "corpus_events"]

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "asterisk22"
#: Transcripts whose events make up the corpus, in this order.
TRANSCRIPTS = ("originate_async_call.ami", "queue_call.ami")
#: Events the recording connection's own login produced; they are not call traffic.
LOGIN_EVENTS = frozenset({b"FullyBooted", b"SuccessfulAuth"})
SEPARATOR = b"\r\n\r\n"
#: The last event of a flood; clients stop their clock when it arrives.
SENTINEL = b"Event: FloodEnd\r\nPrivilege: user,all\r\n\r\n"


def _event_name(block: bytes) -> bytes | None:
    first = block.split(b"\r\n", 1)[0]
    return first[len(b"Event: ") :] if first.startswith(b"Event: ") else None


def corpus_events() -> list[bytes]:
    """Every call event block of the transcripts, separator included, in wire order."""
    events = []
    for name in TRANSCRIPTS:
        data = (FIXTURES / name).read_bytes()
        for block in data.split(SEPARATOR):
            # The greeting is glued to the first block by a single CRLF.
            if block.startswith(b"Asterisk Call Manager/"):
                block = block.split(b"\r\n", 1)[1] if b"\r\n" in block else b""
            event = _event_name(block)
            if event is not None and event not in LOGIN_EVENTS:
                events.append(block + SEPARATOR)
    return events


def build(count: int) -> bytes:
    """``count`` corpus events (the corpus repeated, cut to length) as one bytes object."""
    events = corpus_events()
    whole, rest = divmod(count, len(events))
    return b"".join(events) * whole + b"".join(events[:rest])


def summary() -> str:
    """One line per event name with its share of the corpus, most common first."""
    events = corpus_events()
    names = Counter(_event_name(e) for e in events)
    size = sum(map(len, events))
    lines = [f"{len(events)} events, {size} bytes, {size / len(events):.0f} bytes/event"]
    lines += [f"  {n:4d}  {name.decode()}" for name, n in names.most_common() if name]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary())
