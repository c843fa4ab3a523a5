"""Mermaid and DOT export: golden files, drawing conventions, and well-formed output."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from diagram_charts import PLAYER
from dictform_charts import BINDINGS, charts
from hypothesis import HealthCheck, given, settings

from statekeeper import Chart, ChartError, Final, State, Transition, compile_chart
from statekeeper.examples.order import compile_order, order_chart
from statekeeper.io.diagram import to_dot, to_mermaid

GOLDEN = Path(__file__).resolve().parent / "golden"
MERMAID_ID = r"\[\*\]|[A-Za-z_][A-Za-z0-9_]*"


def check_label(label: str) -> None:
    """Outside ``#entity;`` escapes, a label holds none of Mermaid's syntax characters."""
    assert not re.search(r'[:;#{}"<>]', re.sub(r"#\w+;", "", label)), label


def check_mermaid(text: str) -> None:
    """A parser-level check: balanced boxes, and every state declared before it is used."""
    lines = [line.strip() for line in text.split("\n")][:-1]
    assert text.endswith("\n") and lines[0].startswith("%% ") and lines[1] == "stateDiagram-v2"
    declared: set[str] = set()
    depth = 0

    def use(*ids: str) -> None:
        for state in ids:
            assert state == "[*]" or state in declared, f"{state} used before it is declared"

    for line in lines[2:]:
        if m := re.fullmatch(r'state "([^"]+)" as ([A-Za-z_]\w*)', line):
            declared.add(m[2])
        elif m := re.fullmatch(r"state ([A-Za-z_]\w*) \{", line):
            declared.add(m[1])
            depth += 1
        elif line == "}":
            depth -= 1
            assert depth >= 0, "unbalanced braces"
        elif line == "--":
            assert depth > 0, "a region separator outside a box"
        elif m := re.fullmatch(rf"({MERMAID_ID}) --> ({MERMAID_ID})(?: : (.+))?", line):
            use(m[1], m[2])
            check_label(m[3] or "x")
        elif m := re.fullmatch(r"(?:note right of )?([A-Za-z_]\w*) : (.+)", line):
            use(m[1])
            check_label(m[2])
        elif re.fullmatch(r"[A-Za-z_]\w*", line):
            declared.add(line)
        else:
            raise AssertionError(f"not a Mermaid state diagram line: {line!r}")
    assert depth == 0, "unbalanced braces"


