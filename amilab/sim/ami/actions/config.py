"""Configuration and dialplan actions: GetConfig(JSON), ListCategories, Update/CreateConfig,
ShowDialPlan, DialplanExtensionAdd/Remove.

Texts and shapes are Asterisk 22's (main/manager.c, pbx_config) as recorded
in ``tests/fixtures/asterisk22/breadth.json`` and
``showdialplan_missing_extension.ami``. The simulator has no configuration
files to read or write: every file is "not found" (GetConfigJSON words it
as main/manager.c's path check does for a file that does not resolve). Its
dialplan is the model's, so ShowDialPlan and the extension actions act on it.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list, not_simulated, require
from amilab.sim.ami.registry import ActionContext, Reply, action

__all__ = ["REGISTRAR"]

respond = ServerProtocol.response
event = ServerProtocol.event

#: ``Registrar`` of extensions.conf's extensions (pbx_config loads them).
REGISTRAR = "pbx_config"
NO_FILE = "Filename not specified"


@action("GetConfig", "system,config", "Retrieve configuration.")
def get_config(ctx: ActionContext, msg: Message) -> Reply:
    return require(msg, "Filename", NO_FILE) or respond(msg, "Error", "Config file not found")


@action("GetConfigJSON", "system,config", "Retrieve configuration (JSON format).")
def get_config_json(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Filename", NO_FILE)
    return missing or respond(msg, "Error", "File requires escalated privileges")


@action("ListCategories", "config", "List categories in configuration file.")
def list_categories(ctx: ActionContext, msg: Message) -> Reply:
    return require(msg, "Filename", NO_FILE) or respond(msg, "Error", "Config file not found")


@action("UpdateConfig", "config", "Update basic configuration.")
def update_config(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "SrcFilename", NO_FILE) or require(msg, "DstFilename", NO_FILE)
    return missing or respond(msg, "Error", "Config file not found")


@action("CreateConfig", "config", "Creates an empty file in the configuration directory.")
def create_config(ctx: ActionContext, msg: Message) -> Reply:
    return require(msg, "Filename", NO_FILE) or not_simulated(msg, "CreateConfig")


@action("ShowDialPlan", "config,reporting", "Show dialplan contexts and extensions")
def show_dialplan(ctx: ActionContext, msg: Message) -> Reply:
    want_ctx, want_exten = msg.get("Context"), msg.get("Extension")
    items: list[bytes] = []
    contexts, extensions = set(), set()
    for context, extens in ctx.pbx.dialplan.items():
        if want_ctx and context != want_ctx:
            continue
        for exten, steps in extens.items():
            if want_exten and exten != want_exten:
                continue
            contexts.add(context)
            extensions.add((context, exten))
            for priority, (app, data) in enumerate(steps, 1):
                items.append(_item(msg, context, exten, priority, app, data))
    if not items:
        where = f"{want_exten}@{want_ctx}" if want_exten else want_ctx
        text = f"Did not find extension {where}" if want_exten else f"Did not find context {where}"
        return respond(msg, "Error", text if want_ctx else "No dialplan")
    extra = [
        ("ListExtensions", str(len(extensions))),
        ("ListPriorities", str(len(items))),
        ("ListContexts", str(len(contexts))),
    ]
    return event_list(msg, "DialPlan list will follow", items, "ShowDialPlanComplete", extra)


def _item(msg: Message, context: str, exten: str, priority: int, app: str, data: str) -> bytes:
    return event(
        "ListDialplan",
        [
            ("Context", context),
            ("Extension", exten),
            ("Priority", str(priority)),
            ("Application", app),
            ("AppData", data),
            ("Registrar", REGISTRAR),
        ],
        action_id=msg.action_id,
    )


@action("DialplanExtensionAdd", "system", "Add an extension to the dialplan")
def extension_add(ctx: ActionContext, msg: Message) -> Reply:
    if not all(msg.get(h) for h in ("Context", "Extension", "Priority", "Application")):
        text = "Context, Extension, Priority, and Application must be defined"
        return respond(msg, "Error", f"{text} for DialplanExtensionAdd.")
    priority = msg["Priority"]
    steps = ctx.pbx.dialplan.setdefault(msg["Context"], {}).setdefault(msg["Extension"], [])
    step = (msg["Application"], msg.get("ApplicationData", ""))
    if not priority.isdigit() or int(priority) < 1 or int(priority) > len(steps) + 1:
        return respond(msg, "Error", "Failed to add extension")
    at = int(priority) - 1
    if at < len(steps):
        if (msg.get("Replace") or "").lower() not in ("yes", "true", "1", "on"):
            return respond(msg, "Error", "Failed to add extension")
        steps[at] = step
    else:
        steps.append(step)
    return respond(msg, "Success", "Added requested extension")


@action("DialplanExtensionRemove", "system", "Remove an extension from the dialplan")
def extension_remove(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Context") or not msg.get("Extension"):
        text = "Context and Extension must be provided for DialplanExtensionRemove"
        return respond(msg, "Error", text)
    extens = ctx.pbx.dialplan.get(msg["Context"], {})
    if msg["Extension"] not in extens:
        return respond(msg, "Error", "Failed to remove requested extension")
    del extens[msg["Extension"]]
    return respond(msg, "Success", "Removed the requested extension")
