"""chan_sip peers in the endpoints table, where chan_sip is loaded (the Asterisk 20 profile)."""

from __future__ import annotations

import amilab
import amilab.sim
from amilab.protocol.message import Message


def _block(*pairs: tuple[str, str]) -> Message:
    return Message("\r\n".join(f"{k}: {v}" for k, v in pairs).encode())


def test_sip_peers_are_seeded_and_follow_peer_status():
    """On a chan_sip PBX, SIPpeers seeds SIP/<peer> rows; PeerStatus moves their reachability."""
    sim = amilab.sim.start(asterisk="20")
    try:
        with amilab.connect(sim, ping_interval=None, state=True) as s:
            assert s.state is not None
            endpoints = s.state.endpoints
            assert {"SIP/100", "100"} <= set(endpoints.index)
            assert bool(endpoints.loc["SIP/100", "reachable"]) is True
            assert endpoints.loc["SIP/100", "contacts"] == "127.0.0.1:5060"
            live = s.state.live
            event = _block(
                ("Event", "PeerStatus"),
                ("Privilege", "system,all"),
                ("ChannelType", "SIP"),
                ("Peer", "SIP/100"),
                ("PeerStatus", "Unreachable"),
            )
            s.io.call(live.model.apply, event, 0.0)
            assert bool(s.state.endpoints.loc["SIP/100", "reachable"]) is False
    finally:
        sim.stop()


def test_a_pbx_without_chan_sip_still_seeds_its_endpoints():
    """On Asterisk 22 (no chan_sip) SIPpeers is an unknown command: endpoints still seed."""
    sim = amilab.sim.start(asterisk="22")
    try:
        with amilab.connect(sim, ping_interval=None, state=True) as s:
            assert s.state is not None
            assert s.state.live.coverage["endpoints"] == "seeded"
            index = set(s.state.endpoints.index)
            assert "100" in index and not any(str(k).startswith("SIP/") for k in index)
    finally:
        sim.stop()
