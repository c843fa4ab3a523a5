"""The dict form: what it reads, what it writes, and how it reports mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from statekeeper import (
    Assign,
    Chart,
    ChartError,
    Content,
    Effect,
    Final,
    History,
    Invoke,
    Machine,
    State,
    StatekeeperError,
    Transition,
    UnboundName,
    VirtualClock,
    compile_chart,
)
from statekeeper.io.dictform import (
    ChartFormatError,
    YamlNotInstalled,
    chart_from_dict,
    chart_from_json,
    chart_from_yaml,
    chart_to_dict,
    chart_to_json,
    chart_to_yaml,
    load_chart,
)
from statekeeper.io.names import referenced_names

SRC = Path(__file__).resolve().parents[2] / "src"

ORDER: dict[str, Any] = {
    "name": "order",
    "version": 1,
    "initial": "Placed",
    "data": {"x": 0, "total": 42},
    "states": {
        "Placed": {
            "on": {
                "submit": "Offered",
                "pay": {"target": "Paid", "cond": "is_ok",
                        "actions": [{"assign": {"location": "x", "value": 1}}]},
            },
            "entry": [{"effect": {"name": "charge", "args": {"amount": 42}}}],
            "after": {"5m": "Cancelled"},
        },
        "Offered": {"on": {"accept": "Paid"}},
        "Paid": {"type": "final"},
        "Cancelled": {"type": "final"},
    },
}


def is_ok(data: Any, event: Any) -> bool:
    return True


def error_of(doc: Any) -> ChartFormatError:
    with pytest.raises(ChartFormatError) as info:
        chart_from_dict(doc)
    return info.value


def chart_with(state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "c", "states": {"A": state, "B": {}}, **extra}


# --------------------------------------------------------------------------- reading


def test_the_documented_example_reads_like_the_builder() -> None:
    built = Chart("order", version=1, initial="Placed", data={"x": 0, "total": 42}, states={
        "Placed": State(
            on={"submit": "Offered",
                "pay": Transition("Paid", cond="is_ok", actions=[Assign("x", value=1)])},
            entry=[Effect("charge", args={"amount": 42})],
            after={"5m": "Cancelled"},
        ),
        "Offered": State(on={"accept": "Paid"}),
        "Paid": Final(),
        "Cancelled": Final(),
    })
    chart = chart_from_dict(ORDER)
    assert chart == built
    assert compile_chart(chart, guards={"is_ok": is_ok}).hash == \
        compile_chart(built, guards={"is_ok": is_ok}).hash
    assert chart_to_dict(chart) == ORDER


def test_unknown_key_names_the_path_the_state_and_the_likely_key() -> None:
    doc = json.loads(json.dumps(ORDER))
    doc["states"]["Placed"]["on"]["submit"] = {"tagret": "Offered"}
    exc = error_of(doc)
    assert str(exc) == "states.Placed.on.submit: unknown key 'tagret' (did you mean 'target'?)"
    assert exc.state == "Placed"
    assert exc.path == "states.Placed.on.submit"
    assert isinstance(exc, ChartError)


@pytest.mark.parametrize(("doc", "message"), [
    ({"states": {}}, "missing key 'name'"),
    ({"name": "c", "states": {}, "verison": 2}, "unknown key 'verison' (did you mean 'version'?)"),
    ({"name": "c", "states": []}, "states: expected states (a mapping from state id to state)"),
    ({"name": "c", "version": True, "states": {}}, "version: expected a number or a string"),
    ({"name": "c", "binding": "lazy", "states": {}}, "binding: must be one of 'early', 'late'"),
    (chart_with({"type": "paralel"}), "states.A.type: must be one of 'atomic', 'compound', "
                                      "'parallel', 'final', 'history', not 'paralel'"),
    (chart_with({"entyr": []}), "states.A: unknown key 'entyr' (did you mean 'entry'?)"),
    (chart_with({"entry": [{"asign": {"location": "x"}}]}),
     "states.A.entry[0]: unknown action 'asign' (did you mean 'assign'?)"),
    (chart_with({"entry": [{"assign": {"location": "x"}, "raise": "e"}]}),
     "states.A.entry[0]: an action is a mapping with exactly one key"),
    (chart_with({"entry": [{"assign": {"value": 1}}]}),
     "states.A.entry[0].assign: missing key 'location'"),
    (chart_with({"entry": [{"raise": 3}]}), "states.A.entry[0].raise: expected the body"),
    (chart_with({"entry": [[{"raise": "e"}], {"raise": "f"}]}),
     "states.A.entry: mixes actions and lists of actions"),
    (chart_with({"on": {"go": [["B"]]}}), "states.A.on.go[0]: a list of transitions cannot"),
    (chart_with({"on": {"go": {"target": 3}}}), "states.A.on.go.target: expected a state id"),
    (chart_with({"on": {"go": {"target": "B", "type": "local"}}}),
     "states.A.on.go.type: must be one of 'external', 'internal'"),
    (chart_with({"on": {"": "B"}}), "states.A.on: an event name must be a non-empty string"),
    (chart_with({"after": {"5 minutes": "B"}}), "states.A.after: not a duration: '5 minutes'"),
    (chart_with({"default": "B"}), "states.A: 'default' is only for history states"),
    (chart_with({"transitions": [{"event": "go", "taget": "B"}]}),
     "states.A.transitions[0]: unknown key 'taget' (did you mean 'target'?)"),
    (chart_with({"on": {"done.state.x": {"cond": 1}}}),
     'states.A.on["done.state.x"].cond: expected a string, got a number'),
    (chart_with({"data": {"when": {1, 2}}}), "states.A.data.when: a set cannot be written"),
    (chart_with({"invoke": [{"autoforward": "yes"}]}),
     "states.A.invoke[0].autoforward: expected true or false"),
])
def test_bad_documents_fail_with_the_path_of_the_mistake(doc: dict[str, Any],
                                                        message: str) -> None:
    assert str(error_of(doc)).startswith(message)


def test_errors_in_nested_states_name_the_innermost_state() -> None:
    exc = error_of({"name": "c", "states": {"P": {"type": "parallel", "states": {
        "R": {"states": {"X": {"on": {"go": {"target": "R", "gaurd": "ok"}}}}}}}}})
    assert exc.state == "X"
    assert exc.path == "states.P.states.R.states.X.on.go"


def test_a_state_may_be_empty_or_null() -> None:
    chart = chart_from_dict({"name": "c", "states": {"A": None, "B": {}}})
    assert [s.kind for s in chart.children] == ["atomic", "atomic"]


def test_strings_are_names_and_never_evaluated() -> None:
    chart = chart_from_dict(chart_with({"on": {"go": {"target": "B",
                                                      "cond": "__import__('os').getpid()"}}}))
    with pytest.raises(UnboundName, match="guard"):
        compile_chart(chart)


def test_history_default_and_deep_history() -> None:
    built = Chart("c", states={"P": State(initial="a", states={
        "a": State(on={"go": "b"}), "b": State(on={"back": "a"}),
        "h": History("deep", default="b")}), "Q": State(on={"resume": "h"})})
    doc = chart_to_dict(built)
    assert doc["states"]["P"]["states"]["h"] == {"history": "deep", "default": "b"}
    assert chart_from_dict(doc) == built


def test_transitions_that_cannot_be_grouped_keep_their_order_in_a_list() -> None:
    state = State(id="A", transitions=(Transition("B", "a"), Transition("A", "b"),
                                       Transition("B", "a")))
    doc = chart_to_dict(Chart("c", states={"A": state, "B": State()}))
    assert doc["states"]["A"] == {"transitions": [
        {"event": "a", "target": "B"}, {"event": "b", "target": "A"},
        {"event": "a", "target": "B"}]}
    assert chart_from_dict(doc).children[0] == state


def test_entry_blocks_targetless_and_internal_transitions() -> None:
    state = State(id="A", entry=[[Effect("a")], [Effect("b")]],
                  on={"tick": None, "poke": Transition("A", type="internal")},
                  always=Transition(None, cond="ok"))
    doc = chart_to_dict(Chart("c", states={"A": state}))["states"]["A"]
    assert doc == {"entry": [[{"effect": "a"}], [{"effect": "b"}]],
                   "on": {"tick": None, "poke": {"target": "A", "type": "internal"}},
                   "always": {"cond": "ok"}}
    assert chart_from_dict({"name": "c", "states": {"A": doc}}).children[0] == state


def test_timedelta_delays_are_written_as_text() -> None:
    chart = Chart("c", states={"A": State(after={timedelta(hours=1, minutes=30): "B"}),
                               "B": State(on={"x": "A"})})
    assert chart_to_dict(chart)["states"]["A"]["after"] == {"1h30m": "B"}
    clock = VirtualClock()
    machine = Machine(compile_chart(chart_from_dict(chart_to_dict(chart))), clock=clock)
    clock.advance(5399)
    assert machine.configuration == ("A",)
    clock.advance(1)
    assert machine.configuration == ("B",)


def test_values_that_are_not_json_data_cannot_be_written() -> None:
    chart = Chart("c", states={"A": State(entry=[Assign("x", value={1, 2})])})
    with pytest.raises(ChartFormatError, match=r"states\.A\.entry\[0\]\.assign\.value: a set"):
        chart_to_dict(chart)


def test_child_charts_in_invoke_content() -> None:
    child = Chart("child", states={"c": Final()})
    chart = Chart("c", states={"A": State(invoke=(Invoke(content=Content(value=child)),))})
    doc = chart_to_dict(chart)
    assert doc["states"]["A"]["invoke"] == [{"content": {"chart": {
        "name": "child", "version": 1, "states": {"c": {"type": "final"}}}}}]
    assert chart_from_dict(doc) == chart


def test_referenced_names_lists_what_to_bind() -> None:
    names = referenced_names(chart_from_dict(ORDER))
    assert names.guards == {"is_ok"}
    assert names.functions == set()


# --------------------------------------------------------------------------- JSON and YAML


def test_json_rejects_duplicate_keys_instead_of_dropping_a_state() -> None:
    with pytest.raises(ChartFormatError, match="duplicate key 'A'"):
        chart_from_json('{"name": "c", "states": {"A": {}, "A": {"type": "final"}}}')
    with pytest.raises(ChartFormatError, match="not valid JSON"):
        chart_from_json('{"name": ')


def test_yaml_reads_on_yes_and_no_as_strings() -> None:
    chart = chart_from_yaml("""
