"""Every security-class event the AMI layer raises, in one place.

Field orders are manager.c's ``report_*`` functions as Asterisk 22 sends
them (tests/fixtures/asterisk22/security_events_observer.ami): Severity,
Service, EventVersion, AccountID, SessionID, LocalAddress, RemoteAddress,
the event's own fields, SessionTV; ``RequestBadFormat`` alone puts AccountID
last (observed). Each function emits through the model, so every session
whose user reads ``security`` sees it.
"""

from __future__ import annotations

import time

from amilab.sim.ami.session import AMISession
from amilab.sim.model import PBXModel

__all__ = [
    "bad_format",
    "challenge_sent",
    "event_tv",
    "failed_login",
    "request_not_allowed",
    "successful_auth",
]


def event_tv(ts: float) -> str:
    """Security-event timestamps: ``2026-11-26T06:24:54.313+0000`` (UTC)."""
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}+0000"
    )


def _addresses(session: AMISession) -> list[tuple[str, str]]:
    return [
        ("SessionID", session.session_id),
        ("LocalAddress", session.local_address),
        ("RemoteAddress", session.remote_address),
    ]


def _emit(
    pbx: PBXModel,
    session: AMISession,
    name: str,
    severity: str,
    version: int,
    extra: list[tuple[str, str]],
    account: str | None = None,
) -> None:
    if account is None:
        account = session.user.name if session.user else ""
    pbx.emit(
        name,
        "security",
        [
            ("EventTV", event_tv(pbx.clock.now())),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", str(version)),
            ("AccountID", account),
            *_addresses(session),
            *extra,
            ("SessionTV", event_tv(session.started)),
        ],
    )


def bad_format(pbx: PBXModel, session: AMISession, action: str) -> None:
    """RequestBadFormat (unknown or missing action): AccountID comes last (observed)."""
    pbx.emit(
        "RequestBadFormat",
        "security",
        [
            ("EventTV", event_tv(pbx.clock.now())),
            ("Severity", "Error"),
            ("Service", "AMI"),
            ("EventVersion", "1"),
            *_addresses(session),
            ("RequestType", f"Action: {action}"),
            ("SessionTV", event_tv(session.started)),
            ("AccountID", session.user.name if session.user else ""),
        ],
    )


def request_not_allowed(pbx: PBXModel, session: AMISession, action: str) -> None:
    _emit(pbx, session, "RequestNotAllowed", "Error", 1, [("RequestType", f"Action: {action}")])


def failed_login(pbx: PBXModel, session: AMISession, username: str, known: bool) -> None:
    """InvalidPassword (EventVersion 2) for a known user, else InvalidAccountID."""
    if known:
        _emit(pbx, session, "InvalidPassword", "Error", 2, [], account=username)
    else:
        _emit(pbx, session, "InvalidAccountID", "Error", 1, [], account=username)


def successful_auth(pbx: PBXModel, session: AMISession) -> None:
    _emit(pbx, session, "SuccessfulAuth", "Informational", 1, [("UsingPassword", "0")])


def challenge_sent(pbx: PBXModel, session: AMISession, challenge: str) -> None:
    _emit(pbx, session, "ChallengeSent", "Informational", 1, [("Challenge", challenge)])
