"""Read-only mode and dry runs: decide locally, before a byte is sent.

Which actions write? Asterisk has no such flag. Each action has a privilege:
the ``write=`` classes of manager.conf, any one of which lets a user send it
(manager.c checks ``writeperm & authority``, or no privilege at all). Of those
classes only ``reporting`` is meant for looking (manager.conf.sample: "ability
to get information about the system"). So an action is a read when the
catalog (the recorded ``ListCommands``) gives it no privilege or ``reporting``,
except for the actions below that a real Asterisk 22 lists so but that change
state; and a few list actions that need a write class only because their
module registered them under ``system``, ``call``, ``agent`` or ``config`` are
reads too. chan_sip's actions (not in the catalog, which is generated from
Asterisk 22) take their privileges from :mod:`amilab.catalog.chan_sip`.
Anything the catalog does not know (third-party modules, actions
not loaded on the recorded server) counts as a write: a guard that guesses
"read" is no guard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from amilab.catalog import Catalog
from amilab.catalog.chan_sip import CHAN_SIP_PRIVILEGES
from amilab.protocol import Action
from amilab.trace import mask_secrets

__all__ = [
    "DRY_RUN_ACTION_ID",
    "READS_UNDER_WRITE_CLASS",
    "READ_CLASSES",
    "WRITES_UNDER_READ_PRIVILEGE",
    "dry_run_text",
    "write_reason",
]

#: The manager.conf class that only gets information (manager.conf.sample).
READ_CLASSES = frozenset({"reporting"})

#: Actions that change state although Asterisk 22's ListCommands gives them no
#: privilege or ``reporting`` (tests/fixtures/asterisk22/listcommands.ami), and why.
WRITES_UNDER_READ_PRIVILEGE: Mapping[str, str] = MappingProxyType(
    {
        "bridgedestroy": "destroys a bridge (Priv: <none>)",
        "bridgekick": "kicks a channel out of a bridge (Priv: <none>)",
        "bridgetechnologysuspend": "suspends a bridge technology (Priv: <none>)",
        "bridgetechnologyunsuspend": "unsuspends a bridge technology (Priv: <none>)",
        "queuechangeprioritycaller": "changes a waiting caller's priority (Priv: <none>)",
        "queuereload": "reloads queues (Priv: <none>)",
        "queuereset": "resets queue statistics (Priv: <none>)",
        "queuewithdrawcaller": "withdraws a caller from a queue (Priv: <none>)",
        "loggerrotate": "rotates the log files (Priv: reporting)",
        "pjsipqualify": "sends SIP OPTIONS to the endpoint's contacts (Priv: reporting)",
        "pjsipregister": "starts an outbound registration (Priv: reporting)",
        "pjsipunregister": "stops an outbound registration (Priv: reporting)",
        "sipqualifypeer": "sends SIP OPTIONS to the peer (Priv: system,reporting in chan_sip.c)",
    }
)

#: List and show actions registered under a write class that only read (their
#: synopsis in core-en_US.xml begins "Lists", "Show" or "List").
READS_UNDER_WRITE_CLASS = frozenset(
    {
        "agents",
        "getconfig",
        "getconfigjson",
        "listcategories",
        "parkedcalls",
        "parkinglots",
        "pjsipshowendpoints",
        "pjsipshowregistrationinboundcontactstatuses",
        "pjsipshowregistrationsinbound",
        "pjsipshowresourcelists",
        "pjsipshowsubscriptionsinbound",
        "pjsipshowsubscriptionsoutbound",
        "sippeerstatus",
    }
)

#: Shown in a dry run: the real ActionID is chosen by the connection when it sends.
DRY_RUN_ACTION_ID = "<assigned when sent>"


def write_reason(name: str, catalog: Catalog) -> str | None:
    """Why action ``name`` may write (one phrase), or None when it only reads."""
    low = name.lower()
    if low in WRITES_UNDER_READ_PRIVILEGE:
        return WRITES_UNDER_READ_PRIVILEGE[low]
    if low in READS_UNDER_WRITE_CLASS:
        return None
    doc = catalog.action(name)
    privilege = CHAN_SIP_PRIVILEGES.get(low) if doc is None else doc.privilege
    if privilege is None and doc is None:
        return "is not in the catalog, so its privilege is unknown"
    if privilege is None:
        return "was not loaded on the recorded Asterisk 22, so its privilege is unknown"
    classes = [c for c in privilege if c != "all"]
    if not classes or READ_CLASSES & set(classes):
        return None
    return f"needs the write class {' or '.join(classes)}"


def dry_run_text(name: str, headers: Sequence[tuple[str, str]]) -> str:
    """The bytes an action would be sent as, secrets masked, one AMI line per line.

    Built by the same serialiser the connection uses (:meth:`Action.to_bytes`);
    only the ActionID differs, as the connection picks it when it sends.
    """
    action = Action(name, list(headers))
    if action.action_id is None:
        action = action.with_action_id(DRY_RUN_ACTION_ID)
    data = mask_secrets(action.to_bytes())
    return data.decode("utf-8", "replace").replace("\r\n", "\\r\\n\n").rstrip("\n")
