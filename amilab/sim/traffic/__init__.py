"""Seeded call traffic: the generator and the call kinds it draws from.

Read bottom-up: :mod:`~.calls` (answered, busy, unanswered and queue calls),
:mod:`~.scenarios` (blind transfer, parking, ConfBridge), :mod:`~.generator`
(:class:`Traffic`: a Poisson process of calls whose kinds follow a ``mix``).
"""

from amilab.sim.traffic.generator import FATE_WEIGHTS, FATES, Traffic, check_mix

__all__ = ["FATES", "FATE_WEIGHTS", "Traffic", "check_mix"]
