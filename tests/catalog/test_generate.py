"""The generator: XML -> ami.json, XInclude and snapshot expansion, --check, the shipped file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from amilab.catalog import generate

DOCS = Path("/var/cache/amilab/asterisk-sid/usr/share/asterisk/documentation")
XML = DOCS / "core-en_US.xml"

# A small document in the shape of core-en_US.xml: an ActionID pulled in by
# XInclude, a list action with its list-complete event, a snapshot placeholder.
MINI_XML = """<?xml version="1.0" encoding="UTF-8"?>
<docs xmlns:xi="http://www.w3.org/2001/XInclude">
 <manager name="Login" language="en_US">
  <syntax><parameter name="ActionID"><para>id</para></parameter>
   <parameter name="Username" required="true"/></syntax>
 </manager>
 <manager name="ThingList" language="en_US" module="a">
  <syntax>
   <xi:include xpointer="xpointer(/docs/manager[@name='Login']/syntax/parameter[@name='ActionID'])" />
   <parameter name="Mode" required="true"><enumlist><enum name="b"/><enum name="a"/></enumlist>
   </parameter>
  </syntax>
  <see-also><ref type="managerEvent">ThingHappened</ref></see-also>
  <responses>
   <list-elements>
    <xi:include xpointer="xpointer(/docs/managerEvent[@name='Thing'])" />
   </list-elements>
   <managerEvent name="ThingListComplete" language="en_US">
    <managerEventInstance class="EVENT_FLAG_COMMAND"><syntax>
     <xi:include xpointer="xpointer(/docs/managerEvent[@name='Thing']/managerEventInstance/syntax/parameter[@name='Count'])" />
    </syntax></managerEventInstance></managerEvent>
  </responses>
 </manager>
 <manager name="ThingList" language="en_US" module="b"><syntax/></manager>
 <managerEvent name="Thing" language="en_US"><managerEventInstance class="EVENT_FLAG_CALL">
  <syntax><channel_snapshot prefix="Dest"/>
   <parameter name="Count"><para>The number of things.</para></parameter>
   <parameter name="Exten"><para>The number of the extension.</para></parameter>
  </syntax></managerEventInstance></managerEvent>
</docs>
"""
MINI_XSLT = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
 <xsl:template match="channel_snapshot">
  <xsl:element name="parameter">
   <xsl:attribute name="name"><xsl:value-of select="concat(@prefix,'ChannelState')"/></xsl:attribute>
   <para>A numeric code</para>
  </xsl:element>
  <xsl:element name="parameter">
   <xsl:attribute name="name"><xsl:value-of select="concat(@prefix,'StateDesc')"/></xsl:attribute>
   <enumlist><enum name="Up"/><enum name="Down"/></enumlist>
  </xsl:element>
 </xsl:template>
</xsl:stylesheet>
"""
MINI_LISTCOMMANDS = "Response: Success\r\nThingList: List things.  (Priv: call,all)\r\n\r\n"


@pytest.fixture
def mini(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "core-en_US.xml").write_text(MINI_XML)
    (tmp_path / "appdocsxml.xslt").write_text(MINI_XSLT)
    (tmp_path / "listcommands.ami").write_text(MINI_LISTCOMMANDS)
    probes = {"asterisk": "test", "probes": [{"action": "ThingList", "missing": "Mode"}]}
    probes["probes"][0]["refused"] = False
    (tmp_path / "probes.json").write_text(json.dumps(probes))
    return {
        "xml": tmp_path / "core-en_US.xml",
        "listcommands": tmp_path / "listcommands.ami",
        "probes": tmp_path / "probes.json",
    }


def test_build_expands_includes_and_snapshots(mini):
    """ActionID comes through XInclude, DestChannelState/DestStateDesc from the XSLT template."""
    data = generate.build(mini["xml"], mini["listcommands"], mini["probes"])
    action = data["actions"]["ThingList"]
    assert [p["name"] for p in action["params"]] == ["ActionID", "Mode"]
    mode = {"name": "Mode", "required": True, "enum": ["a", "b"], "enforced": False}
    assert action["params"][1] == mode
    assert action["list_events"] == ["Thing"] and action["list_complete"] == "ThingListComplete"
    assert action["see_also_events"] == ["ThingHappened"]
    assert action["privilege"] == ["all", "call"]
    assert data["actions"]["Login"]["privilege"] is None  # not in the recorded ListCommands
    thing = data["events"]["Thing"]
    assert thing["fields"] == ["DestChannelState", "DestStateDesc", "Count", "Exten"]
    assert thing["classes"] == ["call"] and thing["enums"] == {"DestStateDesc": ["Down", "Up"]}
    assert thing["integers"] == ["Count", "DestChannelState"]  # Exten never, whatever its prose
    assert data["events"]["ThingListComplete"]["fields"] == ["Count"]
    assert data["integer_fields"]["count"] == "docs"


def test_render_is_deterministic(mini):
    """Two builds give the same bytes, and the text is valid JSON."""
    one = generate.render(generate.build(mini["xml"], mini["listcommands"], mini["probes"]))
    two = generate.render(generate.build(mini["xml"], mini["listcommands"], mini["probes"]))
    assert one == two
    assert json.loads(one)["format"] == generate.FORMAT


def test_check_fails_on_stale_file(mini, tmp_path, capsys):
    """--check exits 1 naming the stale file, 0 once it is regenerated."""
    out = tmp_path / "ami.json"
    args = ["--xml", str(mini["xml"]), "--listcommands", str(mini["listcommands"])]
    args += ["--probes", str(mini["probes"]), "--out", str(out)]
    out.write_text("{}\n")
    assert generate.main([*args, "--check"]) == 1
    assert f"{out} is stale" in capsys.readouterr().err
    assert generate.main(args) == 0
    assert generate.main([*args, "--check"]) == 0


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    """A wrong --xml path exits 2 and says which file is missing."""
    assert generate.main(["--xml", str(tmp_path / "nope.xml"), "--check"]) == 2
    assert "nope.xml not found" in capsys.readouterr().err


# -- against the sandbox's real XML ------------------------------------------------
@pytest.fixture
def real_xml() -> Path:
    if not XML.is_file() or not XML.with_name("appdocsxml.xslt").is_file():
        from conftest import skip_or_fail

        skip_or_fail(f"{XML} (Debian's asterisk docs in the sandbox chroot) is missing")
    return XML


def test_shipped_catalog_is_current(real_xml, tmp_path):
    """The shipped ami.json is exactly what the sandbox's XML and the fixtures give."""
    out = tmp_path / "ami.json"
    shutil.copy(generate.DATA_FILE, out)
    assert generate.main(["--xml", str(real_xml), "--out", str(out), "--check"]) == 0, (
        "amilab/catalog/ami.json is stale: run python -m amilab.catalog.generate"
    )


def test_real_xml_counts(real_xml):
    """The counts the issue quotes: 154 actions, 181 events, 353 parameters, 197 required."""
    assert generate.counts(real_xml) == {
        "manager_elements": 168,
        "unique_actions": 154,
        "action_parameters": 353,
        "required_parameters": 197,
        "managerEvent_elements": 185,
        "unique_events": 181,
    }
