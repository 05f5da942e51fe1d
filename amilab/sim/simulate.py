"""Fast-forward: minutes or hours of seeded PBX traffic in one call, on a virtual clock.

``amilab.sim.simulate(minutes=60, calls_per_minute=30, seed=7)`` builds a
:class:`~amilab.sim.PBX` on a :class:`~amilab.sim.model.VirtualClock`, starts
its :class:`~amilab.sim.traffic.Traffic` and runs the clock: no socket, no
wall-clock wait. Every event goes through the AMI event check of a
logged-in session that reads every class (:class:`~amilab.sim.ami.AMISession`,
manager.c's ``should_send_event``), so the capture holds exactly what such a
client would receive, in order, each stamped with its simulated receive time
(``X-Amilab-Received-At``, exact integer ns of the virtual clock). The same
arguments give the same bytes: the clock starts at a fixed date, and the
traffic, the Uniqueids and the bridge ids all come from the seed.

Speed. The model encodes each event once, through
:meth:`~amilab.protocol.ServerProtocol.event`, which validates every header
(no CR, LF or NUL; a well-formed name) with a regex per header, twice: an
hour of default traffic took 2.8 s of CPU that way, 0.55 s with
:func:`encode_event` (the model alone, no recorder). :class:`FastPBX`
encodes events itself and checks them whole: a header name is validated by
the protocol package the first time it is seen (and remembered), values must
be ``str``, and the finished block must hold exactly one CR and one LF per
line and no NUL, which no value with a line break or a NUL can pass.
Anything else (a new name, a non-str value, a suspicious byte) goes through
``ServerProtocol.event`` itself, which encodes it or raises its own error.
Same bytes either way (a test compares).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from amilab.protocol import Message, ServerProtocol
from amilab.recorder import DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS, EventRecorder
from amilab.sim.ami import AMISession, User, parse_classes
from amilab.sim.model import ConferenceRoom, ParkingLot, VirtualClock
from amilab.sim.pbx import PBX, EndpointsArg, QueuesArg
from amilab.sim.profiles import DEFAULT_ASTERISK
from amilab.sim.traffic import check_mix

__all__ = ["DEFAULT_MIX", "DRAIN_LIMIT", "FastPBX", "SimulationOverflow", "simulate"]

#: ``simulate``'s default share of calls per kind: every kind the simulator knows.
DEFAULT_MIX: dict[str, float] = {
    "answer": 0.45,
    "busy": 0.1,
    "noanswer": 0.08,
    "queue": 0.15,
    "queue_abandon": 0.05,
    "queue_timeout": 0.04,
    "transfer": 0.05,
    "park": 0.04,
    "conference": 0.04,
}
#: Simulated seconds run at a time; the recorder's bounds are checked between steps.
STEP = 60.0
#: After the last new call, how long calls in progress may take to end (simulated s):
#: the longest is a conference stay (300 s) or a parked call that times out (45 s), is
#: called back and talks (up to 15 s ringing + 30 s).
DRAIN_LIMIT = 600.0
#: The conference room and parking lot of a simulated office (the sandbox has neither).
DEFAULT_CONFERENCES = ("amilab",)
DEFAULT_PARKING_LOTS = (ParkingLot(),)
_END = b"\r\n"


class SimulationOverflow(ValueError):
    """The run made more events than the recorder may hold."""


class FastPBX(PBX):
    """A :class:`PBX` whose events are encoded by :func:`encode_event` (same bytes, faster)."""

    def emit(self, name: str, category: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
        data = encode_event(name, category, headers)
        for listener in self.listeners:
            listener(name, category, data)
        return data


#: Header names the protocol package has accepted (see the module docstring).
_KNOWN_NAMES: set[str] = {"Event", "Privilege"}


def encode_event(name: str, category: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """The bytes of ``ServerProtocol.event(name, [("Privilege", ...), *headers])``."""
    pairs = list(headers)
    known = _KNOWN_NAMES
    for key, value in pairs:
        if key not in known or value.__class__ is not str:
            return _checked(name, category, pairs)
    text = f"Event: {name}\r\nPrivilege: {category},all\r\n" + "".join(
        [f"{key}: {value}\r\n" for key, value in pairs]
    )
    lines = len(pairs) + 3  # Event, Privilege, the headers, the blank line
    text += "\r\n"
    if text.count("\n") != lines or text.count("\r") != lines or "\0" in text:
        return _checked(name, category, pairs)
    return text.encode()


def _checked(name: str, category: str, pairs: list[tuple[str, str]]) -> bytes:
    """The protocol package's own encoding (raises on a bad header); names are remembered."""
    data = ServerProtocol.event(name, [("Privilege", f"{category},all"), *pairs])
    _KNOWN_NAMES.update(key for key, _ in pairs)
    return data


