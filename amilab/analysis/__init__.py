"""Call analysis over a capture frame (the shape of ``EventRecorder.df``).

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

from amilab.analysis._calls import CALL_COLUMNS, calls
from amilab.analysis._channels import CHANNEL_COLUMNS, channel_lifecycles, event_rates

__all__ = [
    "CALL_COLUMNS",
    "CHANNEL_COLUMNS",
    "calls",
    "channel_lifecycles",
    "event_rates",
]
