"""One AMI session's own state: who logged in, its event mask, its filters.

No I/O: the server's connection owns one :class:`AMISession`, the action
handlers change it only through its methods, and :meth:`AMISession.wants`
is manager.c's event check (``should_send_event`` then ``match_filter``):
the user's read classes, the session's ``Events`` mask, then the ``Filter``
regexes (any allow must match, no deny may).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from amilab.sim.ami.users import EVENT_CLASSES, User, event_mask

__all__ = ["AMISession"]


class AMISession:
    """Login state, event mask and filters of one connection."""

    def __init__(
        self,
        session_id: str,
        started: float,
        local: tuple[str, int] = ("127.0.0.1", 0),
        remote: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.session_id = session_id
        self.started = started
        self.local_address = f"IPV4/TCP/{local[0]}/{local[1]}"
        self.remote_address = f"IPV4/TCP/{remote[0]}/{remote[1]}"
        self.user: User | None = None
        self.challenge: str | None = None
        self.event_mask: frozenset[str] = EVENT_CLASSES
        self.filters: list[tuple[bool, re.Pattern[str]]] = []
        #: Set by Logoff or a failed login: the connection closes after its reply.
        self.ending = False

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def __repr__(self) -> str:
        who = self.user.name if self.user else "-"
        return f"<AMISession {self.remote_address} user={who}>"

    def log_in(self, user: User, events: str | None) -> None:
        """Accept ``user``; an ``Events:`` header given at login sets the mask."""
        self.user = user
        if events is not None:
            self.event_mask = event_mask(events)

    def issue_challenge(self, make: Callable[[], str]) -> str:
        """The MD5 challenge: made once per session and then repeated (manager.c keeps it)."""
        if self.challenge is None:
            self.challenge = make()
        return self.challenge

    def set_events(self, text: str) -> bool:
        """The ``Events`` action; True if any class is now on."""
        self.event_mask = event_mask(text)
        return bool(self.event_mask)

    def add_filter(self, text: str) -> bool:
        """``Filter`` Add: ``regex`` allows, ``!regex`` denies; False if it does not compile."""
        keep = not text.startswith("!")
        try:
            pattern = re.compile(text if keep else text[1:])
        except re.error:
            return False
        self.filters.append((keep, pattern))
        return True

    def end(self) -> None:
        self.ending = True

    def wants(self, category: str, data: bytes) -> bool:
        """manager.c's event check: read classes, Events mask, then Filter regexes."""
        user = self.user
        if user is None or category not in user.read or category not in self.event_mask:
            return False
        if not self.filters:
            return True
        text = data.decode("utf-8", "replace")
        allowed = [rx for keep, rx in self.filters if keep]
        denied = [rx for keep, rx in self.filters if not keep]
        if allowed and not any(rx.search(text) for rx in allowed):
            return False
        return not any(rx.search(text) for rx in denied)
