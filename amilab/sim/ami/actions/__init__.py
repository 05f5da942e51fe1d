"""The action handlers, one module per family; importing this package registers them.

Each module registers its handlers into :data:`amilab.sim.ami.registry.ACTIONS`
(chan_sip's into :data:`~amilab.sim.ami.actions.sip.CHAN_SIP_ACTIONS`).
"""

from amilab.sim.ami.actions import (
    astdb,
    bridges,
    calls,
    channels,
    conferences,
    config,
    modules,
    pjsip,
    queues,
    session,
    sip,
    states,
    system,
)
from amilab.sim.ami.actions.sip import CHAN_SIP_ACTIONS

__all__ = [
    "CHAN_SIP_ACTIONS",
    "astdb",
    "bridges",
    "calls",
    "channels",
    "conferences",
    "config",
    "modules",
    "pjsip",
    "queues",
    "session",
    "sip",
    "states",
    "system",
]
