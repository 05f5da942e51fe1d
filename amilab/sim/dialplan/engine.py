"""The dialplan engine: an application registry and the loop that runs priorities.

Theory of operation. A channel in the dialplan runs :func:`run_dialplan`: each
priority emits ``Newexten`` and its application (looked up in
:data:`APPLICATIONS`) either continues at once (``NoOp``, ``Set``,
``Answer``), later (``Wait``, ``Echo``: :func:`continue_later`), by dialing
(``Dial``, ``Queue``: they call :func:`next_priority` when done) or by hanging
up. An unknown application is skipped. An Originate ``Application`` runs
outside the dialplan (no ``Newexten``, no ``h``; cause 0 when it returns).

Applications register themselves with :func:`application`; the modules that do
(:mod:`~amilab.sim.dialplan.apps`, ``.dial``, ``.queue``) are imported by the
package, never by this module.
"""

from __future__ import annotations

from collections.abc import Callable

from amilab.sim.dialplan.lifecycle import teardown
from amilab.sim.model import Channel, PBXModel

__all__ = [
    "APPLICATIONS",
    "App",
    "application",
    "arg_float",
    "continue_later",
    "execute",
    "next_priority",
    "run_dialplan",
]

#: An application: (pbx, channel, data) -> True to go on to the next priority now.
App = Callable[[PBXModel, Channel, str], bool]
#: Registered applications by lower-case name.
APPLICATIONS: dict[str, App] = {}


def application(*names: str) -> Callable[[App], App]:
    """Register an application under one or more names (``@application("Wait")``)."""

    def register(fn: App) -> App:
        for name in names:
            APPLICATIONS[name.lower()] = fn
        return fn

    return register


def execute(pbx: PBXModel, channel: Channel, app: str, data: str) -> bool:
    """Run one application; True to go on to the next priority now (unknown: skipped)."""
    fn = APPLICATIONS.get(app.lower())
    return True if fn is None else fn(pbx, channel, data)


def run_dialplan(pbx: PBXModel, channel: Channel) -> None:
    """Run ``channel`` from its current priority until something waits or ends it."""
    channel.in_dialplan = True
    while not channel.hungup:
        steps = pbx.dialplan.get(channel.context, {}).get(channel.exten)
        if steps is None or channel.priority > len(steps):
            teardown(pbx, channel, 16, request=True)
            return
        app, data = steps[channel.priority - 1]
        pbx.newexten(channel, app, data)
        if not execute(pbx, channel, app, data):
            return
        channel.priority += 1


def continue_later(pbx: PBXModel, channel: Channel, delay: float) -> None:
    def resume() -> None:
        channel.timer = None
        if channel.hungup:
            return
        if not channel.in_dialplan:
            teardown(pbx, channel, 0)  # an Originate application ended: cause 0
            return
        channel.priority += 1
        run_dialplan(pbx, channel)

    channel.timer = pbx.clock.call_later(delay, resume)


def next_priority(pbx: PBXModel, channel: Channel) -> None:
    if not channel.hungup:
        channel.priority += 1
        run_dialplan(pbx, channel)


def arg_float(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default
