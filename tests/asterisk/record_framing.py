#!/usr/bin/env python3
"""Record the framing and correlation edge cases of issue 9 from the Asterisk 22 sandbox.

    tests/asterisk/sandbox.sh start && python tests/asterisk/record_framing.py [scenario ...]

Same format as ``record.py`` (whose connection helpers it reuses): each
``<scenario>.ami`` in tests/fixtures/asterisk22/ holds exactly the bytes the
server sent; the actions sent are listed in ``framing_scenarios.json`` (kept
apart from ``scenarios.json`` so both recorders can run independently).

The sandbox is shared, so every change made for a recording is undone after it:

* ``faxstats``/``faxsessions`` need res_fax, which the sandbox's modules.conf
  does not load; it is loaded for the recording (``ModuleLoad``) and unloaded
  afterwards if it was not loaded before.
* ``showdialplan_missing_extension`` needs a context whose ignore pattern
  matches the missing extension (manager_show_dialplan_helper() in
  main/pbx.c lists ignore patterns and switches even when no extension
  matches, then answers a second ``Response: Error``); the context
  ``amilab-framing`` is created with ``dialplan add`` and removed afterwards.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys

from record import OUT, Conn, Rec, asterisk_version, get, helper_action

INDEX = os.path.join(OUT, "framing_scenarios.json")
FRAMING_CONTEXT = "amilab-framing"

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.removeprefix("sc_")] = fn
    return fn


def responses(c: Conn, action_id: str) -> list:
    return [
        m for m in c.messages if get(m, "Response") is not None and get(m, "ActionID") == action_id
    ]


def cli(command: str) -> str:
    """Run a CLI command on a helper (unrecorded) connection; return its output."""
    msgs = helper_action([("Action", "Command"), ("Command", command)])
    return "\n".join(v for m in msgs for k, v in m if k == "Output")


def fax_loaded() -> bool:
    return "res_fax.so" in cli("module show like res_fax.so")


def with_res_fax(record):
    """Run ``record`` with res_fax loaded, restoring the module state after."""
    was_loaded = fax_loaded()
    if not was_loaded:
        helper_action([("Action", "ModuleLoad"), ("Module", "res_fax.so"), ("LoadType", "load")])
    try:
        return record()
    finally:
        if not was_loaded:
            helper_action(
                [("Action", "ModuleLoad"), ("Module", "res_fax.so"), ("LoadType", "unload")]
            )


@scenario
def sc_faxstats():
    def record():
        r = Rec(
            "faxstats",
            notes="FAXStats: Response Success 'FAXStats event will follow' without EventList, "
            "then one FAXStats event with the ActionID and no Complete event",
        )
        r.login()
        r.c.settle(0.3)
        r.act(
            [("Action", "FAXStats")],
            wait=lambda aid: (
                lambda: r.c.response(aid) is not None and r.c.event("FAXStats", aid) is not None
            ),
        )
        r.act([("Action", "Ping")])
        return r.finish()

    return with_res_fax(record)


@scenario
def sc_faxsessions():
    def record():
        r = Rec(
            "faxsessions",
            notes="FAXSessions with no fax sessions: EventList 'Start' (capital S), "
            "then FAXSessionsComplete",
        )
        r.login()
        r.c.settle(0.3)
        r.act([("Action", "FAXSessions")])
        return r.finish()

    return with_res_fax(record)


@scenario
def sc_showdialplan_missing_extension():
    cli(f"dialplan add extension 1,1,NoOp() into {FRAMING_CONTEXT}")
    cli(f"dialplan add ignorepat 9 into {FRAMING_CONTEXT}")
    try:
        r = Rec(
            "showdialplan_missing_extension",
            notes=f"ShowDialPlan Context {FRAMING_CONTEXT} Extension 99999, where the context "
            "holds extension 1 and ignorepat 9: EventList start, a ListDialplan item (the ignore "
            "pattern), then a second Response: Error with the same ActionID and no Complete event; "
            "then a Ping",
        )
        r.login()
        r.c.settle(0.3)
        r.act(
            [("Action", "ShowDialPlan"), ("Context", FRAMING_CONTEXT), ("Extension", "99999")],
            wait=lambda aid: lambda: len(responses(r.c, aid)) >= 2,
        )
        r.act([("Action", "Ping")])
        return r.finish()
    finally:
        cli(f"dialplan remove context {FRAMING_CONTEXT}")


@scenario
def sc_control_chars():
    """How manager.c's get_input() and astman_get_header() treat control bytes.

    Ping echoes its ActionID, so the echo shows what Asterisk made of each value.
    """
    r = Rec(
        "control_chars",
        notes="Ping with control bytes in the ActionID, echoed back: NUL inside a value "
        "(truncates it), a line starting with NUL (ends the message: the rest becomes a "
        "second message without Action), TAB inside and at the start of a value, VT/ESC "
        "inside a value, leading spaces, an empty ActionID, a lone CR inside a value; "
        "Events off, so other connections' events stay out",
    )
    r.login(events="off")
    r.c.settle(0.3)
    cases = [
        ("nul", [("Action", "Ping"), ("ActionID", "nul-a\x00b")], "nul-a", 1),
        (
            "nul-line",
            [
                ("Action", "Ping"),
                ("ActionID", "nul-line-1"),
                ("\x00X", "y"),
                ("ActionID", "nul-line-2"),
            ],
            "nul-line-2",
            1,
        ),
        ("tab", [("Action", "Ping"), ("ActionID", "tab-a\tb")], "tab-a\tb", 1),
        ("tab-lead", [("Action", "Ping"), ("ActionID", "\ttab-lead")], "tab-lead", 1),
        ("vt-esc", [("Action", "Ping"), ("ActionID", "vt-a\x0bb\x1bc")], "vt-a\x0bb\x1bc", 1),
        ("space-lead", [("Action", "Ping"), ("ActionID", "  space-lead")], "space-lead", 1),
        ("empty", [("Action", "Ping"), ("ActionID", "")], None, 0),
        ("lone-cr", [("Action", "Ping"), ("ActionID", "cr-a\rb")], None, 0),
    ]
    for tag, pairs, echoed, count in cases:
        before = len(r.c.messages)

        def seen(before=before, echoed=echoed, count=count):
            new = r.c.messages[before:]
            if echoed is None:
                return len(new) >= 1
            return sum(get(m, "ActionID") == echoed for m in new) >= count

        r.c.send(pairs)
        sent = r.c.now()
        ok = r.c.wait(seen, 5)
        r.steps.append(
            {
                "tag": tag,
                "action": [list(p) for p in pairs],
                "sent_at": sent,
                "complete_at": r.c.now(),
                "complete": ok,
            }
        )
        r.c.settle(0.3)
    return r.finish()


def main(argv):
    names = argv or list(SCENARIOS)
    index = {"scenarios": {}}
    if os.path.exists(INDEX):
        with open(INDEX) as f:
            index = json.load(f)
    index.update(
        {
            "asterisk_version": asterisk_version(),
            "recorded_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "recorder": "tests/asterisk/record_framing.py",
            "format": "each <file> holds exactly the bytes the server sent (CRLF kept), "
            "greeting line first",
        }
    )
    for n in names:
        print(f"recording {n}")
        index["scenarios"][n] = SCENARIOS[n]()
    index["scenarios"] = dict(sorted(index["scenarios"].items()))
    with open(INDEX, "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
