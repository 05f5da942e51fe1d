"""Which Asterisk the simulator imitates: version strings and loaded channel drivers.

``"22"`` (the default) is checked against the real Asterisk 22.10.1 sandbox:
PJSIP only, since chan_sip was removed in 21, so the chan_sip actions answer
``Invalid/unknown command`` (tests/fixtures/asterisk22/sippeers.ami).

``"20"`` imitates Asterisk 20 with chan_sip built and loaded beside PJSIP,
as many PBXes in the field still run it. Its version strings and its chan_sip
actions come from Asterisk's source at tag 20.20.1: ``AMI_VERSION`` "9.0.0"
(include/asterisk/manager.h), the actions and their privileges registered in
channels/chan_sip.c ``load_module``. chan_sip there is ``deprecated_in 17``,
``removed_in 21`` and ``defaultenabled no``: a build has to select it, which
this profile assumes. Everything else answers as the 22 profile does; no real
Asterisk 20 was recorded to check it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The chan_sip -> PJSIP table is a fact about Asterisk, kept once in the catalog.
from amilab.catalog.chan_sip import CHAN_SIP_TO_PJSIP

__all__ = ["CHAN_SIP_TO_PJSIP", "DEFAULT_ASTERISK", "PROFILES", "AsteriskProfile", "get_profile"]


@dataclass(frozen=True)
class AsteriskProfile:
    """One imitated Asterisk: what it announces and which drivers it has."""

    name: str
    #: ``CoreSettings`` ``AsteriskVersion`` and ``core show version``.
    version: str
    #: The greeting's ``Asterisk Call Manager/<ami_version>`` and ``AMIversion``.
    ami_version: str
    chan_sip: bool

    @property
    def banner(self) -> str:
        """One line saying truthfully what runs, e.g. for ``%ami connect --sim``."""
        release = self.version.split("+", 1)[0]
        drivers = "chan_sip + PJSIP" if self.chan_sip else "PJSIP"
        return f"simulated Asterisk {release} ({drivers})"


PROFILES: dict[str, AsteriskProfile] = {
    # 22.10.1: the sandbox's release (tests/asterisk/sandbox.sh status); AMI 11.0.0 is
    # its greeting in every tests/fixtures/asterisk22 transcript.
    "22": AsteriskProfile("22", "22.10.1+amilab-sim", "11.0.0", chan_sip=False),
    # 20.20.1: the newest Asterisk 20 tag; AMI_VERSION "9.0.0" on branch 20.
    "20": AsteriskProfile("20", "20.20.1+amilab-sim", "9.0.0", chan_sip=True),
}
DEFAULT_ASTERISK = "22"
#: The PJSIP action to use instead of each chan_sip one (res_pjsip's manager actions),
#: for a hint when a server without chan_sip refuses a chan_sip action.


def get_profile(asterisk: str | int) -> AsteriskProfile:
    """The profile for ``"22"``/``"20"`` (an int works too); a clear error otherwise."""
    key = str(asterisk).strip()
    try:
        return PROFILES[key]
    except KeyError:
        choices = ", ".join(sorted(PROFILES))
        raise ValueError(
            f"the simulator imitates Asterisk {choices}, not {asterisk!r}; "
            f"pass asterisk={DEFAULT_ASTERISK!r} or asterisk='20'"
        ) from None
