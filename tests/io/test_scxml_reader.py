"""The SCXML reader: every element mapped onto the model, errors that name the line, trust."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from statekeeper import (
    Assign,
    Cancel,
    Chart,
    ChartError,
    Content,
    Foreach,
    If,
    Log,
    Machine,
    Param,
    Raise,
    Script,
    Send,
)
from statekeeper.io._ecma import translate
from statekeeper.io.scxml import load_scxml, read_scxml

NS = 'xmlns="http://www.w3.org/2005/07/scxml"'


def doc(body: str, **attrs: str) -> str:
    extra = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    return f'<scxml {NS} version="1.0" {extra}>{body}</scxml>'


def test_states_transitions_and_kinds() -> None:
    chart = read_scxml(doc("""
      <state id="a" initial="a2">
        <state id="a1"/><state id="a2"><transition event="go stop.*" target="p" type="internal"/></state>
        <history id="h" type="deep"><transition target="a1"/></history>
      </state>
      <parallel id="p"><state id="r1"/><state id="r2"/></parallel>
      <final id="f"/>
    """, initial="a", name="shapes"))
    assert chart.name == "shapes" and chart.initial_ids == ("a",)
    a, p, f = chart.children
    assert (a.kind, p.kind, f.kind) == ("compound", "parallel", "final")
    assert a.initial_ids == ("a2",)
    (t,) = a.children[1].transitions
    assert (t.event, t.targets, t.type) == ("go stop.*", ("p",), "internal")
    history = a.children[2]
    assert (history.kind, history.history, history.transitions[0].targets) == (
        "history", "deep", ("a1",))


def test_initial_element_gives_initial_and_its_actions() -> None:
    chart = read_scxml(doc("""
      <state id="s"><initial><transition target="t2"><raise event="hi"/></transition></initial>
        <state id="t1"/><state id="t2"/></state>"""))
    (s,) = chart.children
    assert s.initial_ids == ("t2",)
    assert s.initial_actions == (Raise("hi"),)


def test_each_onentry_is_its_own_block() -> None:
    chart = read_scxml(doc("""<state id="s"><onentry><raise event="a"/></onentry>
        <onentry><raise event="b"/><raise event="c"/></onentry><onexit/></state>"""))
    (s,) = chart.children
    assert s.entry_blocks == ((Raise("a"),), (Raise("b"), Raise("c")))
    assert s.exit_blocks == ((),)


def test_executable_content_maps_onto_actions() -> None:
    chart = read_scxml(doc("""<state id="s"><onentry>
        <log label="l" expr="x"/>
        <assign location="x" expr="x + 1"/>
        <if cond="x == 1"><raise event="one"/><elseif cond="x === 2"/><raise event="two"/>
          <else/><raise event="many"/></if>
        <foreach array="xs" item="i" index="n"><raise event="it"/></foreach>
        <send eventexpr="'e'" target="#_parent" id="s1" delay="1.5s" namelist="x y">
          <param name="p" expr="1"/><param name="q" location="x"/></send>
        <send event="e2" idlocation="sid"><content expr="x"/></send>
        <cancel sendidexpr="sid"/>
        <script>y = 2</script>
      </onentry></state>""", datamodel="python"), trusted=True)
    (block,) = chart.children[0].entry_blocks
    assert block == (
        Log("l", "x"),
        Assign("x", "x + 1"),
        If((("x == 1", (Raise("one"),)), ("x == 2", (Raise("two"),)), (None, (Raise("many"),)))),
        Foreach("xs", "i", "n", (Raise("it"),)),
        Send(eventexpr="'e'", target="#_parent", id="s1", delay="1.5s", namelist=("x", "y"),
             params=(Param("p", "1"), Param("q", location="x"))),
        Send(event="e2", idlocation="sid", content=Content(expr="x")),
        Cancel(sendidexpr="sid"),
        Script("y = 2"),
    )


def test_inline_values_are_literals_never_evaluated() -> None:
    chart = read_scxml(doc("""<datamodel>
        <data id="json">[1, 2, 3]</data>
        <data id="py">(1, 'a')</data>
        <data id="text">  two
           words </data>
        <data id="xml"><books><book title="t"/></books></data>
        <data id="empty"/>
      </datamodel><state id="s"/>"""))
    values = {item.id: item.value for item in chart.data_items}
    # a Python tuple is read as the list JSON stores it as (the dict form does the same)
    assert values["json"] == [1, 2, 3] and values["py"] == [1, "a"]
    assert values["text"] == "two words"
    assert isinstance(values["xml"], ET.Element) and values["xml"][0].get("title") == "t"
    assert chart.datamodel == "functions"  # nothing to evaluate: no trust needed


def test_data_src_is_read_relative_to_the_named_folder(tmp_path: Path) -> None:
    (tmp_path / "value.txt").write_text('{"a": 1}')
    (tmp_path / "chart.scxml").write_text(doc(
        '<datamodel><data id="v" src="file:value.txt"/></datamodel><state id="s"/>'))
    chart = read_scxml(tmp_path / "chart.scxml", base_dir=tmp_path)
    assert chart.name == "chart"
    assert chart.data_items[0].value == {"a": 1}
    # A trusted document reads from its own folder without being told (as before).
    assert read_scxml(tmp_path / "chart.scxml", trusted=True).data_items[0].value == {"a": 1}
    # An untrusted one reads nothing unless the caller names the folder (issue 15).
    with pytest.raises(ChartError, match="base_dir="):
        read_scxml(tmp_path / "chart.scxml")


def test_inline_scxml_content_becomes_a_chart() -> None:
    chart = read_scxml(doc(f"""<state id="s">
        <invoke type="http://www.w3.org/TR/scxml/" id="kid" autoforward="true">
          <content><scxml {NS} version="1.0"><final/></scxml></content>
          <finalize><raise event="fin"/></finalize>
        </invoke></state>"""))
    (invoke,) = chart.children[0].invoke
    assert (invoke.type, invoke.id, invoke.autoforward, invoke.finalize) == (
        "scxml", "kid", True, (Raise("fin"),))
    assert invoke.content is not None and isinstance(invoke.content.value, Chart)
    assert invoke.content.value.children[0].id == "_final1"  # SEM-16: generated id


def test_untrusted_expressions_are_refused_with_the_line() -> None:
    text = doc('<state id="s">\n<transition cond="x > 1" target="s"/></state>',
               datamodel="python")
    with pytest.raises(ChartError, match=r"<transition> at line 2.*trusted=True"):
        read_scxml(text)


def test_in_conditions_need_no_trust() -> None:
    chart = read_scxml(doc("""<parallel id="p"><state id="a"/><state id="b">
        <transition cond="In('a')" target="b"/></state></parallel>"""))
    assert chart.datamodel == "functions"


def test_scripts_need_trust() -> None:
    with pytest.raises(ChartError, match="script"):
        read_scxml(doc("<script>x = 1</script><state id='s'/>"))


def test_unknown_elements_and_attributes_name_the_line() -> None:
    with pytest.raises(ChartError, match=r"<transition> at line 3: unknown attribute 'evnet'"):
        read_scxml(doc('<state id="s">\n\n<transition evnet="go" target="s"/></state>'))
    with pytest.raises(ChartError, match=r"<bogus> at line 1"):
        read_scxml(doc('<state id="s"><onentry><bogus/></onentry></state>'))


def test_foreign_namespace_attributes_are_ignored() -> None:
    chart = read_scxml(doc('<state id="s" x:note="hi"/>', **{"xmlns:x": "urn:x"}))
    assert chart.children[0].id == "s"


def test_malformed_xml_is_a_chart_error() -> None:
    with pytest.raises(ChartError, match="not well-formed"):
        read_scxml(doc("<state id='s'>"))


def test_invalid_expressions_load_and_fail_at_run_time() -> None:
    # SCXML 5.9: a bad expression raises error.execution when it runs, not at load time.
    chart = load_scxml(doc("""<state id="s"><onentry><assign location="x" expr="return"/>
        </onentry><transition event="error.execution" target="ok"/></state><final id="ok"/>""",
                           datamodel="python"), trusted=True, checks="ignore")
    assert Machine(chart).configuration == ("ok",)


@pytest.mark.parametrize(("ecma", "python"), [
    ("a === b", "a == b"),
    ("a !== b", "a != b"),
    ("a != b", "a != b"),
    ("x && y || !z", "x and y or (not z)"),
    ("!a == b", "(not a) == b"),
    ("'a && b' + \"!\"", "'a && b' + \"!\""),
    ("v instanceof Array", "isinstance(v, list)"),
    ("_event.data[0] instanceof Object", "isinstance(_event.data[0], dict)"),
    ("'unterminated && x", "'unterminated && x"),
])
def test_ecmascript_operators_are_translated_outside_strings(ecma: str, python: str) -> None:
    assert translate(ecma) == python
