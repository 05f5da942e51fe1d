"""The header blocks events share: a channel's snapshot, a bridge's, a queue member's.

Orders are Asterisk 22's: ``ast_manager_build_channel_state_string`` and
``ast_manager_build_bridge_state_string`` (main/manager_channels.c,
main/manager_bridges.c), app_queue's member blob, as recorded in
``tests/fixtures/asterisk22`` (queue_call.ami, queuestatus.ami).
"""

from __future__ import annotations

from amilab.sim.model.objects import STATE_DESC, UNKNOWN, Bridge, Channel, QueueMember

__all__ = ["bridge_snapshot", "member_fields", "snapshot"]

_SNAPSHOT_KEYS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)


def snapshot(channel: Channel, prefix: str = "") -> list[tuple[str, str]]:
    """The channel snapshot headers, in ``ast_manager_build_channel_state_string`` order."""
    values = (
        channel.name,
        str(channel.state),
        STATE_DESC.get(channel.state, "Unknown"),
        channel.cid_num,
        channel.cid_name,
        channel.conn_num,
        channel.conn_name,
        channel.language,
        channel.accountcode,
        channel.context,
        channel.exten,
        str(channel.priority),
        channel.uniqueid,
        channel.linkedid,
    )
    return [(prefix + key, value) for key, value in zip(_SNAPSHOT_KEYS, values, strict=True)]


def bridge_snapshot(bridge: Bridge) -> list[tuple[str, str]]:
    return [
        ("BridgeUniqueid", bridge.uniqueid),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", UNKNOWN),
        ("BridgeName", UNKNOWN),
        ("BridgeNumChannels", str(len(bridge.channels))),
        ("BridgeVideoSourceMode", "none"),
    ]


def member_fields(
    queue: str, m: QueueMember, name_key: str = "MemberName", where_key: str = "Interface"
) -> list[tuple[str, str]]:
    """A member's headers: QueueMemberStatus/Added/Removed/Pause, or QueueStatus's QueueMember."""
    fields = [
        ("Queue", queue),
        (name_key, m.name),
        (where_key, m.interface),
        ("StateInterface", m.interface),
        ("Membership", m.membership),
        ("Penalty", str(m.penalty)),
        ("CallsTaken", str(m.calls_taken)),
        ("LastCall", str(m.last_call)),
        ("LastPause", str(m.last_pause)),
        ("LoginTime", str(m.login_time)),
        ("InCall", "1" if m.in_call else "0"),
        ("Status", str(m.status)),
        ("Paused", "1" if m.paused else "0"),
        ("PausedReason", m.paused_reason),
    ]
    if name_key == "MemberName":
        fields.append(("Ringinuse", "1" if m.ringinuse else "0"))
    fields.append(("Wrapuptime", "0"))
    return fields
