"""Build ``amilab/catalog/ami.json`` from Asterisk's own XML documentation.

    python -m amilab.catalog.generate --xml PATH/core-en_US.xml [--check]

Theory of operation. Debian's ``asterisk`` package ships the manager
documentation as ``/usr/share/asterisk/documentation/core-en_US.xml`` with
``appdocsxml.xslt`` beside it. Three things in it are not plain elements:

* ``<xi:include xpointer="xpointer(/docs/...)"/>``: every action's ActionID and
  many event fields are pulled in from another element. The xpointers are
  simple absolute paths, which ElementTree's ``findall`` evaluates once the
  ``/docs/`` prefix is removed; ``node()``/``text()`` pointers pull prose, which
  the catalog does not ship, so they are ignored.
* ``<channel_snapshot prefix="Dest"/>`` and ``<bridge_snapshot/>``: placeholders
  that ``appdocsxml.xslt`` expands into a fixed list of fields; the generator
  reads those templates from the XSLT file itself, so a new snapshot field in
  a later release is picked up.
* Privileges are not in the XML at all (manager.c registers them in C), so
  they come from a recorded ``ListCommands`` of the sandbox, and whether
  Asterisk really refuses a missing "required" parameter comes from
  ``tests/fixtures/asterisk22/required_params.json`` (tests/asterisk/record_required.py).

Only facts are written (names, flags, enumerations, classes); the prose stays
with the server (``manager show command X``). The prose is read only to
decide which fields are integers (see :func:`_integer_reason`).

Stdlib only; the output is deterministic (sorted keys, sorted lists) so
``--check`` can compare bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["build", "main", "render"]

#: Bumped when the layout of the data file changes (readers check it).
FORMAT = 1
DATA_FILE = Path(__file__).with_name("ami.json")
_REPO = Path(__file__).resolve().parents[2]
_FIXTURES = _REPO / "tests" / "fixtures" / "asterisk22"
DEFAULT_LISTCOMMANDS = _FIXTURES / "listcommands.ami"
DEFAULT_PROBES = _FIXTURES / "required_params.json"
DEFAULT_XML = Path("/var/cache/amilab/asterisk-sid/usr/share/asterisk/documentation/core-en_US.xml")

_XI = "{http://www.w3.org/2001/XInclude}include"
_XSL = "{http://www.w3.org/1999/XSL/Transform}"
#: Nested XIncludes deeper than this are a loop in the documentation, not data.
MAX_INCLUDE_DEPTH = 8
_TRUE = frozenset({"true", "yes"})
#: One pointer in Asterisk 22 lacks the leading "/" (BlindTransfer's Result).
_POINTER = re.compile(r"^xpointer\(/?docs/(?P<path>.+)\)$")
_CONTAINS = re.compile(r"\[contains\(@name, *'(?P<part>[^']*)'\)\]$")
_LITERAL = re.compile(r"'([^']*)'")
_PRIV = re.compile(r"^(?P<name>[A-Za-z][\w-]*): .*\(Priv: (?P<priv>[^)]*)\)\s*$")
_INTEGER = re.compile(r"-?[0-9]+")
#: Prose that states a field is a number. Matched against the field's own
#: ``<para>`` text in the XML ("A numeric code for the channel's current state",
#: "Number of channels in the bridge", "The time (in seconds) the caller waited").
_NUMBER_PROSE = re.compile(
    r"\b(numeric|number of|in (?:milli)?seconds|(?:milli)?seconds (?:since|that|for|of)"
    r"|count of|how many)\b",
    re.IGNORECASE,
)
#: Identifiers that merely look numeric, never converted (frames.py's rule):
#: an extension may be ``0044``, a caller ID ``+49...``, a Uniqueid ``1795669599.10``.
NOT_INTEGER = frozenset(
    {
        "exten",
        "callerid",
        "calleridnum",
        "connectedlinenum",
        "uniqueid",
        "linkedid",
        "timestamp",
        "accountcode",
        "actionid",
        "mailbox",
        "number",
        "digit",
        # RTCP's round-trip time is documented "in seconds" but is a fraction of one.
        "rtt",
    }
)


# -- XML access ------------------------------------------------------------------
@dataclass
class _Docs:
    """The parsed XML, its XInclude resolver and the XSLT snapshot templates."""

    root: ET.Element
    snapshots: dict[str, list[ET.Element]]

    def resolve(self, include: ET.Element, depth: int = 0) -> list[ET.Element]:
        """Elements an ``xi:include`` points at (text/node() pointers: none)."""
        match = _POINTER.match(include.get("xpointer", ""))
        if match is None or match["path"].endswith(("node()", "text()")):
            return []
        if depth > MAX_INCLUDE_DEPTH:
            raise ValueError(f"XInclude loop at {include.get('xpointer')}")
        path, contains = match["path"], None
        if (hit := _CONTAINS.search(path)) is not None:
            # ElementTree has no contains(); used once (RTCPSent's ReportX fields).
            path, contains = path[: hit.start()], hit["part"]
        found = self.root.findall(path)
        if contains is not None:
            found = [e for e in found if contains in e.get("name", "")]
        if "/" not in path:
            found = found[:1]  # a whole element documented by several modules: the first
        return found

    def expand(self, children: Iterable[ET.Element], depth: int = 0) -> Iterator[ET.Element]:
        """Children with includes and snapshot placeholders replaced by what they stand for."""
        for child in children:
            if child.tag == _XI:
                yield from self.expand(self.resolve(child, depth), depth + 1)
            elif child.tag in self.snapshots:
                yield from _snapshot(self.snapshots[child.tag], child.get("prefix", ""))
            else:
                yield child


def _snapshot_templates(xslt: Path) -> dict[str, list[ET.Element]]:
    """``channel_snapshot`` -> its ``xsl:element name="parameter"`` list, from the XSLT."""
    templates: dict[str, list[ET.Element]] = {}
    for template in ET.parse(xslt).getroot().iter(f"{_XSL}template"):
        name = template.get("match", "")
        if name.endswith("_snapshot"):
            templates[name] = [e for e in template if e.get("name") == "parameter"]
    return templates


def _snapshot(elements: list[ET.Element], prefix: str) -> Iterator[ET.Element]:
    """The ``<parameter>`` elements a snapshot template writes for ``prefix``."""
    for element in elements:
        value_of = element.find(f"{_XSL}attribute[@name='name']/{_XSL}value-of")
        literals = _LITERAL.findall(value_of.get("select", "") if value_of is not None else "")
        base = "".join(literals)
        param = ET.Element("parameter", {"name": prefix + base, _BASE: base})
        required = element.find(f"{_XSL}attribute[@name='required']")
        if required is not None and required.text:
            param.set("required", required.text.strip())
        for child in element:
            if not child.tag.startswith(_XSL):
                param.append(child)
        yield param


def _text(element: ET.Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


# -- facts -----------------------------------------------------------------------
#: Integer fields the XML does not describe as numbers, each recorded as a
#: decimal integer from Asterisk 22 in tests/fixtures/asterisk22 (queue*.ami,
#: corestatus.ami, originate_*.ami; tests/catalog checks the recordings).
#: ``Priority`` also covers snapshot copies (``DestPriority``, ``LocalOnePriority``).
RECORDED_INTEGERS = frozenset(
    {
        "priority",
        "penalty",
        "position",
        "calls",
        "completed",
        "abandoned",
        "max",
        "lastpause",
        "corecurrentcalls",
        "coremaxcalls",
    }
)
#: Marks a parameter made from a snapshot template with the template's own name.
_BASE = "amilab-base"


def _integer_reason(param: ET.Element) -> str | None:
    """Why one documented field is an integer, or None.

    ``enum``: it has documented values and every one is an integer.
    ``docs``: its own description says it is a number, a count or a duration
    in (milli)seconds. ``recorded``: in :data:`RECORDED_INTEGERS`.
    Identifiers in :data:`NOT_INTEGER` never are.
    """
    name = param.get("name", "").lower()
    if name in NOT_INTEGER:
        return None
    enum = [e.get("name", "") for e in param.findall("enumlist/enum")]
    if enum:
        return "enum" if all(_INTEGER.fullmatch(v) for v in enum) else None
    if any(_NUMBER_PROSE.search(_text(p)) for p in param.findall("para")):
        return "docs"
    if name in RECORDED_INTEGERS or param.get(_BASE, "").lower() in RECORDED_INTEGERS:
        return "recorded"
    return None


def _param(element: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {"name": element.get("name", "")}
    if element.get("required", "").lower() in _TRUE:
        out["required"] = True
    enum = sorted({e.get("name", "") for e in element.findall("enumlist/enum")} - {""})
    if enum:
        out["enum"] = enum
    if element.get("multiple", "").lower() in _TRUE:
        out["multiple"] = True
    return out


def _event_names(docs: _Docs, elements: Iterable[ET.Element]) -> list[str]:
    names = (e.get("name", "") for e in docs.expand(elements) if e.tag == "managerEvent")
    return list(dict.fromkeys(n for n in names if n))


def _action(docs: _Docs, element: ET.Element, priv: str | None) -> dict[str, Any]:
    params: dict[str, dict[str, Any]] = {}
    for p in docs.expand(element.findall("syntax/*")):
        if p.tag == "parameter" and p.get("name"):
            params.setdefault(p.get("name", ""), _param(p))
    listed: list[str] = []
    complete: list[str] = []
    responses = element.find("responses")
    if responses is not None:  # an Element's truth value is its child count, not presence
        listed = _event_names(docs, responses.findall("list-elements/*"))
        complete = _event_names(docs, [c for c in responses if c.tag != "list-elements"])
    see_also = [
        r.text.strip() for r in element.findall("see-also/ref[@type='managerEvent']") if r.text
    ]
    action: dict[str, Any] = {"params": list(params.values())}
    if listed:
        action["list_events"] = listed
    if complete:
        action["list_complete"] = complete[0]
    if see_also:
        action["see_also_events"] = sorted(set(see_also))
    action["privilege"] = None if priv is None else sorted(set(priv.split(",")) - {"<none>"})
    return action


def _event_class(instance: ET.Element) -> str:
    """``EVENT_FLAG_CALL`` -> ``call`` (the word AMI puts in ``Privilege:``)."""
    return instance.get("class", "").removeprefix("EVENT_FLAG_").lower()


def _events(docs: _Docs) -> tuple[dict[str, Any], dict[str, str]]:
    """Events by name, and every integer field name with its reason (first reason wins)."""
    events: dict[str, dict[str, Any]] = {}
    integers: dict[str, str] = {}
    texts: set[str] = set()
    for element in docs.root.iter("managerEvent"):
        event = events.setdefault(
            element.get("name", ""), {"classes": set(), "fields": {}, "enums": {}, "ints": set()}
        )
        for instance in element.findall("managerEventInstance"):
            event["classes"].add(_event_class(instance))
            for p in docs.expand(instance.findall("syntax/*")):
                if p.tag == "parameter" and p.get("name"):
                    _event_field(event, p, integers, texts)
    out = {
        name: {
            "classes": sorted(ev["classes"] - {""}),
            "fields": list(ev["fields"]),
            **({"enums": ev["enums"]} if ev["enums"] else {}),
            **({"integers": sorted(ev["ints"])} if ev["ints"] else {}),
        }
        for name, ev in events.items()
        if name
    }
    # A name with documented text values somewhere (Status: "Reachable" in
    # PeerStatus, 0..8 in ExtensionStatus) is no integer column across events.
    return out, {k: v for k, v in integers.items() if k not in texts}


def _event_field(
    event: dict[str, Any], p: ET.Element, integers: dict[str, str], texts: set[str]
) -> None:
    name = p.get("name", "")
    event["fields"].setdefault(name, None)
    enum = {e.get("name", "") for e in p.findall("enumlist/enum")} - {""}
    if enum:
        event["enums"][name] = sorted(set(event["enums"].get(name, ())) | enum)
        if not all(_INTEGER.fullmatch(v) for v in enum):
            texts.add(name.lower())
    reason = _integer_reason(p)
    if reason is not None:
        event["ints"].add(name)
        integers.setdefault(name.lower(), reason)


def _privileges(listcommands: Path) -> dict[str, str]:
    """Action -> ``Priv:`` text from a recorded ListCommands transcript."""
    found = {}
    for line in listcommands.read_text(encoding="utf-8").splitlines():
        match = _PRIV.match(line.strip())
        if match:
            found[match["name"]] = match["priv"]
    return found


def _apply_probes(actions: dict[str, Any], probes: dict[str, Any]) -> None:
    """Mark each probed required parameter ``enforced`` true/false (recorded replies)."""
    for probe in probes.get("probes", ()):
        action = actions.get(probe["action"])
        if action is None:
            continue
        for param in action["params"]:
            if param["name"] == probe["missing"] and param.get("required"):
                param["enforced"] = probe["refused"]


def build(xml: Path, listcommands: Path, probes: Path | None) -> dict[str, Any]:
    """The catalog as a JSON-ready dict (see the module docstring)."""
    docs = _Docs(ET.parse(xml).getroot(), _snapshot_templates(xml.with_name("appdocsxml.xslt")))
    privs = _privileges(listcommands)
    actions: dict[str, Any] = {}
    modules: dict[str, set[str]] = {}
    for element in docs.root.findall("manager"):
        name = element.get("name", "")
        modules.setdefault(name, set()).add(element.get("module", ""))
        if name not in actions:
            actions[name] = _action(docs, element, privs.get(name))
    probe_data = json.loads(probes.read_text(encoding="utf-8")) if probes else {}
    _apply_probes(actions, probe_data)
    events, integers = _events(docs)
    for name in sorted(RECORDED_INTEGERS - set(integers)):
        integers[name] = "recorded"  # response headers (CoreStatus), not in any event's docs
    return {
        "format": FORMAT,
        "source": {
            "xml_sha256": hashlib.sha256(xml.read_bytes()).hexdigest(),
            "privileges_from": listcommands.name,
            "probes_from": probes.name if probes else None,
            "probed_server": probe_data.get("asterisk"),
        },
        "actions": actions,
        "events": events,
        "integer_fields": integers,
    }


def render(catalog: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, one action or event per line (readable diffs)."""
    lines = ["{"]
    top = sorted(catalog)
    for i, key in enumerate(top):
        value = catalog[key]
        comma = "," if i < len(top) - 1 else ""
        if key in ("actions", "events"):
            lines.append(f"{json.dumps(key)}: {{")
            names = sorted(value)
            for j, name in enumerate(names):
                sep = "," if j < len(names) - 1 else ""
                body = json.dumps(value[name], sort_keys=True, separators=(",", ":"))
                lines.append(f"{json.dumps(name)}:{body}{sep}")
            lines.append("}" + comma)
        else:
            body = json.dumps(value, sort_keys=True, separators=(",", ":"))
            lines.append(f"{json.dumps(key)}: {body}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def counts(xml: Path) -> dict[str, int]:
    """The raw counts of the XML (elements, unique names, parameters, required ones)."""
    root = ET.parse(xml).getroot()
    managers = root.findall("manager")
    params = [p for m in managers for p in m.findall("syntax/parameter")]
    events = [e.get("name") for e in root.iter("managerEvent")]
    return {
        "manager_elements": len(managers),
        "unique_actions": len({m.get("name") for m in managers}),
        "action_parameters": len(params),
        "required_parameters": sum(p.get("required", "").lower() in _TRUE for p in params),
        "managerEvent_elements": len(events),
        "unique_events": len(set(events)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amilab.catalog.generate", description=__doc__)
    parser.add_argument("--xml", type=Path, default=DEFAULT_XML, help="core-en_US.xml")
    parser.add_argument("--listcommands", type=Path, default=DEFAULT_LISTCOMMANDS)
    parser.add_argument("--probes", type=Path, default=DEFAULT_PROBES)
    parser.add_argument("--out", type=Path, default=DATA_FILE)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out is stale")
    parser.add_argument("--counts", action="store_true", help="print the XML's raw counts")
    args = parser.parse_args(argv)
    for path in (args.xml, args.xml.with_name("appdocsxml.xslt"), args.listcommands):
        if not path.is_file():
            print(f"error: {path} not found (see --help for the inputs)", file=sys.stderr)
            return 2
    if args.counts:
        print(json.dumps(counts(args.xml), indent=1))
    probes = args.probes if args.probes.is_file() else None
    text = render(build(args.xml, args.listcommands, probes))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(
                f"error: {args.out} is stale: it differs from what {args.xml} gives; "
                "run python -m amilab.catalog.generate (without --check) and commit it",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
