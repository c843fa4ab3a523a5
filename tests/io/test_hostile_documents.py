"""Hostile dict, JSON and YAML chart documents: refused early with a named error (issue 15).

Each document here once crashed a reader with a raw Python exception, ran Python code, or cost
minutes of CPU and gigabytes of memory before anything was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, ChartError, LimitExceeded, Limits, State, compile_chart
from statekeeper.core.actions import Script
from statekeeper.io.dictform import (
    ChartFormatError,
    chart_from_dict,
    chart_from_json,
    chart_from_yaml,
    chart_to_dict,
    load_chart,
)

pytest.importorskip("yaml")

LAUGHS = """\
name: lol
states: {a: {}}
data:
  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]
  l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
  l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
  l3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
  l4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
  l5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]
"""
BILLION_LAUGHS = LAUGHS + "".join(
    f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(6, 10))


def test_nested_aliases_are_refused_by_count() -> None:
    with pytest.raises(LimitExceeded) as info:
        chart_from_yaml(LAUGHS)
    assert info.value.limit == "max_yaml_aliases"
    assert "YAML line" in str(info.value)


def test_a_billion_laughs_is_refused_before_it_expands() -> None:
    assert len(BILLION_LAUGHS) < 1_000
    with pytest.raises(LimitExceeded, match="max_yaml_aliases"):
        chart_from_yaml(BILLION_LAUGHS)


def test_a_few_aliases_still_work_and_count_expanded() -> None:
    text = ("name: x\nstates: {a: {}}\ndata:\n  base: &b {k: [1, 2]}\n"
            "  one: *b\n  two: *b\n")
    chart = chart_from_yaml(text)
    assert [item.value for item in chart.data_items][1] == {"k": [1, 2]}
    with pytest.raises(LimitExceeded, match="max_yaml_aliases"):
        chart_from_yaml(text, limits=Limits(max_yaml_aliases=1))


def test_aliases_cannot_expand_past_the_document_size() -> None:
    big = "x" * 2_000
    text = f"name: x\nstates: {{a: {{}}}}\ndata:\n  a: &a [{big}]\n  b: [*a, *a, *a]\n"
    with pytest.raises(LimitExceeded) as info:
        chart_from_yaml(text, limits=Limits(max_document_bytes=5_000))
    assert info.value.limit == "max_document_bytes"
    assert "aliases" in str(info.value)


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(ChartFormatError, match=r"line 2.*refers to itself"):
        chart_from_yaml("name: x\nstates: &s {a: {states: *s}}\n")


@pytest.mark.parametrize("depth", [150, 500, 5_000])
def test_deep_yaml_is_a_limit_not_a_recursion_error(depth: int) -> None:
    text = "name: x\nstates: {a: {}}\ndata: {d: " + "[" * depth + "]" * depth + "}\n"
    with pytest.raises(LimitExceeded) as info:
        chart_from_yaml(text)
    assert info.value.limit == "max_depth"
    assert "YAML line 3" in str(info.value)


@pytest.mark.parametrize("depth", [150, 500, 5_000])
def test_deep_json_is_a_limit_not_a_recursion_error(depth: int) -> None:
    text = '{"name": "x", "states": {"a": {}},\n "data": {"d": ' + "[" * depth + "]" * depth + "}}"
    with pytest.raises(LimitExceeded) as info:
        chart_from_json(text)
    assert info.value.limit == "max_depth"
    assert "JSON line 2" in str(info.value)


def nested_states(depth: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for level in range(depth):
        body = {"states": {f"s{level}": body}}
    return {"name": "deep", "states": {"top": body}}


def test_deep_dicts_are_a_limit_with_the_path() -> None:
    with pytest.raises(LimitExceeded) as info:
        chart_from_dict(nested_states(600))
    assert info.value.limit == "max_depth"
    assert "states.top.states" in str(info.value)
    chart_from_dict(nested_states(20))


def test_a_dict_that_holds_itself_is_a_limit() -> None:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    with pytest.raises(LimitExceeded, match="max_depth"):
        chart_from_dict({"name": "x", "states": {"a": {}}, "data": {"loop": loop}})


def test_states_and_transitions_are_bounded_while_reading() -> None:
    doc = {"name": "x", "states": {f"s{i}": {"on": {"e": "s0"}} for i in range(10)}}
    with pytest.raises(LimitExceeded, match="max_states"):
        chart_from_dict(doc, limits=Limits(max_states=9))
    with pytest.raises(LimitExceeded, match="max_transitions"):
        chart_from_json(str(doc).replace("'", '"'), limits=Limits(max_transitions=9))


def test_the_document_size_is_checked_before_parsing(tmp_path: Path) -> None:
    text = '{"name": "x", "states": {"a": {}}, "description": "' + "d" * 200 + '"}'
    small = Limits(max_document_bytes=100)
    for read in (chart_from_json, chart_from_yaml):
        with pytest.raises(LimitExceeded, match="max_document_bytes"):
            read(text, limits=small)
        with pytest.raises(LimitExceeded, match="max_document_bytes"):
            read(text.encode(), limits=small)
    path = tmp_path / "big.json"
    path.write_text(text)
    with pytest.raises(LimitExceeded, match="max_document_bytes") as info:
        load_chart(path, limits=small)
    assert str(path) in str(info.value)
    assert load_chart(path).name == "x"


@pytest.mark.parametrize("read", [chart_from_json, chart_from_yaml])
def test_non_utf8_bytes_name_the_line(read: Any) -> None:
    with pytest.raises(ChartFormatError, match=r"not UTF-8.*0xff at line 2 column 13"):
        read(b'{"name":\n "x", "d": "\xff", "states": {"a": {}}}')


@pytest.mark.parametrize("text", [
    '{"name": "x", "states": {"\\ud800": {}}}',
    '{"name": "x", "states": {"a": {}}, "data": {"k": "\\udfff"}}',
])
def test_lone_surrogates_are_refused(text: str) -> None:
    with pytest.raises(ChartFormatError, match="lone surrogate"):
        chart_from_json(text)
    with pytest.raises(ChartFormatError, match="lone surrogate"):
        chart_from_yaml(text)


@pytest.mark.parametrize("number", ["9" * 5_000, "1" + "0" * 400, "1e999"])
def test_huge_numbers_are_chart_errors(number: str) -> None:
    for field in ('"version": ', '"data": {"n": '):
        close = "}" if "data" in field else ""
        text = '{"name": "x", "states": {"a": {}}, ' + field + number + close + "}"
        with pytest.raises(ChartFormatError):
            chart_from_json(text)
        with pytest.raises(ChartFormatError):
            chart_from_yaml(text)


def test_a_huge_after_delay_is_a_chart_error() -> None:
    with pytest.raises(ChartFormatError, match=r"states\.a\.after"):
        chart_from_yaml("name: x\nstates:\n  a: {after: {" + "9" * 400 + "d: a}}\n")
    with pytest.raises(ChartFormatError, match=r"states\.a\.after"):
        chart_from_yaml("name: x\nstates:\n  a: {after: {.inf: a}}\n")


# --------------------------------------------------------------------------- no code


PYTHON_DOC = {"name": "x", "datamodel": "python", "states": {"a": {"entry": [
    {"assign": {"location": "pwned", "expr": "__import__('os').getpid()"}}]}}}


@pytest.mark.parametrize("doc, key", [
    (PYTHON_DOC, "datamodel"),
    ({"name": "x", "datamodel": "ecmascript", "states": {"a": {}}}, "datamodel"),
    ({"name": "x", "script": "import os", "states": {"a": {}}}, "script"),
    ({"name": "x", "states": {"a": {"entry": [{"script": "import os"}]}}}, "script"),
])
def test_dict_json_and_yaml_charts_never_hold_code(doc: dict[str, Any], key: str) -> None:
    with pytest.raises(ChartFormatError, match="never code") as info:
        chart_from_dict(doc)
    assert key in str(info.value)
    assert "SCXML" in str(info.value)  # what to write instead


def test_trusted_does_not_let_a_yaml_chart_run_python(tmp_path: Path) -> None:
    path = tmp_path / "chart.yaml"
    path.write_text("name: x\ndatamodel: python\nstates: {a: {}}\n")
    with pytest.raises(ChartFormatError, match="never code"):
        load_chart(path, trusted=True)


def test_a_python_chart_is_not_written_as_a_dict() -> None:
    chart = Chart("x", datamodel="python", states={"a": State(entry=[Script("y = 1")])})
    compile_chart(chart, trusted=True, checks="ignore")  # valid, in Python
    with pytest.raises(ChartFormatError, match="never code"):
        chart_to_dict(chart)


def test_every_error_here_is_a_chart_error_or_a_limit() -> None:
    assert issubclass(ChartFormatError, ChartError)


def test_a_control_character_is_a_chart_format_error() -> None:
    # Found by tests/io/test_reader_fuzz.py: PyYAML checks characters when the loader is made.
    with pytest.raises(ChartFormatError, match="not valid YAML"):
        chart_from_yaml("\x1fname: x\nstates: {a: {}}\n")


def test_impossible_states_name_their_path_when_read() -> None:
    with pytest.raises(ChartFormatError, match=r"states\.c: .*only a history state"):
        chart_from_yaml("name: x\nstates:\n  c: {states: {h: {history: deep}}}\n")
    with pytest.raises(ChartFormatError, match=r"states\.f: .*final state cannot have child"):
        chart_from_yaml("name: x\nstates:\n  f: {type: final, states: {g: {}}}\n")


def test_a_json_number_of_thousands_of_digits_says_to_write_a_string() -> None:
    from statekeeper.io import chart_from_json
    from statekeeper.io.dictform import ChartFormatError

    doc = '{"name": "x", "states": {"a": {}}, "data": {"n": ' + "9" * 5000 + "}}"
    with pytest.raises(ChartFormatError, match="write it as a string") as caught:
        chart_from_json(doc)
    assert "set_int_max_str_digits" not in str(caught.value)


def test_read_scxml_refuses_a_base_dir_that_is_not_a_path() -> None:
    from statekeeper.io.scxml import read_scxml

    with pytest.raises(TypeError, match=r"base_dir=\) takes a folder path"):
        read_scxml('<scxml xmlns="http://www.w3.org/2005/07/scxml"><state id="s"/></scxml>',
                   base_dir=3)  # type: ignore[arg-type]
