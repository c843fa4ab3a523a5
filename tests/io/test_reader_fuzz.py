"""Fuzz every chart reader: any input is a valid chart or a statekeeper error, within limits.

Inputs are random text and bytes, and valid documents (the charts in ``docs/examples`` and a
few SCXML documents) mutated by cutting, repeating and inserting pieces, so most inputs are
almost valid and reach deep into the readers.  Each property is bounded (a fixed number of
examples, small documents) so the file runs in seconds in CI.  What is asserted:

- the reader returns a ``Chart`` or raises a ``StatekeeperError`` (never another exception);
- a returned chart compiles or fails with a ``StatekeeperError``;
- what is returned is within the (small) limits the reader was given.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statekeeper import Chart, Limits, StatekeeperError, compile_chart
from statekeeper.core.limits import DEFAULT_LIMITS
from statekeeper.io.dictform import chart_from_dict, chart_from_json, chart_from_yaml, chart_to_json
from statekeeper.io.scxml import read_scxml

yaml = pytest.importorskip("yaml")

pytestmark = pytest.mark.slow

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "docs" / "examples").glob("*.yaml"))
YAML_SEEDS = [path.read_text(encoding="utf-8") for path in EXAMPLES]
JSON_SEEDS = [chart_to_json(chart_from_yaml(text)) for text in YAML_SEEDS]
DICT_SEEDS = [yaml.safe_load(text) for text in YAML_SEEDS]
NS = 'xmlns="http://www.w3.org/2005/07/scxml"'
SCXML_SEEDS = [
    f"""<scxml {NS} initial="idle" name="player">
  <datamodel><data id="count">0</data><data id="list">[1, {{"a": 2}}]</data></datamodel>
  <state id="idle"><transition event="play" target="playing"/></state>
  <state id="playing" initial="a">
    <onentry><send event="tick" delay="1s" id="t"/><raise event="go"/></onentry>
    <onexit><cancel sendid="t"/></onexit>
    <state id="a"><transition event="tick" target="b"/></state>
    <state id="b"><transition event="stop" target="done"/></state>
    <history id="h" type="deep"><transition target="a"/></history>
  </state>
  <final id="done"><donedata><content>{{"ok": true}}</content></donedata></final>
</scxml>""",
    f"""<scxml {NS} datamodel="null" initial="p">
  <parallel id="p">
    <state id="r1"><state id="x"><transition event="e" cond="In('y')" target="x2"/></state>
      <state id="x2"/></state>
    <state id="r2"><state id="y"/></state>
    <invoke type="scxml" id="kid"><content><scxml {NS}><final id="f"/></scxml></content></invoke>
  </parallel>
</scxml>""",
]
PIECES = ["<", ">", "</", "/>", "&", "&amp;", '"', "'", "=", "<state>", "</state>", "<if cond='x'>",
          "{", "}", "[", "]", ":", "- ", "&a ", "*a", "<<: ", "!!float ", "1e999", "\ud800",
          "\n  ", "\t", "\x00", "\xff", "9" * 50, "null", "~", "on", "states", "initial",
          "datamodel", "src", "file:/etc/passwd", "python", "script", "<!ENTITY x 'y'>"]

#: Small limits, so the fuzzer reaches them; each property asserts the result keeps them.
SMALL = Limits(max_document_bytes=20_000, max_depth=24, max_states=60, max_transitions=120,
               max_yaml_aliases=20)
#: ``STATEKEEPER_FUZZ_EXAMPLES=5000`` runs a longer search locally; CI keeps the default.
FUZZ = settings(max_examples=int(os.environ.get("STATEKEEPER_FUZZ_EXAMPLES", "150")),
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    """A seed document with a few pieces cut, repeated or inserted."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        end = draw(st.integers(at, min(len(text), at + 40)))
        kind = draw(st.sampled_from(("cut", "repeat", "insert", "text")))
        if kind == "cut":
            text = text[:at] + text[end:]
        elif kind == "repeat":
            text = text[:end] + text[at:end] * draw(st.integers(1, 30)) + text[end:]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) * draw(st.integers(1, 40)) + text[at:]
        else:
            text = text[:at] + draw(st.text(max_size=8)) + text[at:]
    return text