name: switch
states:
  off:
    on:
      yes: on
      no: off
  on:
    on: {off: off}
""")
    assert chart_to_dict(chart)["states"] == {
        "off": {"on": {"yes": "on", "no": "off"}}, "on": {"on": {"off": "off"}}}
    compile_chart(chart, checks="ignore")


def test_yaml_rejects_duplicate_keys_naming_the_line() -> None:
    with pytest.raises(ChartFormatError, match="YAML line 4: duplicate key 'A'"):
        chart_from_yaml("name: c\nstates:\n  A: {}\n  A: {type: final}\n")


def test_yaml_writes_ambiguous_strings_quoted() -> None:
    chart = Chart("c", states={"1": State(on={"true": "null"}), "null": State(on={"on": "1"})})
    text = chart_to_yaml(chart)
    assert "'1':" in text and "'true': 'null'" in text and "on: '1'" in text
    assert chart_from_yaml(text) == chart


def test_json_text_is_pretty_and_keeps_document_order() -> None:
    text = chart_to_json(chart_from_dict(ORDER))
    assert text.index('"Placed"') < text.index('"Offered"') < text.index('"Cancelled"')
    assert chart_from_json(text) == chart_from_dict(ORDER)


def test_missing_pyyaml_is_an_import_error_saying_what_to_install() -> None:
    code = (
        "import sys; sys.modules['yaml'] = None\n"
        "from statekeeper.io.dictform import chart_from_yaml, YamlNotInstalled\n"
        "from statekeeper import StatekeeperError\n"
        "try:\n    chart_from_yaml('name: c')\n"
        "except ImportError as exc:\n"
        "    assert isinstance(exc, YamlNotInstalled) and isinstance(exc, StatekeeperError)\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": str(SRC)}, check=True)
    assert "pip install statekeeper[yaml]" in result.stdout
    assert issubclass(YamlNotInstalled, ImportError)
    assert issubclass(YamlNotInstalled, StatekeeperError)


# --------------------------------------------------------------------------- files


def test_load_chart_chooses_the_format_by_suffix(tmp_path: Path) -> None:
    chart = chart_from_dict(ORDER)
    (tmp_path / "a.json").write_text(chart_to_json(chart))
    (tmp_path / "b.yaml").write_text(chart_to_yaml(chart))
    (tmp_path / "c.YML").write_text(chart_to_yaml(chart))
    for name in ("a.json", "b.yaml", "c.YML"):
        assert load_chart(tmp_path / name) == chart


def test_load_chart_reads_scxml(tmp_path: Path) -> None:
    path = tmp_path / "door.scxml"
    path.write_text('<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="closed">'
                    '<state id="closed"><transition event="open" target="opened"/></state>'
                    '<final id="opened"/></scxml>')
    chart = load_chart(path)
    assert [s.id for s in chart.children] == ["closed", "opened"]


def test_load_chart_errors(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match=r"must end in \.json, \.yaml, \.yml, \.scxml"):
        load_chart(tmp_path / "chart.txt")
    with pytest.raises(ChartError, match="cannot read chart file"):
        load_chart(tmp_path / "missing.yaml")
    with pytest.raises(StatekeeperError, match="cannot read"):
        load_chart(tmp_path / "missing.scxml")
