"""The AMI layer of the simulator, on top of the model and the dialplan.

Read bottom-up: :mod:`~.users` (manager.conf users and classes),
:mod:`~.session` (one connection's own state: login, event mask, filters),
:mod:`~.security` (every security event), :mod:`~.registry` (what a handler
gets and returns), :mod:`~.actions` (the handlers), :mod:`~.dispatch`
(manager.c's checks around them). Nothing here does I/O: the server feeds
actions in and sends what comes back.
"""

from amilab.sim.ami.dispatch import action_table, dispatch
from amilab.sim.ami.registry import ACTIONS, ActionContext, ActionSpec
from amilab.sim.ami.session import AMISession
from amilab.sim.ami.users import EVENT_CLASSES, User, make_users, parse_classes

__all__ = [
    "ACTIONS",
    "EVENT_CLASSES",
    "AMISession",
    "ActionContext",
    "ActionSpec",
    "User",
    "action_table",
    "dispatch",
    "make_users",
    "parse_classes",
]