def texts(seeds: list[str]) -> st.SearchStrategy[str | bytes]:
    return (mutated(seeds) | st.text(max_size=200)
            | st.binary(max_size=200) | mutated(seeds).map(lambda t: t.encode("utf-8", "replace")))


def check(read: Any, source: Any) -> None:
    """The property: a valid chart within the limits, or a statekeeper error."""
    try:
        chart = read(source)
    except StatekeeperError:
        return
    except TypeError as exc:  # only on purpose, for a wrong argument type at the top
        assert "takes" in str(exc), exc
        return
    assert isinstance(chart, Chart)
    assert _count_states(chart) <= SMALL.max_states
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compiled = compile_chart(chart, checks="ignore", limits=SMALL)
        except StatekeeperError:
            return
    assert len(compiled.nodes) <= SMALL.max_states
    assert max((node.depth for node in compiled.nodes.values()), default=0) <= SMALL.max_depth


def _count_states(chart: Chart) -> int:
    count, todo = 0, list(chart.children)
    while todo:
        state = todo.pop()
        count += 1
        todo.extend(state.children)
    return count


@FUZZ
@given(texts(SCXML_SEEDS))
def test_scxml_text(source: str | bytes) -> None:
    check(lambda s: read_scxml(s if isinstance(s, bytes) else "<" + s.lstrip("\ufeff \t\r\n<"),
                               limits=SMALL), source)


@FUZZ
@given(texts(YAML_SEEDS))
def test_yaml_text(source: str | bytes) -> None:
    check(lambda s: chart_from_yaml(s, limits=SMALL), source)


@FUZZ
@given(texts(JSON_SEEDS))
def test_json_text(source: str | bytes) -> None:
    check(lambda s: chart_from_json(s, limits=SMALL), source)


ODD_VALUES = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**1100)
              | st.floats() | st.text(max_size=6) | st.sampled_from(["\ud800", "", " ", "1e999s"])
              | st.binary(max_size=4) | st.sets(st.integers(), max_size=2)
              | st.just(object()) | st.just(float("nan")))
ODD_TREES = st.recursive(ODD_VALUES, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3),
                         max_leaves=8)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out.extend(_paths(value, (*prefix, index)))
    return out


@st.composite
def mutated_docs(draw: st.DrawFn) -> Any:
    """An example chart's dict with a few subtrees replaced, deleted or nested deeper."""
    doc = json.loads(json.dumps(draw(st.sampled_from(DICT_SEEDS))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        kind = draw(st.sampled_from(("replace", "delete", "nest", "self")))
        if kind == "replace":
            parent[key] = draw(ODD_TREES)
        elif kind == "delete":
            del parent[key]
        elif kind == "nest":
            for _ in range(draw(st.integers(1, 60))):
                parent[key] = {"states": {"s": parent[key]}} if draw(st.booleans()) else [
                    parent[key]]
        else:
            parent[key] = parent  # a document that holds itself: no more walking it
            break
    return doc


@FUZZ
@given(mutated_docs() | ODD_TREES)
def test_dict_documents(doc: Any) -> None:
    check(lambda d: chart_from_dict(d, limits=SMALL), doc)


def test_the_seeds_are_valid_charts() -> None:
    """The mutations start from documents that read and compile, so they reach deep."""
    assert len(YAML_SEEDS) >= 4
    for text in SCXML_SEEDS:
        read_scxml(text, limits=SMALL)
    for text in YAML_SEEDS:
        chart_from_yaml(text, limits=SMALL)
    assert SMALL.max_depth < DEFAULT_LIMITS.max_depth
