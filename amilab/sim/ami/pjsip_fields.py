"""PJSIP object details (PJSIPShowEndpoint): the field tables of each detail event.

The field tables list the headers of ``EndpointDetail``, ``AuthDetail``,
``TransportDetail`` and ``AorDetail`` in the order Asterisk 22 sends them
(recorded in ``tests/fixtures/asterisk22/pjsipshowendpoint_100.ami``), with the
sandbox's configuration as values; ``{name}``/``{callerid}`` are filled per
endpoint and a few fields (device state, contacts) come from the model.
"""

from __future__ import annotations

from amilab.protocol import ServerProtocol
from amilab.sim.model import Endpoint

__all__ = [
    "aor_list_fields",
    "auth_list_fields",
    "endpoint_detail_events",
    "inbound_registration_fields",
]

ENDPOINTDETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("ObjectType", "endpoint"),
    ("ObjectName", "{name}"),
    ("RpidImmediate", "false"),
    ("Webrtc", "no"),
    ("Ignore183WithoutSdp", "false"),
    ("SendAoc", "false"),
    ("DeviceStateBusyAt", "0"),
    ("T38UdptlMaxdatagram", "0"),
    ("CodecPrefsIncomingAnswer", "prefer:pending, operation:intersect, keep:all, transcode:allow"),
    ("SecurityNegotiation", "no"),
    ("DtlsRekey", "0"),
    ("RtpPortEnd", "0"),
    ("NamedPickupGroup", ""),
    ("DirectMediaMethod", "invite"),
    ("SendRpid", "false"),
    ("PickupGroup", ""),
    ("SdpSession", "Asterisk"),
    ("DtlsVerify", "No"),
    ("MessageContext", ""),
    ("Tenantid", ""),
    ("Mailboxes", ""),
    ("RecordOnFeature", "automixmon"),
    ("DtlsPrivateKey", ""),
    ("DtlsFingerprint", "SHA-256"),
    ("OverlapContext", ""),
    ("OutgoingCallOfferPref", "remote_merge"),
    ("RtpPortStart", "0"),
    ("FromDomain", ""),
    ("TimersSessExpires", "1800"),
    ("NamedCallGroup", ""),
    ("DtlsCipher", ""),
    ("MediaEncryptionOptimistic", "false"),
    ("SuppressQ850ReasonHeaders", "false"),
    ("Aors", "{name}"),
    ("IdentifyBy", "username,ip"),
    ("CalleridPrivacy", "allowed_not_screened"),
    ("MwiSubscribeReplacesUnsolicited", "no"),
    ("CosAudio", "0"),
    ("FollowEarlyMediaFork", "true"),
    ("Context", "amilab"),
    ("RtpSymmetric", "false"),
    ("Transport", "transport-udp"),
    ("MohSuggest", "default"),
    ("T38Udptl", "false"),
    ("FaxDetect", "false"),
    ("T38BindUdptlToMediaAddress", "false"),
    ("TosVideo", "0"),
    ("SrtpTag32", "false"),
    ("ReferBlindProgress", "true"),
    ("MaxAudioStreams", "1"),
    ("Bundle", "false"),
    ("UseAvpf", "false"),
    ("CallGroup", ""),
    ("SendConnectedLine", "yes"),
    ("FaxDetectTimeout", "0"),
    ("SdpOwner", "-"),
    ("ForceRport", "true"),
    ("CalleridTag", ""),
    ("RtpTimeoutHold", "0"),
    ("SuppressMohOnSendonly", "false"),
    ("UsePtime", "false"),
    ("MediaAddress", ""),
    ("VoicemailExtension", ""),
    ("RtpTimeout", "0"),
    ("StirShaken", "no"),
    ("SetVar", ""),
    ("ContactAcl", ""),
    ("PreferredCodecOnly", "false"),
    ("GeolocOutgoingCallProfile", ""),
    ("ForceAvp", "false"),
    ("RecordOffFeature", "automixmon"),
    ("FromUser", ""),
    ("SendDiversion", "true"),
    ("SendHistoryInfo", "false"),
    ("T38UdptlIpv6", "false"),
    ("ToneZone", ""),
    ("Language", ""),
    ("AllowSubscribe", "true"),
    ("RtpIpv6", "false"),
    ("Callerid", "{callerid}"),
    ("MohPassthrough", "false"),
    ("CosVideo", "0"),
    ("DtlsAutoGenerateCert", "No"),
    ("AsymmetricRtpCodec", "false"),
    ("GeolocIncomingCallProfile", ""),
    ("IceSupport", "false"),
    ("AggregateMwi", "true"),
    ("OneTouchRecording", "false"),
    ("MwiFromUser", ""),
    ("RedirectMethod", "user"),
    ("Accountcode", ""),
    ("CodecPrefsOutgoingAnswer", "prefer:pending, operation:intersect, keep:all, transcode:allow"),
    ("Allow", "(ulaw|alaw)"),
    ("RewriteContact", "false"),
    ("UserEqPhone", "false"),
    ("RtpEngine", "asterisk"),
    ("FollowRedirectMethods", ""),
    ("SubscribeContext", ""),
    ("NotifyEarlyInuseRinging", "false"),
    ("IncomingMwiMailbox", ""),
    ("IncomingCallOfferPref", "local"),
    ("AllowUnauthenticatedOptions", "false"),
    ("Auth", "{name}"),
    ("DirectMediaGlareMitigation", "none"),
    ("TrustIdInbound", "false"),
    ("StirShakenProfile", ""),
    ("BindRtpToMediaAddress", "false"),
    ("DisableDirectMediaOnNat", "false"),
    ("MediaEncryption", "no"),
    ("MediaUseReceivedTransport", "false"),
    ("AllowOverlap", "true"),
    ("DtmfMode", "rfc4733"),
    ("OutboundAuth", ""),
    ("TosAudio", "0"),
    ("DtlsCertFile", ""),
    ("DtlsCaPath", ""),
    ("DtlsSetup", "active"),
    ("ConnectedLineMethod", "invite"),
    ("G726NonStandard", "false"),
    ("100rel", "yes"),
    ("Timers", "yes"),
    ("DirectMedia", "false"),
    ("Acl", ""),
    ("TimersMinSe", "90"),
    ("TrustIdOutbound", "false"),
    ("SubMinExpiry", "0"),
    ("RtcpMux", "false"),
    ("MaxVideoStreams", "1"),
    ("AcceptMultipleSdpAnswers", "false"),
    ("CodecPrefsIncomingOffer", "prefer:pending, operation:intersect, keep:all, transcode:allow"),
    ("CodecPrefsOutgoingOffer", "prefer:pending, operation:union, keep:all, transcode:allow"),
    ("TrustConnectedLine", "yes"),
    ("SendPai", "false"),
    ("RtpKeepalive", "0"),
    ("T38UdptlEc", "none"),
    ("T38UdptlNat", "false"),
    ("AllowTransfer", "true"),
    ("DtlsCaFile", ""),
    ("OutboundProxy", ""),
    ("InbandProgress", "false"),
    ("DeviceState", "Unavailable"),
    ("ActiveChannels", "0"),
)
AUTHDETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("ObjectType", "auth"),
    ("ObjectName", "{name}"),
    ("OauthSecret", ""),
    ("PasswordDigest", ""),
    ("SupportedAlgorithmsUas", "MD5"),
    ("RefreshToken", ""),
    ("Username", "{name}"),
    ("Md5Cred", ""),
    ("Realm", ""),
    ("AuthType", "userpass"),
    ("Password", "amilab-{name}"),
    ("SupportedAlgorithmsUac", "MD5"),
    ("NonceLifetime", "32"),
    ("OauthClientid", ""),
    ("EndpointName", "{name}"),
)
TRANSPORTDETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("ObjectType", "transport"),
    ("ObjectName", "transport-udp"),
    ("WebsocketWriteTimeout", "100"),
    ("Cos", "0"),
    ("TcpKeepaliveEnable", "false"),
    ("Protocol", "udp"),
    ("SymmetricTransport", "false"),
    ("Domain", ""),
    ("VerifyServer", "No"),
    ("LocalNet", ""),
    ("Bind", "127.0.0.1:15060"),
    ("AllowWildcardCerts", "No"),
    ("TcpKeepaliveIntervalTime", "1"),
    ("AsyncOperations", "1"),
    ("ExternalMediaAddress", ""),
    ("Method", "unspecified"),
    ("ExternalSignalingAddress", ""),
    ("RequireClientCert", "No"),
    ("TcpKeepaliveIdleTime", "30"),
    ("Tos", "0"),
    ("CaListPath", ""),
    ("Cipher", ""),
    ("CertFile", ""),
    ("ExternalSignalingPort", "0"),
    ("Password", ""),
    ("AllowReload", "false"),
    ("VerifyClient", "No"),
    ("TcpKeepaliveProbeCount", "5"),
    ("PrivKeyFile", ""),
    ("CaListFile", ""),
    ("EndpointName", "{name}"),
)
AORDETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("ObjectType", "aor"),
    ("ObjectName", "{name}"),
    ("MinimumExpiration", "60"),
    ("DefaultExpiration", "3600"),
    ("QualifyTimeout", "3.000000"),
    ("Qualify2xxOnly", "false"),
    ("Mailboxes", ""),
    ("SupportPath", "false"),
    ("RemoveUnavailable", "false"),
    ("VoicemailExtension", ""),
    ("MaxContacts", "1"),
    ("AuthenticateQualify", "false"),
    ("Contacts", ""),
    ("MaximumExpiration", "7200"),
    ("QualifyFrequency", "0"),
    ("RemoveExisting", "true"),
    ("OutboundProxy", ""),
    ("TotalContacts", "0"),
    ("ContactsRegistered", "0"),
    ("EndpointName", "{name}"),
)


