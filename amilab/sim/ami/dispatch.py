"""manager.c's ``process_message`` in miniature: one action in, the steps to answer it out.

No ``Action`` header -> ``Missing action in request`` plus ``RequestBadFormat``;
not logged in -> only Login/Challenge/Logoff (anything else gets ``Permission
denied``); unknown name -> ``Invalid/unknown command`` plus
``RequestBadFormat``; a write class the user lacks -> ``Permission denied``
plus ``RequestNotAllowed``. Texts are those of the Asterisk 22 transcripts in
``tests/fixtures/asterisk22`` (missing_action.ami, action_before_login.ami,
unknown_action.ami, readonly_originate.ami; see tests/asterisk/FINDINGS.md).
"""

from __future__ import annotations

import inspect

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami import security
from amilab.sim.ami.actions import CHAN_SIP_ACTIONS
from amilab.sim.ami.registry import ACTIONS, ActionContext, ActionSpec, Step, steps

__all__ = ["PRE_LOGIN_ACTIONS", "action_table", "dispatch"]

#: What a session may do before logging in (manager.c: everything else is refused).
PRE_LOGIN_ACTIONS = frozenset({"login", "challenge", "logoff"})
respond = ServerProtocol.response


def action_table(chan_sip: bool = False) -> dict[str, ActionSpec]:
    """The actions a server answers: Asterisk 22's, plus chan_sip's if it is loaded."""
    table = dict(ACTIONS)
    if chan_sip:
        table.update(CHAN_SIP_ACTIONS)
    return table


async def dispatch(ctx: ActionContext, msg: Message) -> list[Step]:
    """Answer one action: the steps (bytes to send, changes to run), in order."""
    pbx, session = ctx.pbx, ctx.session
    name = msg.get("Action")
    if not name:
        return [
            respond(msg, "Error", "Missing action in request"),
            lambda: security.bad_format(pbx, session, "NONE"),
        ]
    if not session.authenticated and name.lower() not in PRE_LOGIN_ACTIONS:
        return [respond(msg, "Error", "Permission denied")]
    spec = ctx.actions.get(name.lower())
    if spec is None:
        text = f"Invalid/unknown command: {name}. Use Action: ListCommands to show available "
        return [
            respond(msg, "Error", text + "commands."),
            lambda: security.bad_format(pbx, session, name),
        ]
    user = session.user
    if spec.privilege and user is not None and not set(spec.privilege) & user.write:
        return [
            respond(msg, "Error", "Permission denied"),
            lambda: security.request_not_allowed(pbx, session, name),
        ]
    reply = spec.handler(ctx, msg)
    if inspect.isawaitable(reply):
        reply = await reply
    return steps(reply)
