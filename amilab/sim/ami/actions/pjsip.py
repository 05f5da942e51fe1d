"""PJSIP actions: PJSIPShowEndpoints, PJSIPShowEndpoint.

Shapes are Asterisk 22's res_pjsip (pjsipshowendpoints.ami,
pjsipshowendpoint_100.ami in ``tests/fixtures/asterisk22``); the detail
field tables are in :mod:`amilab.sim.ami.pjsip_fields`.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list
from amilab.sim.ami.pjsip_fields import endpoint_detail_events
from amilab.sim.ami.registry import ActionContext, Reply, action

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