def _fill(
    fields: tuple[tuple[str, str], ...], ep: Endpoint, live: dict[str, str]
) -> list[tuple[str, str]]:
    out = []
    for key, value in fields:
        if key in live:
            out.append((key, live[key]))
        else:
            out.append((key, value.format(name=ep.name, callerid=ep.callerid)))
    return out


def endpoint_detail_events(ep: Endpoint, action_id: str | None) -> list[bytes]:
    """EndpointDetail, AuthDetail, TransportDetail, AorDetail for one endpoint."""
    contacts = 1 if ep.registered else 0
    live = {
        "DeviceState": ep.device_state if ep.registered else "Unavailable",
        "ActiveChannels": str(ep.active_channels),
        "Context": ep.context,
        "Transport": ep.transport,
        "Contacts": f"{ep.contact}," if ep.registered else "",
        "TotalContacts": str(contacts),
        "ContactsRegistered": str(contacts),
    }
    tables = (
        ("EndpointDetail", ENDPOINTDETAIL_FIELDS),
        ("AuthDetail", AUTHDETAIL_FIELDS),
        ("TransportDetail", TRANSPORTDETAIL_FIELDS),
        ("AorDetail", AORDETAIL_FIELDS),
    )
    return [
        ServerProtocol.event(name, _fill(fields, ep, live), action_id=action_id)
        for name, fields in tables
    ]


