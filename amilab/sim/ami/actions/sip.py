"""chan_sip's actions (SIPpeers, SIPshowpeer), answered from the PJSIP endpoints.

Real Asterisk 22 has no chan_sip (removed in 21) and answers these with
``Invalid/unknown command`` (sippeers.ami, sipshowpeer.ami in
``tests/fixtures/asterisk22``). They are in their own table,
:data:`CHAN_SIP_ACTIONS`, which only a server started with ``legacy_sip=True``
adds to its actions, to show what older tutorials expect.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list
from amilab.sim.ami.registry import ActionContext, ActionSpec, Reply, action
from amilab.sim.model import Endpoint

__all__ = ["CHAN_SIP_ACTIONS", "peer_entry", "show_peer_fields"]

respond = ServerProtocol.response
#: chan_sip's actions by lower-case name; not part of the Asterisk 22 table.
CHAN_SIP_ACTIONS: dict[str, ActionSpec] = {}


@action("SIPpeers", synopsis="List SIP peers (text format).", table=CHAN_SIP_ACTIONS)
def sip_peers(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        peer_entry(ep, msg.action_id)
        for ep in sorted(ctx.pbx.endpoints.values(), key=lambda e: e.name)
    ]
    return event_list(msg, "Peer status list will follow", items, "PeerlistComplete")


@action("SIPshowpeer", synopsis="show SIP peer (text format).", table=CHAN_SIP_ACTIONS)
def sip_show_peer(ctx: ActionContext, msg: Message) -> Reply:
    peer = msg.get("Peer", "")
    if not peer:
        return respond(msg, "Error", "SIPshowpeer: No peer name specified")
    ep = ctx.pbx.endpoints.get(peer)
    if ep is None:
        return respond(msg, "Error", "Peer not found")
    return respond(msg, headers=show_peer_fields(ep))


def peer_entry(ep: Endpoint, action_id: str | None) -> bytes:
    """A chan_sip-style ``PeerEntry`` derived from a PJSIP endpoint (legacy mode only)."""
    return ServerProtocol.event(
        "PeerEntry",
        [
            ("Channeltype", "SIP"),
            ("ObjectName", ep.name),
            ("ChanObjectType", "peer"),
            ("IPaddress", "127.0.0.1" if ep.registered else "-none-"),
            ("IPport", "5060" if ep.registered else "0"),
            ("Dynamic", "yes"),
            ("AutoForcerport", "no"),
            ("Forcerport", "yes"),
            ("AutoComedia", "no"),
            ("Comedia", "no"),
            ("VideoSupport", "no"),
            ("TextSupport", "no"),
            ("ACL", "no"),
            ("Status", "OK (1 ms)" if ep.registered else "UNKNOWN"),
            ("RealtimeDevice", "no"),
            ("Description", ep.callerid_name),
            ("Accountcode", ""),
        ],
        action_id=action_id,
    )


def show_peer_fields(ep: Endpoint) -> list[tuple[str, str]]:
    """The headers of a chan_sip ``SIPshowpeer`` response (legacy mode only)."""
    return [
        ("Channeltype", "SIP"),
        ("ObjectName", ep.name),
        ("ChanObjectType", "peer"),
        ("SecretExist", "Y"),
        ("Context", ep.context),
        ("Callerid", ep.callerid),
        ("Address-IP", "127.0.0.1" if ep.registered else "(null)"),
        ("Address-Port", "5060" if ep.registered else "0"),
        ("Dynamic", "Y"),
        ("Status", "OK (1 ms)" if ep.registered else "UNKNOWN"),
        ("Codecs", "(ulaw|alaw)"),
        ("Description", ep.callerid_name),
    ]
