"""Session actions: Login, Challenge, Logoff, Ping, Events, Filter, ListCommands, UserEvent.

Texts and header orders are Asterisk 22's (login_plain.ami, login_md5.ami,
login_wrong_password.ami, logoff.ami, ping.ami, events_off_on.ami,
filter.ami, listcommands.ami, userevent.ami in ``tests/fixtures/asterisk22``).
"""

from __future__ import annotations

import asyncio
import time

from amilab.protocol import Message, ServerProtocol, challenge_key
from amilab.sim.ami import security
from amilab.sim.ami.registry import ActionContext, Reply, Step, action

__all__ = ["CHALLENGE_RANGE", "FAILED_LOGIN_DELAY"]

#: manager.c sleeps this long before answering a failed login (observed: 1.0 s).
FAILED_LOGIN_DELAY = 1.0
#: manager.c's challenge is ``ast_random()`` printed as a number; 9 digits, as recorded.
CHALLENGE_RANGE = (100_000_000, 999_999_999)
respond = ServerProtocol.response


@action("Login", synopsis="Login Manager.")
async def login(ctx: ActionContext, msg: Message) -> Reply:
    session, pbx = ctx.session, ctx.pbx
    if session.authenticated:  # answered before the headers are read (breadth.json)
        return respond(msg, "Success", "Already authenticated")
    username = msg.get("Username", "")
    user = ctx.users.get(username.lower())
    if (msg.get("AuthType") or "").lower() == "md5":
        ok = bool(
            user
            and session.challenge
            and msg.get("Key", "").lower() == challenge_key(session.challenge, user.secret)
        )
    else:
        ok = user is not None and msg.get("Secret") == user.secret
    if not ok or user is None:
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        known = user is not None
        return [
            respond(msg, "Error", "Authentication failed"),
            lambda: security.failed_login(pbx, session, username, known),
            session.end,
        ]
    session.log_in(user, msg.get("Events"))
    reply: list[Step] = [respond(msg, "Success", "Authentication accepted")]
    if "system" in user.read and "system" in session.event_mask:
        reply.append(
            ServerProtocol.event(
                "FullyBooted",
                [
                    ("Privilege", "system,all"),
                    ("Uptime", str(pbx.uptime)),
                    ("LastReload", str(pbx.since_reload)),
                    ("Status", "Fully Booted"),
                ],
            )
        )
    return [*reply, lambda: security.successful_auth(pbx, session)]


@action("Challenge", synopsis="Generate Challenge for MD5 Auth.")
def challenge(ctx: ActionContext, msg: Message) -> Reply:
    session, pbx = ctx.session, ctx.pbx
    if (msg.get("AuthType") or "").lower() != "md5":
        return respond(msg, "Error", "Must specify AuthType")
    text = session.issue_challenge(lambda: str(pbx.rng.randrange(*CHALLENGE_RANGE)))
    return [
        respond(msg, "Success", None, [("Challenge", text)]),
        lambda: security.challenge_sent(pbx, session, text),
    ]


@action("Logoff", synopsis="Logoff Manager.")
def logoff(ctx: ActionContext, msg: Message) -> Reply:
    return [respond(msg, "Goodbye", "Thanks for all the fish."), ctx.session.end]


@action("Ping", synopsis="Keepalive command.")
def ping(ctx: ActionContext, msg: Message) -> Reply:
    return respond(msg, headers=[("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])


@action("Events", synopsis="Control Event Flow.")
def events(ctx: ActionContext, msg: Message) -> Reply:
    mask = msg.get("EventMask")
    if not mask:  # manager.c: no mask is not "off" (breadth.json)
        return respond(msg, "Error", "Invalid event mask")
    on = ctx.session.set_events(mask)
    return respond(msg, headers=[("Events", "On" if on else "Off")])


@action("Filter", "system", "Dynamically add filters for the current manager session.")
def filter_(ctx: ActionContext, msg: Message) -> Reply:
    if (msg.get("Operation") or "").lower() != "add":  # no default (breadth.json)
        return respond(msg, "Error", "Unknown operation")
    if not ctx.session.add_filter(msg.get("Filter", "")):
        return respond(msg, "Error", "Filter Not Added")
    return respond(msg, "Success", "Success")


@action("ListCommands", synopsis="List available manager commands.")
def list_commands(ctx: ActionContext, msg: Message) -> Reply:
    specs = sorted(ctx.actions.values(), key=lambda s: s.name.lower())
    return respond(msg, headers=[(s.name, f"{s.synopsis}  (Priv: {s.priv_text})") for s in specs])


@action("UserEvent", "user", "Send an arbitrary event.")
def user_event(ctx: ActionContext, msg: Message) -> Reply:
    # manager.c puts UserEvent first, then every other header in the client's
    # order, ActionID included wherever it was sent (breadth.json, userevent.ami).
    rest = [(k, v) for k, v in msg.items() if k.lower() not in ("action", "userevent")]
    body = [*[(k, v) for k, v in msg.items() if k.lower() == "userevent"], *rest]
    pbx = ctx.pbx
    return [respond(msg, "Success", "Event Sent"), lambda: pbx.emit("UserEvent", "user", body)]
