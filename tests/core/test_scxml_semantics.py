"""Focused checks of SCXML semantics the W3C conformance documents exercise."""

from __future__ import annotations

from typing import Any

import pytest

from statekeeper import (
    Assign,
    AsyncMachine,
    Chart,
    Content,
    DoneData,
    Event,
    Final,
    Invoke,
    Machine,
    Send,
    State,
    Transition,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core import ForwardEvent
from statekeeper.core.compile import CompiledChart


def _python(chart: Chart) -> CompiledChart:
    return compile_chart(chart, trusted=True, checks="ignore")


def test_send_to_an_invalid_target_raises_error_execution_and_stops_the_block() -> None:
    # W3C 159/194: an unsupported target is error.execution, and the rest of the block is skipped.
    chart = _python(Chart("c", datamodel="python", data={"n": 0}, states={
        "s": State(entry=[Send(event="x", target="baz"), Assign("n", "n + 1")],
                   on={"error.execution": "ok", "*": "bad"}),
        "ok": Final(), "bad": Final(),
    }))
    result = initial_step(chart, session="s1")
    assert result.configuration == ("ok",)
    assert result.snapshot.data["n"] == 0


def test_send_to_another_scxml_session_is_error_communication() -> None:
    chart = _python(Chart("c", datamodel="python", states={
        "s": State(entry=[Send(event="x", target="#_scxml_nobody")],
                   on={"error.communication": "ok", "*": "bad"}),
        "ok": Final(), "bad": Final(),
    }))
    assert initial_step(chart, session="s1").configuration == ("ok",)


def test_origintype_is_the_scxml_processor_uri_and_equals_its_alias() -> None:
    # W3C 198 compares with the URI, the converted W3C 352 with the alias "scxml".
    chart = _python(Chart("c", datamodel="python", data={"t": None}, states={
        "s": State(entry=[Send(event="e")], on={"e": Transition("check", actions=(
            Assign("t", "_event.origintype"),))}),
        "check": State(always=[
            Transition("ok", cond="t == 'http://www.w3.org/TR/scxml/#SCXMLEventProcessor'"
                       " and t == 'scxml'"),
            Transition("bad"),
        ]),
        "ok": Final(), "bad": Final(),
    }))
    start = initial_step(chart, session="s1")
    (send,) = start.sends
    assert step(chart, start.snapshot, send.event).configuration == ("ok",)


def test_autoforwarded_events_do_not_carry_the_childs_invokeid() -> None:
    # W3C 229: the child must process the copy, which it would drop as coming from an
    # invocation of its own that does not exist.
    child = Chart("child", states={"c": State(on={"ping": "done"}), "done": Final()})
    chart = compile_chart(Chart("p", states={
        "s": State(invoke=(Invoke(id="kid", content=Content(value=child), autoforward=True),),
                   on={"ping": None}),
    }), checks="ignore")
    start = initial_step(chart, session="p1")
    ping = Event("ping", None, "external", None, "#_kid", None, "kid")
    forwarded = [c for c in step(chart, start.snapshot, ping).commands
                 if isinstance(c, ForwardEvent)]
    assert [(f.invokeid, f.event.name, f.event.invokeid) for f in forwarded] == [
        ("kid", "ping", None)]


def test_events_a_child_sent_before_it_was_cancelled_are_still_processed() -> None:
    # W3C 236: done.invoke arrives after the invoking state was left; Appendix D processes it.
    child = Chart("child", states={"c": Final()})
    chart = compile_chart(Chart("p", states={
        "s0": State(invoke=(Invoke(id="kid", content=Content(value=child)),),
                    on={"childToParent": "s1"}),
        "s1": State(on={"done.invoke": "s2"}),
        "s2": Final(),
    }), checks="ignore")
    snap = initial_step(chart, session="p1").snapshot
    snap = step(chart, snap, Event("childToParent", invokeid="kid")).snapshot
    assert snap.invokes == {}
    result = step(chart, snap, Event("done.invoke.kid", invokeid="kid"))
    assert (result.status, result.configuration) == ("applied", ("s2",))


def test_invoke_params_set_only_data_the_child_declares() -> None:
    # W3C 245: a namelist/param value with no matching data item in the child is not set.
    child = Chart("child", datamodel="python", data={"a": 0}, states={
        "f": Final(donedata=DoneData(content=Content(expr="sorted(dir())"))),
    })

    def loader(src: Any, content: Any) -> CompiledChart:
        return _python(content)

    parent = Chart("p", datamodel="python", data={"a": 1, "b": 2, "seen": None}, states={
        "s": State(invoke=(Invoke(id="kid", namelist=("a", "b"), content=Content(value=child)),),
                   on={"done.invoke.kid": Transition("end", actions=(
                       Assign("seen", "_event.data"),))}),
        "end": Final(),
    })
    machine = Machine(_python(parent), invoke_loader=loader)
    assert machine.done
    assert machine.data["seen"] == ["a"]


def test_the_error_of_a_failed_send_carries_its_sendid() -> None:
    # W3C 332: the sendid stored by idlocation is the sendid of the error event.
    chart = _python(Chart("c", datamodel="python", data={"a": None, "b": None}, states={
        "s": State(entry=[Send(event="x", target="baz", idlocation="a")],
                   on={"error": Transition("t", actions=(Assign("b", "_event.sendid"),))}),
        "t": State(always=[Transition("ok", cond="a == b and a is not None"), Transition("bad")]),
        "ok": Final(), "bad": Final(),
    }))
    assert initial_step(chart, session="s1").configuration == ("ok",)


@pytest.mark.asyncio
async def test_async_machine_processes_events_of_the_initial_step_in_order() -> None:
    # W3C 198 on AsyncMachine: two sends in the initial onentry arrive in document order.
    chart = compile_chart(Chart("c", states={
        "s": State(entry=[Send(event="first"), Send(event="second")],
                   on={"first": "t", "second": "bad"}),
        "t": State(on={"second": "ok", "first": "bad"}),
        "ok": Final(), "bad": Final(),
    }), checks="ignore")
    machine = AsyncMachine(chart)
    assert machine.configuration == ("ok",)


def test_the_initial_step_records_entering_the_initial_configuration() -> None:
    """Regression: the start's audit row showed states exited that it never showed entered."""
    chart = compile_chart(Chart("nest", initial="a", states={
        "a": State(initial="a1", states={"a1": State(always="b"),
                                         "a2": State(on={"back": "b"})}),
        "b": State(on={"go": "a2"}),
    }))
    result = initial_step(chart)
    first, second = result.microsteps
    assert (first.event, first.transitions, first.exited) == (None, (("(root)", ("a",)),), ())
    assert first.entered == ("a", "a1") and first.configuration == ("a", "a1")
    assert (second.transitions, second.exited, second.entered) == (
        (("a1", ("b",)),), ("a1", "a"), ("b",))
    assert result.microsteps[-1].configuration == result.snapshot.configuration == ("b",)
