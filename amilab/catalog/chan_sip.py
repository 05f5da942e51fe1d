"""chan_sip's manager actions and the res_pjsip action to use instead of each.

chan_sip was deprecated in Asterisk 17 and removed in 21 (its ``MODULEINFO``
in channels/chan_sip.c up to tag 20.20.1: ``deprecated_in 17``,
``removed_in 21``), so a real Asterisk 21+ answers these actions
``Invalid/unknown command`` (tests/fixtures/asterisk22/sippeers.ami). The
keys are the lower-cased names chan_sip registered in ``load_module``; the
values are res_pjsip's manager actions that show or do the same thing. Both
the notebook (the hint after a refusal) and the simulator's profiles use
this one table, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CHAN_SIP_PRIVILEGES", "CHAN_SIP_TO_PJSIP", "pjsip_equivalent"]

CHAN_SIP_TO_PJSIP: Mapping[str, str] = MappingProxyType(
    {
        "sippeers": "PJSIPShowEndpoints",
        "sipshowpeer": "PJSIPShowEndpoint",
        "sipqualifypeer": "PJSIPQualify",
        "sipshowregistry": "PJSIPShowRegistrationsOutbound",
        "sipnotify": "PJSIPNotify",
        "sippeerstatus": "PJSIPShowContacts",
    }
)


#: Each chan_sip action's privilege, as registered in channels/chan_sip.c
#: ``load_module`` at tag 20.20.1 (``EVENT_FLAG_SYSTEM | EVENT_FLAG_REPORTING``
#: for the four lookups, ``EVENT_FLAG_SYSTEM`` for SIPnotify and SIPpeerstatus).
#: The catalog is generated from Asterisk 22, which has no chan_sip.
CHAN_SIP_PRIVILEGES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "sippeers": ("system", "reporting"),
        "sipshowpeer": ("system", "reporting"),
        "sipqualifypeer": ("system", "reporting"),
        "sipshowregistry": ("system", "reporting"),
        "sipnotify": ("system",),
        "sippeerstatus": ("system",),
    }
)


def pjsip_equivalent(action: str) -> str | None:
    """The PJSIP action replacing chan_sip's ``action`` (any case); None if not chan_sip's."""
    return CHAN_SIP_TO_PJSIP.get(action.lower())
