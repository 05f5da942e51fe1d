"""The PBX as a notebook or a test builds it: a configured model plus its traffic.

:class:`PBX` is :class:`~amilab.sim.model.PBXModel` configured from public
arguments (endpoints, a dialplan as ``extensions.conf`` text, queues and
their members, conference rooms, parking lots, mailboxes), each defaulting
to the real sandbox's (:mod:`amilab.sim.sandbox`; it has no conference,
parking lot or mailbox), with a :class:`~amilab.sim.traffic.Traffic`
generator composed beside it::

    pbx = PBX(clock=VirtualClock(), seed=7, endpoints={"100": "Alice", "101": "Bob"},
              dialplan="[amilab]\\nexten => 100,1,Answer()\\n same => n,Wait(5)\\n")
    pbx.traffic.start(rate=1.0, seed=7)

The model itself knows nothing of traffic; this module is where they meet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from amilab.sim.dialplan import parse_extensions
from amilab.sim.model import (
    Clock,
    ConferenceRoom,
    Dialplan,
    Endpoint,
    Mailbox,
    ParkingLot,
    PBXModel,
    Queue,
    QueueMember,
    SipPeer,
    SipRegistration,
)
from amilab.sim.profiles import DEFAULT_ASTERISK, get_profile
from amilab.sim.sandbox import (
    DEFAULT_ENDPOINTS,
    DEFAULT_QUEUES,
    DEFAULT_SIP_REGISTRATIONS,
    EXTENSIONS_CONF,
)
from amilab.sim.traffic import Traffic

__all__ = ["PBX", "EndpointsArg", "QueuesArg", "make_endpoints", "make_queues"]

#: Endpoints as names (``["100", "101"]``), (name, caller ID name) pairs, or a mapping.
EndpointsArg = Iterable[str | tuple[str, str]] | Mapping[str, str] | None
#: Queues as ``{"name": {"strategy": "ringall", "members": [...]}}`` or Queue objects.
QueuesArg = Mapping[str, Mapping[str, Any]] | Iterable[Queue] | None


class PBX(PBXModel):
    """A simulated Asterisk configured by argument; ``pbx.traffic`` generates calls.

    ``asterisk`` picks the imitated version (:mod:`amilab.sim.profiles`): on
    ``"20"`` chan_sip is loaded, and ``sip_peers`` (same forms as
    ``endpoints``; by default the same phones, as on a PBX that has both
    drivers configured) and ``sip_registrations`` describe it.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        endpoints: EndpointsArg = None,
        dialplan: str | Dialplan | None = None,
        queues: QueuesArg = None,
        conferences: Iterable[str | ConferenceRoom] = (),
        parking_lots: Iterable[ParkingLot] = (),
        mailboxes: Iterable[str | Mailbox] = (),
        seed: int | None = None,
        system_name: str = "",
        asterisk: str = DEFAULT_ASTERISK,
        sip_peers: EndpointsArg = None,
        sip_registrations: Iterable[SipRegistration] | None = None,
    ) -> None:
        self.profile = get_profile(asterisk)
        if not self.profile.chan_sip and (sip_peers or sip_registrations):
            raise ValueError(
                f"Asterisk {self.profile.name} has no chan_sip, so no SIP peers or "
                "registrations; pass asterisk='20' to simulate chan_sip"
            )
        if dialplan is None or isinstance(dialplan, str):
            plan, globals_ = parse_extensions(EXTENSIONS_CONF if dialplan is None else dialplan)
        else:
            plan, globals_ = dialplan, {}
        super().__init__(
            clock=clock,
            endpoints=make_endpoints(endpoints),
            dialplan=plan,
            globals=globals_,
            conferences=[ConferenceRoom(c) if isinstance(c, str) else c for c in conferences],
            parking_lots=parking_lots,
            mailboxes=[_mailbox(m) if isinstance(m, str) else m for m in mailboxes],
            seed=seed,
            system_name=system_name,
            version=self.profile.version,
            **(_chan_sip(endpoints, sip_peers, sip_registrations) if self.profile.chan_sip else {}),
        )
        self.queues = {q.name: q for q in make_queues(queues, self.clock.now())}
        for reg in self.sip_registrations:
            if reg.state == "Registered" and not reg.registered_at:
                reg.registered_at = int(self.startup_time)
        self.traffic = Traffic(self)


def make_endpoints(endpoints: EndpointsArg) -> list[Endpoint]:
    """Endpoint objects from names, (name, caller ID name) pairs or a mapping."""
    if endpoints is None:
        endpoints = DEFAULT_ENDPOINTS
    if isinstance(endpoints, Mapping):
        return [Endpoint(str(k), str(v)) for k, v in endpoints.items()]
    out = []
    for item in endpoints:
        if isinstance(item, str):
            out.append(Endpoint(item, f"Phone {item}"))
        else:
            out.append(Endpoint(str(item[0]), str(item[1])))
    return out


def _mailbox(spec: str) -> Mailbox:
    """``"100"`` or ``"100@office"`` (voicemail.conf's box and context)."""
    box, _, context = spec.partition("@")
    return Mailbox(box, context or "default")


def _chan_sip(
    endpoints: EndpointsArg,
    sip_peers: EndpointsArg,
    registrations: Iterable[SipRegistration] | None,
) -> dict[str, Any]:
    """chan_sip's peers (the endpoints' phones unless given) and registrations."""
    phones = make_endpoints(endpoints if sip_peers is None else sip_peers)
    peers = [SipPeer(p.name, p.callerid_name, description=p.callerid_name) for p in phones]
    regs = DEFAULT_SIP_REGISTRATIONS if registrations is None else registrations
    return {"sip_peers": peers, "sip_registrations": [SipRegistration(**vars(r)) for r in regs]}


def make_queues(queues: QueuesArg, now: float) -> list[Queue]:
    """Queue objects from ``{"name": {"strategy": ..., "members": [...]}}`` or as given.

    A member is queues.conf's ``interface,penalty,name`` text or an
    (interface, name) pair; static members are logged in since ``now``.
    """
    if queues is None:
        queues = DEFAULT_QUEUES
    if not isinstance(queues, Mapping):
        return list(queues)
    out = []
    for name, spec in queues.items():
        unknown = set(spec) - {"strategy", "members"}
        if unknown:
            raise ValueError(
                f"queue {name!r}: unknown setting(s) {sorted(unknown)}; "
                "give 'strategy' and 'members'"
            )
        members = [_member(m, now) for m in spec.get("members", [])]
        out.append(Queue(name, strategy=str(spec.get("strategy", "ringall")), members=members))
    return out


def _member(spec: str | tuple[str, str], now: float) -> QueueMember:
    if isinstance(spec, str):
        interface, _, rest = spec.partition(",")
        penalty, _, name = rest.partition(",")
        pen = int(penalty) if penalty.strip().isdigit() else 0
        return QueueMember(
            interface.strip(), name.strip() or interface.strip(), pen, login_time=int(now)
        )
    return QueueMember(spec[0], spec[1], login_time=int(now))
