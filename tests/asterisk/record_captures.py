#!/usr/bin/env python3
"""Record the real transcripts the capture tests (tests/test_recorder.py) rely on.

    tests/asterisk/sandbox.sh status && python tests/asterisk/record_captures.py

Reuses record.py's raw-socket recorder (stdlib only, no project code) and
writes ``tests/fixtures/asterisk22/<name>.ami`` plus its metadata as
``<name>.json`` (kept apart from record.py's scenarios.json), with the
Secret replaced by ``<secret>``.

``userevent_clash``: a UserEvent action whose own headers are named like the
recorder's columns (``Event``, ``received_at``, ``event``). manager.c's
action_userevent copies every action header except Action, ActionID and
UserEvent into the event body, so the event carries them after its own
``Event: UserEvent`` line; this pins what Asterisk 22 really sends.
"""

from __future__ import annotations

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("amilab_record", os.path.join(HERE, "record.py"))
assert _spec is not None and _spec.loader is not None
record = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record)


def userevent_clash() -> dict[str, object]:
    r = record.Rec(
        "userevent_clash",
        notes="UserEvent whose headers are named like the recorder's columns: "
        "Event, received_at, event; they arrive after Event: UserEvent",
    )
    r.login(events="user")
    r.c.settle(0.3)
    r.act(
        [
            ("Action", "UserEvent"),
            ("UserEvent", "AmilabClash"),
            ("Event", "header-event"),
            ("received_at", "header-time"),
            ("event", "lower-event"),
        ],
        wait=lambda aid: (
            lambda: r.c.response(aid) is not None and r.c.event("UserEvent") is not None
        ),
    )
    return r.finish()


SCENARIOS = {"userevent_clash": userevent_clash}


def main(argv: list[str]) -> None:
    record.save_scenario_files(SCENARIOS, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
