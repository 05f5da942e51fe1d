"""chan_sip's actions, for the Asterisk 20 profile: SIPpeers, SIPshowpeer, SIPqualifypeer,
SIPshowregistry, SIPnotify, SIPpeerstatus.

Real Asterisk 22 has no chan_sip (removed in 21) and answers these with
``Invalid/unknown command`` (sippeers.ami, sipshowpeer.ami in
``tests/fixtures/asterisk22``), so they sit in their own table,
:data:`CHAN_SIP_ACTIONS`, which only a chan_sip profile adds.

Source of every shape: Asterisk's channels/chan_sip.c at tag 20.20.1 (read
with git from the asterisk/asterisk repository): the privileges in
``load_module`` (``ast_manager_register_xml``), the synopses in its XML
documentation, ``manager_sip_show_peers``/``_sip_show_peers_one`` (PeerEntry,
ActionID right after the event name, then PeerlistComplete),
``_sip_show_peer`` type 1 (SIPshowpeer: ``Response: Success`` and the
fields, no Message), ``manager_sip_qualify_peer`` (ack, then the
``SIPQualifyPeerDone`` event), ``manager_show_registry`` (RegistryEntry,
RegistrationsComplete), ``manager_sipnotify`` and ``manager_sip_peer_status``
(PeerStatus items, SIPpeerstatusComplete). No real Asterisk 20 was recorded:
values are those of a default ``type=friend`` peer, names and order are the
source's.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list
from amilab.sim.ami.registry import ActionContext, ActionSpec, Reply, action
from amilab.sim.model import PBXModel, SipPeer, SipRegistration

__all__ = ["CHAN_SIP_ACTIONS", "peer_entry", "registry_entry", "show_peer_fields"]

respond = ServerProtocol.response
event = ServerProtocol.event
#: chan_sip's actions by lower-case name; not part of the Asterisk 22 table.
CHAN_SIP_ACTIONS: dict[str, ActionSpec] = {}
#: sip.conf defaults behind SIPshowpeer's fixed fields (chan_sip.c: DEFAULT_MAX_FORWARDS,
#: default_maxcallbitrate, call_limit INT_MAX, t38_maxdatagram -1 as unsigned,
#: DEFAULT_MAX_SE/DEFAULT_MIN_SE, DEFAULT_QUALIFYFREQ, the registration expiry).
MAX_FORWARDS = 70
MAX_CALL_BITRATE_KBPS = 384
CALL_LIMIT = 2**31 - 1
T38_MAX_DATAGRAM = 2**32 - 1
SESSION_EXPIRES, SESSION_MIN = 1800, 90
QUALIFY_FREQ_MS = 60_000
REGISTRATION_EXPIRY = 3600


def _find(pbx: PBXModel, name: str) -> SipPeer | None:
    """A peer by name; ``SIP/`` in front is accepted (manager_sip_peer_status strips it)."""
    if name[:4].lower() == "sip/":
        name = name[4:]
    return pbx.sip_peers.get(name)


@action("SIPpeers", "system,reporting", "List SIP peers (text format).", table=CHAN_SIP_ACTIONS)
def sip_peers(ctx: ActionContext, msg: Message) -> Reply:
    peers = sorted(ctx.pbx.sip_peers.values(), key=lambda p: p.name)  # peercomparefunc: strcmp
    items = [peer_entry(p, msg.action_id) for p in peers]
    return event_list(msg, "Peer status list will follow", items, "PeerlistComplete")


def peer_entry(peer: SipPeer, action_id: str | None) -> bytes:
    """One ``PeerEntry`` (``_sip_show_peers_one``, manager format)."""
    return event(
        "PeerEntry",
        [
            ("Channeltype", "SIP"),
            ("ObjectName", peer.name),
            ("ChanObjectType", "peer"),
            ("IPaddress", peer.address if peer.registered else "-none-"),
            ("IPport", str(peer.port) if peer.registered else "0"),
            ("Dynamic", "yes" if peer.dynamic else "no"),
            ("AutoForcerport", "yes"),
            ("Forcerport", "no"),
            ("AutoComedia", "no"),
            ("Comedia", "no"),
            ("VideoSupport", "no"),
            ("TextSupport", "no"),
            ("ACL", "no"),
            ("Status", peer.status),
            ("RealtimeDevice", "no"),
            ("Description", peer.description),
            ("Accountcode", ""),
        ],
        action_id=action_id,
    )


@action("SIPshowpeer", "system,reporting", "show SIP peer (text format).", table=CHAN_SIP_ACTIONS)
def sip_show_peer(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Peer", "")
    if not name:
        return respond(msg, "Error", "Peer: <name> missing.")
    peer = ctx.pbx.sip_peers.get(name)
    if peer is None:
        return respond(msg, "Error", f"Peer {name} not found.")
    return respond(msg, headers=show_peer_fields(peer, ctx.pbx.uptime))


def show_peer_fields(peer: SipPeer, uptime: int) -> list[tuple[str, str]]:
    """SIPshowpeer's fields, in ``_sip_show_peer``'s manager order."""
    here = peer.registered
    return [
        ("Channeltype", "SIP"),
        ("ObjectName", peer.name),
        ("ChanObjectType", "peer"),
        ("SecretExist", "Y"),
        ("RemoteSecretExist", "N"),
        ("MD5SecretExist", "N"),
        ("Context", peer.context),
        ("Language", ""),
        ("ToneZone", "<Not set>"),
        ("AMAflags", "Unknown"),
        ("CID-CallingPres", "Presentation Allowed, Not Screened"),
        ("Callgroup", ""),
        ("Pickupgroup", ""),
        ("Named Callgroup", ""),
        ("Named Pickupgroup", ""),
        ("MOHSuggest", ""),
        ("VoiceMailbox", ""),
        ("TransferMode", "open"),
        ("LastMsgsSent", "0"),
        ("Maxforwards", str(MAX_FORWARDS)),
        ("Call-limit", str(CALL_LIMIT)),
        ("Busy-level", "0"),
        ("MaxCallBR", f"{MAX_CALL_BITRATE_KBPS} kbps"),
        ("Dynamic", "Y" if peer.dynamic else "N"),
        ("Callerid", f'"{peer.callerid_name}" <{peer.name}>'),
        ("RegExpire", f"{max(0, REGISTRATION_EXPIRY - uptime) if here else -1} seconds"),
        ("SIP-AuthInsecure", "no"),
        ("SIP-Forcerport", "a"),
        ("SIP-Comedia", "N"),
        ("ACL", "N"),
        ("SIP-CanReinvite", "Y"),
        ("SIP-DirectMedia", "Y"),
        ("SIP-PromiscRedir", "N"),
        ("SIP-UserPhone", "N"),
        ("SIP-VideoSupport", "N"),
        ("SIP-TextSupport", "N"),
        ("SIP-T.38Support", "N"),
        ("SIP-T.38EC", "Unknown"),
        ("SIP-T.38MaxDtgrm", str(T38_MAX_DATAGRAM)),
        ("SIP-Sess-Timers", "Accept"),
        ("SIP-Sess-Refresh", "uas"),
        ("SIP-Sess-Expires", str(SESSION_EXPIRES)),
        ("SIP-Sess-Min", str(SESSION_MIN)),
        ("SIP-RTP-Engine", "asterisk"),
        ("SIP-Encryption", "N"),
        ("SIP-RTCP-Mux", "N"),
        ("SIP-DTMFmode", "rfc2833"),
        ("ToHost", ""),
        ("Address-IP", peer.address if here else "(null)"),
        ("Address-Port", str(peer.port) if here else "0"),
        ("Default-addr-IP", "(null)"),
        ("Default-addr-port", "0"),
        ("Default-Username", peer.name if here else ""),
        ("Codecs", "(ulaw|alaw)"),
        ("Status", peer.status),
        ("SIP-Useragent", peer.useragent),
        ("Reg-Contact", f"sip:{peer.name}@{peer.address}:{peer.port}" if here else ""),
        ("QualifyFreq", f"{QUALIFY_FREQ_MS} ms"),
        ("Parkinglot", ""),
        ("SIP-Use-Reason-Header", "N"),
        ("Description", peer.description),
    ]


@action("SIPqualifypeer", "system,reporting", "Qualify SIP peers.", table=CHAN_SIP_ACTIONS)
def sip_qualify_peer(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Peer", "")
    if not name:
        return respond(msg, "Error", "Peer: <name> missing.")
    if ctx.pbx.sip_peers.get(name) is None:
        return respond(msg, "Error", "Peer not found")
    body = [("Peer", name), *([("ActionID", msg.action_id)] if msg.action_id else [])]
    pbx = ctx.pbx
    return [  # publish_qualify_peer_done: a call-class event after the ack
        respond(msg, "Success", "SIP peer found - will qualify"),
        lambda: pbx.emit("SIPQualifyPeerDone", "call", body),
    ]


@action(
    "SIPshowregistry", "system,reporting", "Show SIP registrations (text format).",
    table=CHAN_SIP_ACTIONS,
)  # fmt: skip
def sip_show_registry(ctx: ActionContext, msg: Message) -> Reply:
    items = [registry_entry(r, msg.action_id) for r in ctx.pbx.sip_registrations]
    return event_list(msg, "Registrations will follow", items, "RegistrationsComplete")


def registry_entry(reg: SipRegistration, action_id: str | None) -> bytes:
    """One ``RegistryEntry`` (``manager_show_registry``)."""
    return event(
        "RegistryEntry",
        [
            ("Host", reg.host),
            ("Port", str(reg.port)),
            ("Username", reg.username),
            ("Domain", reg.domain or reg.host),
            ("DomainPort", str(reg.domain_port)),
            ("Refresh", str(reg.refresh)),
            ("State", reg.state),
            ("RegistrationTime", str(reg.registered_at)),
        ],
        action_id=action_id,
    )


@action("SIPnotify", "system", "Send a SIP notify.", table=CHAN_SIP_ACTIONS)
def sip_notify(ctx: ActionContext, msg: Message) -> Reply:
    channel = msg.get("Channel", "")
    if not channel:
        return respond(msg, "Error", "SIPNotify requires a channel name")
    peer = _find(ctx.pbx, channel)
    if peer is None or not peer.registered:  # create_addr fails: no such or unregistered peer
        return respond(msg, "Error", "Could not create address")
    return respond(msg, "Success", "Notify Sent")


@action(
    "SIPpeerstatus", "system", "Show the status of one or all of the sip peers.",
    table=CHAN_SIP_ACTIONS,
)  # fmt: skip
def sip_peer_status(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Peer", "")
    peers = sorted(ctx.pbx.sip_peers.values(), key=lambda p: p.name)
    if name:
        found = _find(ctx.pbx, name)
        if found is None:
            return respond(msg, "Error", "No such peer")
        peers = [found]
    items = [_peer_status(p, msg.action_id) for p in peers]
    return event_list(msg, "Peer status will follow", items, "SIPpeerstatusComplete")


def _peer_status(peer: SipPeer, action_id: str | None) -> bytes:
    """``send_manager_peer_status``: ActionID comes last here, after Time."""
    if not peer.registered:
        state: list[tuple[str, str]] = [("PeerStatus", "Unknown")]
    elif peer.latency_ms is None:
        state = [("PeerStatus", "Unreachable")]
    else:
        state = [("PeerStatus", "Reachable"), ("Time", str(peer.latency_ms))]
    return event(
        "PeerStatus",
        [
            ("Privilege", "System"),
            ("ChannelType", "SIP"),
            ("Peer", f"SIP/{peer.name}"),
            *state,
            *([("ActionID", action_id)] if action_id else []),
        ],
    )
