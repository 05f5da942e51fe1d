"""Module and housekeeping actions: ModuleCheck, ModuleLoad, LoggerRotate, WaitEvent, MessageSend,
PJSIPNotify, the Sorcery memory cache actions, Agents and AgentLogoff.

Texts are Asterisk 22's as recorded in ``tests/fixtures/asterisk22/breadth.json``.
"""

from __future__ import annotations

import asyncio

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list, not_simulated, require
from amilab.sim.ami.registry import ActionContext, Reply, action

__all__ = ["LOADED_MODULES", "WAITEVENT_MAX"]

respond = ServerProtocol.response
event = ServerProtocol.event

#: The modules whose behaviour the simulator imitates (``module show`` on the
#: sandbox lists them all as Running); ``ModuleCheck`` finds these.
LOADED_MODULES = frozenset(
    {
        "app_agent_pool", "app_confbridge", "app_dial", "app_mixmonitor", "app_playback",
        "app_queue", "app_senddtmf", "app_userevent", "app_voicemail", "bridge_holding",
        "bridge_native_rtp", "bridge_simple", "bridge_softmix", "chan_bridge_media",
        "chan_pjsip", "func_db", "pbx_config", "res_agi", "res_manager_devicestate",
        "res_manager_presencestate", "res_parking", "res_pjsip", "res_pjsip_outbound_registration",
        "res_pjsip_pubsub", "res_sorcery_memory_cache",
    }
)  # fmt: skip
#: WaitEvent without ``Timeout`` waits until an event; the simulator bounds it
#: (seconds) so a forgotten header cannot hold a connection forever.
WAITEVENT_MAX = 60.0


@action("ModuleCheck", "system", "Check if module is loaded.")
def module_check(ctx: ActionContext, msg: Message) -> Reply:
    name = (msg.get("Module") or "").removesuffix(".so")
    if name not in LOADED_MODULES:
        return respond(msg, "Error", "Module not loaded")
    # Asterisk 22 no longer has per-module version strings: the header is empty.
    return respond(msg, "Success", None, [("Version", "")])


@action("ModuleLoad", "system", "Module management.")
def module_load(ctx: ActionContext, msg: Message) -> Reply:
    load_type = (msg.get("LoadType") or "").lower()
    module = msg.get("Module")
    if not load_type:
        # Asterisk 22 answers a bare ModuleLoad three times (breadth.json): manager.c
        # sends "Incomplete ModuleLoad action." and "Need module name" and does not
        # return after either. Reproduced because a client must cope with it.
        return [
            respond(msg, "Error", "Incomplete ModuleLoad action."),
            respond(msg, "Error", "Need module name"),
            respond(msg, "Error", "Incomplete ModuleLoad action."),
        ]
    if not module:
        return respond(msg, "Error", "Need module name")
    if module.removesuffix(".so") not in LOADED_MODULES:
        return respond(msg, "Error", "Module not found.")
    return not_simulated(msg, "ModuleLoad")


@action("LoggerRotate", "system,reporting", "Reload and rotate the Asterisk logger.")
def logger_rotate(ctx: ActionContext, msg: Message) -> Reply:
    return respond(msg, "Success", "Reloaded the logger and rotated log files")


@action("WaitEvent", synopsis="Wait for an event to occur.")
async def wait_event(ctx: ActionContext, msg: Message) -> Reply:
    # The simulator does not queue events for WaitEvent: it waits out the timeout.
    text = msg.get("Timeout") or ""
    timeout = min(float(text), WAITEVENT_MAX) if text.isdigit() else WAITEVENT_MAX
    await asyncio.sleep(timeout)
    return [
        respond(msg, "Success", "Waiting for Event completed."),
        event("WaitEventComplete", action_id=msg.action_id),
    ]


@action("MessageSend", "message", "Send an out of call message to an endpoint.")
def message_send(ctx: ActionContext, msg: Message) -> Reply:
    return require(msg, "To", "No 'To' address specified.") or not_simulated(msg, "MessageSend")


@action("PJSIPNotify", "system", "Send a NOTIFY to either an endpoint, an arbitrary URI, or "
        "inside a SIP dialog.")  # fmt: skip
def pjsip_notify(ctx: ActionContext, msg: Message) -> Reply:
    if bool(msg.get("Option")) == bool(msg.getall("Variable")):
        text = "PJSIPNotify requires either an Option or Variable(s)."
        return respond(msg, "Error", text + "You must use only one of them.")
    return not_simulated(msg, "PJSIPNotify")


def _sorcery(name: str, synopsis: str) -> None:
    """res_sorcery_memory_cache's actions: the simulator has no memory caches."""

    def handler(ctx: ActionContext, msg: Message) -> Reply:
        missing = require(msg, "Cache", f"{name} requires that a cache name be provided.")
        return missing or respond(msg, "Error", "The provided cache does not exist")

    action(name, "system", synopsis)(handler)


for _name, _synopsis in (
    ("SorceryMemoryCacheExpire", "Expire (remove) ALL objects from a sorcery memory cache."),
    ("SorceryMemoryCacheExpireObject", "Expire (remove) an object from a sorcery memory cache."),
    ("SorceryMemoryCachePopulate", "Expire all objects from a memory cache and populate it with "
     "all objects from the backend."),
    ("SorceryMemoryCacheStale", "Marks ALL objects in a sorcery memory cache as stale."),
    ("SorceryMemoryCacheStaleObject", "Mark an object in a sorcery memory cache as stale."),
):  # fmt: skip
    _sorcery(_name, _synopsis)


@action("Agents", "agent", "Lists agents and their status.")
def agents(ctx: ActionContext, msg: Message) -> Reply:
    # app_agent_pool's agents.conf is empty on the sandbox and in the simulator.
    return event_list(msg, "Agents will follow", [], "AgentsComplete")


@action("AgentLogoff", "agent", "Sets an agent as no longer logged in.")
def agent_logoff(ctx: ActionContext, msg: Message) -> Reply:
    return require(msg, "Agent", "No agent specified") or respond(msg, "Error", "No such agent")
