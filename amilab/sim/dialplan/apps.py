"""The simple applications: NoOp, Set, Answer, Wait, Echo, Playback, MusicOnHold, Hangup.

Each registers into :data:`amilab.sim.dialplan.engine.APPLICATIONS`. Their
events are those of the sandbox's dialplan as recorded in
``tests/fixtures/asterisk22`` (originate_sync.ami: ``Set`` of a ``CDR()``
function emits no ``VarSet``; ``Hangup()`` requests a soft hang-up).
"""

from __future__ import annotations

from amilab.sim.dialplan.engine import application, arg_float, continue_later
from amilab.sim.dialplan.lifecycle import answer, teardown
from amilab.sim.model import Channel, PBXModel

__all__ = ["DEFAULT_WAIT", "ECHO_TIME"]

#: How long ``Echo()``, ``Playback()`` and ``MusicOnHold()`` keep a call up in the
#: simulator (the real ones wait for '#', the file's end, or a hang-up).
ECHO_TIME = 5.0
#: ``Wait()`` without a number of seconds.
DEFAULT_WAIT = 1.0
#: Hang-up cause of ``Hangup()`` without one: AST_CAUSE_NORMAL_CLEARING.
NORMAL_CLEARING = 16


@application("NoOp")
def noop(pbx: PBXModel, channel: Channel, data: str) -> bool:
    return True


@application("Set")
def set_(pbx: PBXModel, channel: Channel, data: str) -> bool:
    var, _, value = data.partition("=")
    if not var.upper().startswith("CDR("):
        pbx.set_var(channel, var, value)
    return True


@application("Answer")
def answer_(pbx: PBXModel, channel: Channel, data: str) -> bool:
    answer(pbx, channel)
    return True


@application("Wait")
def wait(pbx: PBXModel, channel: Channel, data: str) -> bool:
    continue_later(pbx, channel, arg_float(data, DEFAULT_WAIT))
    return False


@application("Echo", "Playback", "MusicOnHold")
def hold(pbx: PBXModel, channel: Channel, data: str) -> bool:
    continue_later(pbx, channel, ECHO_TIME)
    return False


@application("Hangup")
def hangup(pbx: PBXModel, channel: Channel, data: str) -> bool:
    teardown(pbx, channel, int(data) if data.isdigit() else NORMAL_CLEARING, soft=True)
    return False