def _live(ep: Endpoint) -> dict[str, str]:
    return {"Contacts": f"{ep.contact}," if ep.registered else ""}


def aor_list_fields(ep: Endpoint) -> list[tuple[str, str]]:
    """``AorList`` (PJSIPShowAors): AorDetail's fields up to ``OutboundProxy`` (breadth.json)."""
    fields = AORDETAIL_FIELDS[: [k for k, _ in AORDETAIL_FIELDS].index("TotalContacts")]
    return _fill(fields, ep, _live(ep))


def auth_list_fields(ep: Endpoint) -> list[tuple[str, str]]:
    """``AuthList`` (PJSIPShowAuths): AuthDetail's fields without ``EndpointName``."""
    return _fill(AUTHDETAIL_FIELDS[:-1], ep, {})


def inbound_registration_fields(ep: Endpoint) -> list[tuple[str, str]]:
    """``InboundRegistrationDetail``: the AOR's fields, with res_pjsip_registrar's singular
    ``Contact`` where the AOR has ``Contacts``, and ``Contacts`` again last (breadth.json)."""
    out = [("Contact" if k == "Contacts" else k, "" if k == "Contacts" else v)
           for k, v in aor_list_fields(ep)]  # fmt: skip
    return [*out, ("Contacts", _live(ep)["Contacts"])]
