"""AstDB actions: DBPut, DBGet, DBDel, DBDelTree (texts from db.ami, Asterisk 22)."""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import aid, event_list
from amilab.sim.ami.registry import ActionContext, Reply, action

__all__: list[str] = []

respond = ServerProtocol.response
event = ServerProtocol.event


def _db_key(msg: Message) -> str:
    return f"/{msg.get('Family', '')}/{msg.get('Key', '')}"


@action("DBPut", "system", "Put DB entry.")
def db_put(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Family"):
        return respond(msg, "Error", "No family specified")
    if not msg.get("Key"):
        return respond(msg, "Error", "No key specified")
    ctx.pbx.astdb[_db_key(msg)] = msg.get("Val", "")
    return respond(msg, "Success", "Updated database successfully")


@action("DBGet", "system,reporting", "Get DB Entry.")
def db_get(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Family"):
        return respond(msg, "Error", "No family specified.")
    if not msg.get("Key"):
        return respond(msg, "Error", "No key specified.")
    value = ctx.pbx.astdb.get(_db_key(msg))
    if value is None:
        return respond(msg, "Error", "Database entry not found")
    item = event(
        "DBGetResponse",
        [("Family", msg["Family"]), ("Key", msg["Key"]), ("Val", value), *aid(msg)],
    )
    return event_list(msg, "Result will follow", [item], "DBGetComplete")


@action("DBDel", "system", "Delete DB entry.")
def db_del(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Family"):
        return respond(msg, "Error", "No family specified.")
    if not msg.get("Key"):
        return respond(msg, "Error", "No key specified.")
    if ctx.pbx.astdb.pop(_db_key(msg), None) is None:
        return respond(msg, "Error", "Database entry could not be deleted")
    return respond(msg, "Success", "Key deleted successfully")


@action("DBDelTree", "system", "Delete DB Tree.")
def db_del_tree(ctx: ActionContext, msg: Message) -> Reply:
    prefix = f"/{msg.get('Family', '')}"
    if msg.get("Key"):
        prefix += f"/{msg['Key']}"
    doomed = [k for k in ctx.pbx.astdb if k == prefix or k.startswith(prefix + "/")]
    if not msg.get("Family"):
        return respond(msg, "Error", "No family specified.")
    if not doomed:
        return respond(msg, "Error", "Database entry not found")
    for key in doomed:
        del ctx.pbx.astdb[key]
    return respond(msg, "Success", "Key tree deleted successfully")


@action("DBGetTree", "system,reporting", "Get DB entries, optionally at a particular family/key")
def db_get_tree(ctx: ActionContext, msg: Message) -> Reply:
    prefix = ""
    if msg.get("Family"):
        prefix = f"/{msg['Family']}"
        if msg.get("Key"):
            prefix += f"/{msg['Key']}"
    items = [  # Key and Val, then the ActionID last (breadth.json)
        event("DBGetTreeResponse", [("Key", key), ("Val", value), *aid(msg)])
        for key, value in sorted(ctx.pbx.astdb.items())
        if not prefix or key == prefix or key.startswith(prefix + "/")
    ]
    return event_list(msg, "Result will follow", items, "DBGetTreeComplete")
