"""%ami sim imitates Asterisk 20 (chan_sip) or 22; chan_sip refusals name the PJSIP action."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError

import amilab.sim.profiles
from amilab.catalog.chan_sip import CHAN_SIP_TO_PJSIP, pjsip_equivalent


@pytest.mark.parametrize("line", ["sim", "connect --sim"])
def test_sim_default_has_chan_sip_and_sippeers_is_a_frame(ip, magics, capsys, line):
    """%ami sim / connect --sim: a truthful one-line banner, and %ami SIPPeers gives peers."""
    ip.run_line_magic("ami", line)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "simulated Asterisk 20." in out[0] and "(chan_sip + PJSIP)" in out[0]
    assert magics.sim.profile.name == "20"
    frame = ip.run_line_magic("ami", "SIPPeers")
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    assert "ObjectName" in frame.columns
    assert frame["Channeltype"].eq("SIP").all()


def test_sim_asterisk_22_is_strict_and_names_the_pjsip_action(ip, magics, capsys):
    """--asterisk 22: PJSIP only; SIPPeers fails in one line naming PJSIPShowEndpoints."""
    ip.run_line_magic("ami", "sim --asterisk 22")
    out = capsys.readouterr().out
    assert "simulated Asterisk 22." in out and "(PJSIP)" in out and "chan_sip" not in out
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "SIPPeers")
    text = str(info.value)
    assert "\n" not in text
    assert "Invalid/unknown command" in text and "%ami PJSIPShowEndpoints" in text


@pytest.mark.parametrize(("action", "pjsip"), sorted(CHAN_SIP_TO_PJSIP.items()))
def test_every_chan_sip_action_names_its_pjsip_equivalent(ip, action, pjsip):
    """Each chan_sip action refused by a PJSIP-only server gets its own PJSIP hint."""
    ip.run_line_magic("ami", "sim --asterisk 22")
    with pytest.raises(UsageError, match=f"use %ami {pjsip} instead"):
        ip.run_line_magic("ami", f"{action} Peer=x Channel=x Variable=x=1 --force")


def test_other_unknown_action_gets_no_chan_sip_hint(ip):
    """An unknown action that is not chan_sip's is not blamed on chan_sip."""
    ip.run_line_magic("ami", "sim --asterisk 22")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "Originat")
    assert "chan_sip" not in str(info.value) and "Did you mean Originate" in str(info.value)


def test_unknown_profile_is_one_line(ip):
    """--asterisk 18 names the profiles there are."""
    with pytest.raises(UsageError, match=r"imitates Asterisk 20, 22, not '18'"):
        ip.run_line_magic("ami", "sim --asterisk 18")


def test_table_is_the_simulators():
    """The catalog's chan_sip table and the simulator's profiles agree (one table, no drift)."""
    assert dict(CHAN_SIP_TO_PJSIP) == dict(amilab.sim.profiles.CHAN_SIP_TO_PJSIP)
    assert pjsip_equivalent("SIPpeers") == "PJSIPShowEndpoints"
    assert pjsip_equivalent("Originate") is None


def test_real_asterisk_22_sippeers_names_pjsip(ip, asterisk, monkeypatch):
    """Real Asterisk 22 answers SIPPeers 'Invalid/unknown command'; the line names PJSIP's."""
    monkeypatch.setenv("AMI_SECRET", "amilab-admin")
    ip.run_line_magic("ami", f"connect {asterisk.host}:{asterisk.port} --user admin")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "SIPPeers")
    text = str(info.value)
    assert "\n" not in text
    assert "Invalid/unknown command: SIPPeers" in text
    assert "use %ami PJSIPShowEndpoints instead" in text
