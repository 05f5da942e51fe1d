"""Call analysis over a capture frame (the shape of ``EventRecorder.df``).

:func:`calls` (one row per call), :func:`queue_calls` (one row per queue
caller), :func:`queue_stats` and :func:`agent_stats` (call-centre figures),
:func:`channel_lifecycles` and :func:`event_rates`; :func:`ladder` (one
call as a sequence diagram) and :func:`timeline` (calls as phase bars) draw
matplotlib Figures (``amilab.analysis.plots``). Each function's docstring
states its definitions; durations are float seconds, times millisecond
``datetime64[ms, UTC]``.

Each helper takes the frame as recorded (``received_at``, ``event``, then
headers as strings or ``Int64``) and answers one question with groupbys, no
Python loops over rows. Missing columns count as all-NA, so a capture with no
calls gives an empty frame with the documented columns.

How Asterisk 22 shows a call (observed in ``tests/fixtures/asterisk22``):
every channel of one call shares a ``Linkedid``, the ``Uniqueid`` of the
channel that started it; ``DialBegin``/``DialEnd`` name the callee's channel
with ``Dest*`` headers (and, when an application dials, omit the caller's);
a channel is up at ``Newstate`` with ``ChannelState: 6`` (``Up``) and ends
with ``Hangup`` carrying ``Cause`` (Q.850) and ``Cause-txt``.
"""

from __future__ import annotations

from amilab.analysis._agents import AGENT_COLUMNS, agent_stats
from amilab.analysis._calls import CALL_COLUMNS, calls
from amilab.analysis._channels import CHANNEL_COLUMNS, channel_lifecycles, event_rates
from amilab.analysis._queues import (
    QUEUE_CALL_COLUMNS,
    QUEUE_STAT_COLUMNS,
    SERVICE_LEVEL,
    queue_calls,
    queue_stats,
)
from amilab.analysis.plots import ladder, timeline

__all__ = [
    "AGENT_COLUMNS",
    "CALL_COLUMNS",
    "CHANNEL_COLUMNS",
    "QUEUE_CALL_COLUMNS",
    "QUEUE_STAT_COLUMNS",
    "SERVICE_LEVEL",
    "agent_stats",
    "calls",
    "channel_lifecycles",
    "event_rates",
    "ladder",
    "queue_calls",
    "queue_stats",
    "timeline",
]
