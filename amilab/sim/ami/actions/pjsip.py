"""PJSIP actions: endpoints, AORs, auths, contacts, registrations, subscriptions, qualify.

Shapes are Asterisk 22's res_pjsip (pjsipshowendpoints.ami,
pjsipshowendpoint_100.ami and breadth.json in ``tests/fixtures/asterisk22``);
the detail field tables are in :mod:`amilab.sim.ami.pjsip_fields`. The
simulator has no outbound registrations, subscriptions, resource lists or
endpoints in maintenance, like the sandbox; its phones are registered, the
sandbox's are not (no SIP client runs there), so contact lists differ in
length but not in shape.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list, not_simulated, require
from amilab.sim.ami.pjsip_fields import (
    aor_list_fields,
    auth_list_fields,
    endpoint_detail_events,
    inbound_registration_fields,
)
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import Endpoint

__all__: list[str] = []

respond = ServerProtocol.response
event = ServerProtocol.event


@action("PJSIPShowEndpoints", "system", "Lists PJSIP endpoints.")
def pjsip_show_endpoints(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        event(
            "EndpointList",
            [
                ("ObjectType", "endpoint"),
                ("ObjectName", ep.name),
                ("Transport", ep.transport),
                ("Aor", ep.name),
                ("Auths", ep.name),
                ("OutboundAuths", ""),
                ("Contacts", ep.contact + ("," if ep.contact else "")),
                ("DeviceState", ep.device_state if ep.registered else "Unavailable"),
                ("ActiveChannels", str(ep.active_channels)),
            ],
            action_id=msg.action_id,
        )
        for ep in sorted(ctx.pbx.endpoints.values(), key=lambda e: e.name)
    ]
    message = "A listing of Endpoints follows, presented as EndpointList events"
    return event_list(msg, message, items, "EndpointListComplete")


@action("PJSIPShowEndpoint", "system", "Detail listing of an endpoint and its objects.")
def pjsip_show_endpoint(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Endpoint", "")
    if not name:
        return respond(msg, "Error", "Endpoint parameter missing.")
    ep = ctx.pbx.endpoints.get(name)
    if ep is None:
        return respond(msg, "Error", f"Unable to retrieve endpoint {name}")
    items = endpoint_detail_events(ep, msg.action_id)
    message = "Following are Events for each object associated with the Endpoint"
    return event_list(msg, message, items, "EndpointDetailComplete")


def _by_name(ctx: ActionContext) -> list[Endpoint]:
    return sorted(ctx.pbx.endpoints.values(), key=lambda e: e.name)


@action("PJSIPShowAors", "system", "Lists PJSIP AORs.")
def pjsip_show_aors(ctx: ActionContext, msg: Message) -> Reply:
    items = [event("AorList", aor_list_fields(ep), action_id=msg.action_id) for ep in _by_name(ctx)]
    message = "A listing of AORs follows, presented as AorList events"
    return event_list(msg, message, items, "AorListComplete")


@action("PJSIPShowAuths", "system", "Lists PJSIP Auths.")
def pjsip_show_auths(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        event("AuthList", auth_list_fields(ep), action_id=msg.action_id) for ep in _by_name(ctx)
    ]
    message = "A listing of Auths follows, presented as AuthList events"
    return event_list(msg, message, items, "AuthListComplete")


@action("PJSIPShowContacts", "system", "Lists PJSIP Contacts.")
def pjsip_show_contacts(ctx: ActionContext, msg: Message) -> Reply:
    registered = [ep for ep in _by_name(ctx) if ep.registered]
    if not registered:
        return respond(msg, "Error", "No Contacts found")
    items = [
        event(
            "ContactList",
            [
                ("ObjectType", "contact"),
                ("ObjectName", ep.contact.replace("/", ";@", 1)),
                ("ViaAddr", ""),
                ("QualifyTimeout", "3.000000"),
                ("CallId", ""),
                ("RegServer", ""),
                ("PruneOnBoot", "false"),
                ("Path", ""),
                ("Endpoint", ep.name),
                ("ViaPort", "0"),
                ("AuthenticateQualify", "false"),
                ("Uri", ep.contact.split("/", 1)[1]),
                ("QualifyFrequency", "0"),
                ("UserAgent", ""),
                ("ExpirationTime", "0"),
                ("OutboundProxy", ""),
                ("Status", "Unknown"),
                ("RoundtripUsec", "N/A"),
            ],
            action_id=msg.action_id,
        )
        for ep in registered
    ]
    message = "A listing of Contacts follows, presented as ContactList events"
    return event_list(msg, message, items, "ContactListComplete")


@action("PJSIPShowRegistrationsInbound", "system", "Lists PJSIP inbound registrations.")
def pjsip_show_registrations_inbound(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        event("InboundRegistrationDetail", inbound_registration_fields(ep), action_id=msg.action_id)
        for ep in _by_name(ctx)
    ]
    message = "Following are Events for each Inbound registration"
    return event_list(msg, message, items, "InboundRegistrationDetailComplete")


@action(
    "PJSIPShowRegistrationInboundContactStatuses",
    "system",
    "Lists ContactStatuses for PJSIP inbound registrations.",
)
def pjsip_show_contact_statuses(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        event(
            "ContactStatusDetail",
            [
                ("AOR", ep.name),
                ("URI", ep.contact.split("/", 1)[1]),
                ("UserAgent", ""),
                ("RegExpire", "0"),
                ("ViaAddress", ""),
                ("CallID", ""),
                ("Status", "Unknown"),
                ("RoundtripUsec", "N/A"),
                ("EndpointName", ep.name),
                ("ID", ep.contact.replace("/", ";@", 1)),
                ("AuthenticateQualify", "0"),
                ("OutboundProxy", ""),
                ("Path", ""),
                ("QualifyFrequency", "0"),
                ("QualifyTimeout", "3.000"),
            ],
            action_id=msg.action_id,
        )
        for ep in _by_name(ctx)
        if ep.registered
    ]
    message = "Following are ContactStatusEvents for each Inbound registration"
    return event_list(msg, message, items, "ContactStatusDetailComplete")


@action("PJSIPShowRegistrationsOutbound", "system,reporting", "Lists PJSIP outbound registrations.")
def pjsip_show_registrations_outbound(ctx: ActionContext, msg: Message) -> Reply:
    extra = [("Registered", "0"), ("NotRegistered", "0")]
    message = "Following are Events for each Outbound registration"
    return event_list(msg, message, [], "OutboundRegistrationDetailComplete", extra)


@action("PJSIPShowSubscriptionsInbound", "system", "Lists inbound subscriptions.")
def pjsip_show_subscriptions_inbound(ctx: ActionContext, msg: Message) -> Reply:
    message = "Following are Events for each inbound Subscription"
    return event_list(msg, message, [], "InboundSubscriptionDetailComplete")


@action("PJSIPShowSubscriptionsOutbound", "system", "Lists outbound subscriptions.")
def pjsip_show_subscriptions_outbound(ctx: ActionContext, msg: Message) -> Reply:
    message = "Following are Events for each outbound Subscription"
    return event_list(msg, message, [], "OutboundSubscriptionDetailComplete")


@action("PJSIPShowResourceLists", "system", "Displays settings for configured resource lists.")
def pjsip_show_resource_lists(ctx: ActionContext, msg: Message) -> Reply:
    return respond(msg, "Error", "No resource lists found")


@action(
    "PJSIPShowMaintenance",
    "system,reporting",
    "Show maintenance mode status for PJSIP endpoints.",
)
def pjsip_show_maintenance(ctx: ActionContext, msg: Message) -> Reply:
    message = "Maintenance status events follow"
    return event_list(msg, message, [], "PJSIPMaintenanceStatusComplete")


@action("PJSIPSetMaintenance", "system", "Enable or disable maintenance mode for a PJSIP endpoint.")
def pjsip_set_maintenance(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Endpoint", "Endpoint parameter missing")
    if missing:
        return missing
    if msg["Endpoint"] not in ctx.pbx.endpoints:
        return respond(msg, "Error", f"Endpoint '{msg['Endpoint']}' not found")
    return not_simulated(msg, "PJSIPSetMaintenance")


@action("PJSIPQualify", "system,reporting", "Qualify a chan_pjsip endpoint.")
def pjsip_qualify(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Endpoint", "Endpoint parameter missing.")
    if missing:
        return missing
    if msg["Endpoint"] not in ctx.pbx.endpoints:
        return respond(msg, "Error", "Unable to retrieve endpoint")
    # The OPTIONS go to the endpoint's contacts; the sandbox's AORs do not qualify
    # (qualify_frequency 0), so no ContactStatus event follows there either.
    return respond(msg, "Success", "Endpoint found, will qualify")


def _registration(name: str, synopsis: str) -> None:
    """PJSIPRegister/Unregister: the simulator has no outbound registrations (pjsip.conf)."""

    def handler(ctx: ActionContext, msg: Message) -> Reply:
        missing = require(msg, "Registration", "Registration parameter missing.")
        return missing or respond(msg, "Error", "Unable to retrieve registration entry")

    action(name, "system,reporting", synopsis)(handler)


_registration("PJSIPRegister", "Register an outbound registration.")
_registration("PJSIPUnregister", "Unregister an outbound registration.")
