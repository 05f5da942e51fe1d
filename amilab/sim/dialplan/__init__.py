"""The dialplan and its applications, on top of :mod:`amilab.sim.model`.

Read bottom-up: :mod:`~.lifecycle` (answer, Local pairs, bridge, hang-up),
:mod:`~.engine` (the application registry and the priority loop), the
applications that register into it (:mod:`~.apps`, :mod:`~.dial`,
:mod:`~.queue`), then :mod:`~.originate` (calls started from AMI) and
:mod:`~.config` (``extensions.conf`` text). Importing this package registers
every application.
"""

from amilab.sim.dialplan import apps, dial, queue
from amilab.sim.dialplan.config import DialplanSyntaxError, parse_extensions
from amilab.sim.dialplan.dial import ring_phone
from amilab.sim.dialplan.engine import APPLICATIONS, application, execute, run_dialplan
from amilab.sim.dialplan.lifecycle import answer, hangup, teardown
from amilab.sim.dialplan.originate import originate, redirect
from amilab.sim.dialplan.queue import queue_call

__all__ = [
    "APPLICATIONS",
    "DialplanSyntaxError",
    "answer",
    "application",
    "apps",
    "dial",
    "execute",
    "hangup",
    "originate",
    "parse_extensions",
    "queue",
    "queue_call",
    "redirect",
    "ring_phone",
    "run_dialplan",
    "teardown",
]