def check_dot(text: str) -> None:
    """Balanced braces outside strings, every edge between declared nodes, and, when Graphviz
    is installed, a clean run of ``dot``."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert unquoted.count("{") == unquoted.count("}")
    quoted = r'"(?:[^"\\]|\\.)*"'
    nodes = set(re.findall(rf"^\s*({quoted})(?: \[.*\])?;$", text, re.MULTILINE))
    for tail, head in re.findall(rf"^\s*({quoted}) -> ({quoted})", text, re.MULTILINE):
        assert tail in nodes and head in nodes, (tail, head)


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize(("render", "suffix"), [(to_mermaid, "mmd"), (to_dot, "dot")])
def test_golden_output(render: object, suffix: str) -> None:
    expected = (GOLDEN / f"player.{suffix}").read_text()
    assert render(PLAYER) == expected  # type: ignore[operator]


def test_golden_files_are_well_formed() -> None:
    check_mermaid((GOLDEN / "player.mmd").read_text())
    check_dot((GOLDEN / "player.dot").read_text())


# --------------------------------------------------------------------------- the order chart


def test_order_chart_in_mermaid() -> None:
    text = to_mermaid(order_chart)
    check_mermaid(text)
    assert text == to_mermaid(compile_order())  # a chart or its compiled form
    lines = [line.strip() for line in text.splitlines()]
    for expected in ("[*] --> Placed", "state Preparing {", "state Kitchen {", "--",
                     "state Courier {", "[*] --> FindingCourier", "Delivered --> [*]",
                     "OfferedToRestaurant --> Cancelled : after 5m",
                     "FindingCourier --> FindingCourier : after 60s",
                     "Placed --> Placed : error.effect.charge [can_retry_charge]",
                     "CourierAssigned --> PickedUp : picked_up [In(ReadyForPickup)]"):
        assert expected in lines, expected
    assert lines.index("state Kitchen {") < lines.index("--") < lines.index("state Courier {")


def test_order_chart_in_dot() -> None:
    text = to_dot(order_chart)
    check_dot(text)
    assert 'subgraph "cluster_Preparing" {' in text
    box = text.split('subgraph "cluster_Preparing" {')[1]
    assert box.splitlines()[2].strip() == 'style="dashed";'
    assert '"Delivered" [shape="doublecircle", label="Delivered"];' in text
    assert '"OfferedToRestaurant" -> "Preparing" [label="accept", lhead="cluster_Preparing"];' \
        in text
    assert '"[*]" -> "Placed";' in text


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz `dot` is not installed (the DOT text is still checked)")
@pytest.mark.parametrize("chart", [order_chart, PLAYER], ids=["order", "player"])
def test_graphviz_accepts_the_dot(chart: Chart) -> None:
    result = subprocess.run(["dot", "-Tsvg"], input=to_dot(chart), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "<svg" in result.stdout


# --------------------------------------------------------------------------- escaping


def test_ids_and_labels_are_escaped() -> None:
    chart = Chart('we"ird', states={
        "a b": State(on={"go;now": Transition('x"y', cond="has#:{}")}),
        'x"y': State(on={"back": Transition(("a b",))}),
        "state": Final(),
        "1st": State(on={"x\\y": "state"}),
    })
    mermaid = to_mermaid(chart)
    check_mermaid(mermaid)
    assert 'state "a b" as a_b' in mermaid
    assert "state \"x#quot;y\" as x_y" in mermaid
    assert "a_b --> x_y : go#59;now [has#35;#58;#123;#125;]" in mermaid
    assert 'state "state" as state_' in mermaid and 'state "1st" as s_1st' in mermaid
    dot = to_dot(chart)
    check_dot(dot)
    assert 'digraph "we\\"ird" {' in dot
    assert '"a b" -> "x\\"y" [label="go;now [has#:{}]"];' in dot
    assert '"1st" -> "state" [label="x\\\\y"];' in dot


def test_a_history_state_of_a_parallel_state_is_not_a_region() -> None:
    chart = Chart("c", states={"P": State(kind="parallel", states={
        "r1": State(), "h": State(history="deep"), "r2": State()}), "Q": State(on={"x": "h"})})
    text = to_mermaid(chart)
    check_mermaid(text)
    assert "        r1\n        state \"H*\" as h\n        --\n        r2\n" in text


def test_colliding_escaped_ids_stay_distinct() -> None:
    chart = Chart("c", states={"a.b": State(on={"x": "a_b"}), "a_b": State(on={"x": "a-b"}),
                               "a-b": Final()})
    text = to_mermaid(chart)
    check_mermaid(text)
    assert "a_b_2 --> a_b_3 : x" in text


def test_a_state_named_like_the_initial_point_keeps_its_own_node() -> None:
    chart = Chart("c", states={"[*]": State(on={"go": "b"}), "b": Final()})
    text = to_dot(chart)
    check_dot(text)
    assert "\"[*]'\" -> \"[*]\";" in text


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(ChartError, match="unknown target 'bb' \\(did you mean 'b'\\?\\)"):
        to_mermaid(Chart("c", states={"a": State(on={"go": "bb"}), "b": Final()}))


def test_only_charts_can_be_drawn() -> None:
    with pytest.raises(TypeError, match="expected a Chart or a CompiledChart"):
        to_dot("not a chart")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(charts())
def test_any_valid_chart_draws_well_formed_diagrams(chart: Chart) -> None:
    compiled = compile_chart(chart, guards=BINDINGS, functions=BINDINGS, trusted=True,
                             checks="ignore")
    check_mermaid(to_mermaid(compiled))
    check_dot(to_dot(compiled))
    assert to_mermaid(chart) == to_mermaid(compiled)
