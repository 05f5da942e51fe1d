"""The real sandbox's configuration, as the simulator's defaults.

The same context (``amilab``), endpoints (100, 101, 102, 200) and queues
(``support`` with two Local members, ``sales``) as ``tests/asterisk/etc``
(extensions.conf, pjsip.conf, queues.conf), so every action and call
sequence can be compared with the recordings in ``tests/fixtures/asterisk22``.
Data only: :class:`amilab.sim.PBX` turns it into model objects. The sandbox
has no chan_sip; the Asterisk 20 profile's registration is the simulator's own.
"""

from __future__ import annotations

from amilab.sim.model import SipRegistration

__all__ = ["DEFAULT_ENDPOINTS", "DEFAULT_QUEUES", "DEFAULT_SIP_REGISTRATIONS", "EXTENSIONS_CONF"]

#: (endpoint, caller ID name), as pjsip.conf's ``callerid`` lines.
DEFAULT_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("100", "Alice"),
    ("101", "Bob"),
    ("102", "Carol"),
    ("200", "Support Desk"),
)
#: queues.conf's queues: strategy, and members as ``interface,penalty,name``.
DEFAULT_QUEUES: dict[str, dict[str, object]] = {
    "support": {
        "strategy": "ringall",
        "members": ["Local/400@amilab/n,0,Agent 400", "Local/401@amilab/n,0,Agent 401"],
    },
    "sales": {"strategy": "rrmemory", "members": []},
}
#: The Asterisk 20 profile's outbound chan_sip registration (the sandbox has no chan_sip;
#: a trunk to a documentation-only host, RFC 2606), as sip.conf's
#: ``register => amilab@sip.provider.example``.
DEFAULT_SIP_REGISTRATIONS: tuple[SipRegistration, ...] = (
    SipRegistration("sip.provider.example", "amilab", domain="sip.provider.example"),
)
#: tests/asterisk/etc/extensions.conf, the extensions the recordings ran through.
EXTENSIONS_CONF = """\
[general]
static = yes
writeprotect = yes

[globals]
AMILAB_GLOBAL = hello

[amilab]
exten => 100,1,NoOp(amilab 100)
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()

exten => 101,1,NoOp(amilab 101)
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()

exten => 102,1,NoOp(amilab 102)
 same => n,Answer()
 same => n,Wait(30)
 same => n,Hangup()

exten => 200,1,NoOp(amilab 200)
 same => n,Set(CDR(userfield)=amilab)
 same => n,Dial(Local/100@amilab,10)
 same => n,Hangup()

exten => 300,1,NoOp(amilab 300)
 same => n,Answer()
 same => n,Queue(support,,,,10)
 same => n,Hangup()

exten => 400,1,NoOp(amilab agent 400)
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()

exten => 401,1,NoOp(amilab agent 401)
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()

exten => 500,1,NoOp(amilab redirected)
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()

exten => echo,1,Answer()
 same => n,Echo()
 same => n,Hangup()

exten => h,1,NoOp(amilab hangup handler)

[amilab-breadth]
exten => 600,1,NoOp(amilab-breadth bridged call)
 same => n,Dial(Local/102@amilab,10)
 same => n,Hangup()
"""
