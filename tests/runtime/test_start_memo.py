"""The memo of initial steps never disagrees with the pure initial step.

A chart whose start runs nothing of the user's starts every instance the same way but for its
session id and the data it is given; the runtime computes that start once (runtime/start_memo.py).
These tests compare the memoised start with :func:`initial_step` on generated charts, with and
without start data, and through a durable client.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from statekeeper import Chart, Final, State
from statekeeper.client import Client
from statekeeper.core.actions import Assign
from statekeeper.core.compile import compile_chart
from statekeeper.core.step import initial_step
from statekeeper.runtime.rows import snapshot_from_row
from statekeeper.runtime.start_memo import initial_outcome, memoisable
from statekeeper.testing.strategies import charts, suite_settings

QUIET = Chart("quiet", initial="open", data={"n": 0, "tags": ["a"], "limits": {"max": 3}},
              states={
                  "open": State(initial="idle", states={
                      "idle": State(on={"go": "busy"}),
                      "busy": State(after={"1h": "idle"}, on={"close": "closed"}),
                  }),
                  "closed": Final(),
              })  # fmt: skip


def _same(chart: Any, data: dict[str, Any] | None, session: str) -> None:
    expected = initial_step(chart, now=5.0, data=copy.deepcopy(data), session=session)
    snapshot, status, microsteps, commands = initial_outcome(
        chart, copy.deepcopy(data), session, 5.0)
    assert snapshot == expected.snapshot
    assert list(snapshot.data.items()) == list(expected.snapshot.data.items())  # key order too
    assert (status, microsteps, commands) == (
        expected.status, expected.microsteps, expected.commands)


@suite_settings(max_examples=100)
@given(generated=charts(), extra=st.sampled_from([None, {}, {"extra": [1, {"k": 2}]}]))
def test_memoised_starts_match_the_initial_step(generated: Any, extra: Any) -> None:
    chart = compile_chart(generated.chart, guards=generated.guards,
                          functions=generated.functions, checks="ignore")
    # the caller's data overrides declared items (with values of their kind: the generated
    # guards expect them) and adds its own
    given = {i.id: copy.deepcopy(i.value) for i in generated.chart.data[:2]}
    for data in (extra, {**(extra or {}), **given}):
        _same(chart, data, "s-1")
        _same(chart, data, "s-2")  # the second start of the chart reads the memo


def test_a_quiet_chart_is_memoised_and_its_instances_share_no_data() -> None:
    chart = compile_chart(QUIET)
    assert memoisable(chart, 0.0) is not None
    _same(chart, None, "q-1")
    _same(chart, {"n": 7, "new": True}, "q-2")
    first, *_ = initial_outcome(chart, {}, "q-3", 0.0)
    second, *_ = initial_outcome(chart, {}, "q-4", 0.0)
    first.data["tags"].append("b")
    first.data["limits"]["max"] = 9
    assert second.data == {"n": 0, "tags": ["a"], "limits": {"max": 3}}
    assert memoisable(chart, 0.0) is not None and \
        memoisable(chart, 0.0)[0].data == second.data  # type: ignore[index]


def test_a_start_that_runs_user_code_is_not_memoised() -> None:
    entry = Chart("entry", initial="a", data={"n": 0}, states={
        "a": State(entry=[Assign("n", expr="one")], on={"go": "b"}), "b": Final()})
    timer = Chart("timer", initial="a", states={"a": State(after={"1s": "b"}), "b": Final()})
    computed = Chart("computed", initial="a", data={"n": 0}, states={
        "a": State(on={"go": "b"}), "b": Final()})
    object.__setattr__(computed.data[0], "expr", "one")  # an expression, not a literal
    for chart in (compile_chart(entry, functions={"one": lambda d, e: 1}),
                  compile_chart(timer),
                  compile_chart(computed, functions={"one": lambda d, e: 1})):
        assert memoisable(chart, 0.0) is None, chart.name
        _same(chart, {"x": 1}, "u-1")


def test_durable_starts_of_a_memoised_chart_are_the_pure_steps(tmp_path: Any) -> None:
    client = Client(f"sqlite:///{tmp_path}/m.db", worker=False)
    try:
        compiled = client.register(QUIET)
        for name, data in (("d-1", None), ("d-2", {"n": 4}), ("d-3", None)):
            client.start("quiet", name, data=data)
            expected = initial_step(compiled, now=0.0, data=copy.deepcopy(data or {}),
                                    session=name).snapshot
            stored = snapshot_from_row(client.store.load(name))
            assert (stored.session, stored.configuration, stored.data) == (
                name, expected.configuration, expected.data)
            [row] = client.history(name)
            assert [m["entered"] for m in row.microsteps] == [
                list(m.entered) for m in initial_step(compiled, session=name).microsteps]
        assert memoisable(compiled, 0.0) is not None
        assert client.send("d-1", "go").configuration == ("open", "busy")
    finally:
        client.close()