def simulate(
    minutes: float = 60.0,
    calls_per_minute: float = 30.0,
    seed: int = 7,
    *,
    mix: Mapping[str, float] | None = None,
    endpoints: EndpointsArg = None,
    queues: QueuesArg = None,
    dialplan: str | None = None,
    conferences: Iterable[str | ConferenceRoom] = DEFAULT_CONFERENCES,
    parking_lots: Iterable[ParkingLot] = DEFAULT_PARKING_LOTS,
    events: str = "all",
    asterisk: str = DEFAULT_ASTERISK,
    max_events: int = DEFAULT_MAX_EVENTS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> EventRecorder:
    """Run ``minutes`` of traffic on a virtual clock; return the events as a recorder.

    ``calls_per_minute`` new calls arrive on average (a Poisson process);
    ``mix`` weighs the call kinds (default :data:`DEFAULT_MIX`; keys as in
    :data:`amilab.sim.traffic.FATES`). After the last arrival the calls in
    progress end (up to :data:`DRAIN_LIMIT` simulated seconds), so every call
    in the capture is complete. ``endpoints``, ``queues``, ``dialplan``,
    ``conferences``, ``parking_lots`` and ``asterisk`` configure the PBX as
    for :class:`~amilab.sim.PBX`; ``events`` is the session's event mask
    (``"call,agent"`` leaves out the ``dialplan`` class's ``VarSet`` and
    ``Newexten``). More events than ``max_events`` or ``max_bytes`` raise
    :class:`SimulationOverflow`; the same arguments give the same bytes.
    """
    if not minutes > 0 or not calls_per_minute > 0:
        raise ValueError(
            f"minutes={minutes!r} and calls_per_minute={calls_per_minute!r} must both be > 0"
        )
    weights = check_mix(DEFAULT_MIX if mix is None else mix)
    clock = VirtualClock()
    pbx = FastPBX(
        clock=clock,
        seed=seed,
        endpoints=endpoints,
        queues=queues,
        dialplan=dialplan,
        conferences=conferences,
        parking_lots=parking_lots,
        asterisk=asterisk,
    )
    if len(pbx.endpoints) < 2:
        raise ValueError(
            f"simulate needs at least 2 endpoints to place calls between, got "
            f"{sorted(pbx.endpoints)}; pass endpoints=['100', '101', ...] or leave it out"
        )
    recorder = EventRecorder(max_events=max_events, max_bytes=max_bytes, policy="stop")
    pbx.listeners.append(_session_sink(_reader(events), recorder, clock))
    pbx.traffic.start(rate=calls_per_minute / 60.0, seed=seed, mix=weights)
    started = clock.now()
    _run(clock, recorder, minutes * 60.0, started)
    pbx.traffic.stop()
    drained = 0.0
    while pbx.channels and drained < DRAIN_LIMIT:
        _run(clock, recorder, STEP, started)
        drained += STEP
    return recorder


def _reader(events: str) -> AMISession:
    """A logged-in session that reads every class, with ``events`` as its event mask."""
    session = AMISession("simulate", 0.0)
    reader = User("simulate", "", parse_classes("all"), frozenset())
    session.log_in(reader, events)
    return session


def _session_sink(
    session: AMISession, recorder: EventRecorder, clock: VirtualClock
) -> Callable[[str, str, bytes], None]:
    """The listener: what ``session`` wants goes into ``recorder`` at the clock's time."""
    wants, record, now_ns = session.wants, recorder.record, clock.now_ns

    def sink(name: str, category: str, data: bytes) -> None:
        if wants(category, data):
            record(Message(data[: -len(_END) * 2]), now_ns())

    return sink


def _run(clock: VirtualClock, recorder: EventRecorder, seconds: float, started: float) -> None:
    """Run the clock ``seconds`` further in :data:`STEP` steps, stopping on overflow."""
    left = seconds
    while left > 0:
        clock.run_for(min(STEP, left))
        left -= STEP
        if recorder.stats.stopped:
            raise SimulationOverflow(
                f"the run made more than max_events={recorder.max_events:,} events or "
                f"max_bytes={recorder.max_bytes:,} bytes by simulated minute "
                f"{(clock.now() - started) / 60:.0f}; pass larger limits, fewer "
                "minutes or calls_per_minute, or a narrower events= mask"
            )
