"""Write a :class:`~statekeeper.Chart` in the dict form (see docs/reference/chart-format.md).

The writer produces the shortest document that reads back to an equal chart: keys left at
their default are left out, a plain transition is just its target, and a state's transitions
are grouped under ``on`` and ``always`` when that keeps their document order.  Document order
is part of a chart's meaning (the first enabled transition wins) and of its structure hash,
so when grouping would reorder them the writer lists them under ``transitions`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from statekeeper.core.actions import MISSING
from statekeeper.core.model import Chart, DataItem, State, Transition

from ._dictform_common import NAME_DATAMODELS, At, duration_text, ids_value, json_value, no_code
from ._dictform_records import write_action, write_actions, write_record

__all__ = ["write_chart"]


def write_chart(chart: Chart, at: At) -> dict[str, Any]:
    """Write ``chart`` as a dict of plain data (JSON- and YAML-ready)."""
    out: dict[str, Any] = {"name": chart.name, "version": chart.version}
    if chart.description is not None:
        out["description"] = chart.description
    if chart.initial_ids is not None:
        out["initial"] = ids_value(chart.initial_ids)
    if chart.datamodel not in NAME_DATAMODELS:
        raise no_code(at.at("datamodel"), f"chart {chart.name!r} uses the {chart.datamodel!r} "
                      "datamodel, whose expressions are source code")
    if chart.script is not None:
        raise no_code(at.at("script"), f"chart {chart.name!r} has a script (Python source)")
    if chart.datamodel != "functions":
        out["datamodel"] = chart.datamodel
    if chart.binding != "early":
        out["binding"] = chart.binding
    if chart.data_items:
        out["data"] = _write_data(chart.data_items, at.at("data"))
    out["states"] = _write_states(chart.children, at.at("states"))
    return out


def _write_states(states: Sequence[State], at: At) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for state in states:
        assert state.id is not None  # the builder fills ids from the mapping keys
        if state.id in out:
            raise at.error(f"duplicate state id {state.id!r}")
        out[state.id] = _write_state(state, at.in_state(state.id))
    return out


def _write_state(state: State, at: At) -> dict[str, Any]:
    out: dict[str, Any] = {}
    inferred = "history" if state.history else ("compound" if state.children else "atomic")
    if state.kind != inferred:
        out["type"] = state.kind
    if state.history is not None:
        out["history"] = state.history
    if state.initial_ids is not None:
        out["initial"] = ids_value(state.initial_ids)
    if state.data_items:
        out["data"] = _write_data(state.data_items, at.at("data"))
    for key, blocks in (("entry", state.entry_blocks), ("exit", state.exit_blocks)):
        if blocks:
            out[key] = _write_blocks(blocks, at.at(key))
    out.update(_write_transitions(state, at))
    if state.after_transitions:
        out["after"] = _write_after(state, at.at("after"))
    if state.ignore:
        out["ignore"] = list(state.ignore)
    if state.stuck_after is not None:
        out["stuck_after"] = duration_text(state.stuck_after)
    if state.invoke:
        out["invoke"] = [write_record(inv, at.at("invoke").at(i))
                         for i, inv in enumerate(state.invokes)]
    if state.donedata is not None:
        out["donedata"] = write_record(state.donedata, at.at("donedata"))
    if state.initial_actions:
        out["initial_actions"] = write_actions(state.initial_actions, at.at("initial_actions"))
    if state.children:
        out["states"] = _write_states(state.children, at.at("states"))
    return out


def _write_blocks(blocks: tuple[tuple[Any, ...], ...], at: At) -> list[Any]:
    if len(blocks) == 1 and blocks[0]:
        return write_actions(blocks[0], at)
    return [write_actions(block, at.at(i)) for i, block in enumerate(blocks)]


def _write_transitions(state: State, at: At) -> dict[str, Any]:
    """Write a state's transitions as ``on``/``always``/``default`` or, failing that, a list."""
    transitions = state.transitions
    if not transitions:
        return {}
    for t in transitions:
        if t.event is not None and not t.event.strip():
            raise at.error(f"a transition has an empty event name {t.event!r}")
    if state.kind == "history" and all(t.event is None for t in transitions):
        return {"default": _eventless(transitions, at.at("default"))}
    grouped = _group(transitions)
    if grouped is None:
        where = at.at("transitions")
        return {"transitions": [_write_spec(t, where.at(i), listed=True)
                                for i, t in enumerate(transitions)]}
    on, always = grouped
    out: dict[str, Any] = {}
    if on:
        out["on"] = {event: _write_specs(ts, at.at("on").at(event)) for event, ts in on.items()}
    if always:
        out["always"] = _eventless(always, at.at("always"))
    return out


def _eventless(transitions: Sequence[Transition], at: At) -> Any:
    # ``always: null`` means "no eventless transitions" (as ``State(always=None)`` does), so
    # a lone plain targetless transition is written as an empty mapping instead.
    written = _write_specs(transitions, at)
    return {} if written is None else written


def _group(transitions: Sequence[Transition]) -> tuple[dict[str, list[Transition]],
                                                       list[Transition]] | None:
    """Group by event if that keeps document order (each event one run, eventless last)."""
    on: dict[str, list[Transition]] = {}
    always: list[Transition] = []
    previous: str | None = None
    for t in transitions:
        if t.event is None:
            always.append(t)
            continue
        if always or (t.event in on and t.event != previous):
            return None
        on.setdefault(t.event, []).append(t)
        previous = t.event
    return on, always


def _write_after(state: State, at: At) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for delay, transitions in state.after_transitions.items():
        key = duration_text(delay)
        key = key if isinstance(key, str) else str(key)
        if key in out:
            raise at.error(f"two delays are both written {key!r}")
        if any(t.event is not None for t in transitions):
            raise at.at(key).error("a transition under 'after' cannot have an event")
        out[key] = _write_specs(transitions, at.at(key))
    return out


def _write_specs(transitions: Sequence[Transition], at: At) -> Any:
    if len(transitions) == 1:
        return _write_spec(transitions[0], at, listed=False)
    return [_write_spec(t, at.at(i), listed=False) for i, t in enumerate(transitions)]


def _write_spec(t: Transition, at: At, *, listed: bool) -> Any:
    """Write one transition: just its target when that says everything, else a mapping."""
    plain = t.cond is None and not t.actions and t.type == "external" and \
        t.late is None and t.work is None
    if plain and not listed:
        if not t.targets:
            return None
        target = ids_value(t.targets)
        if isinstance(target, str):
            return target
    out: dict[str, Any] = {}
    if listed and t.event is not None:
        out["event"] = t.event
    if t.targets:
        out["target"] = ids_value(t.targets)
    if t.cond is not None:
        out["cond"] = t.cond
    if t.actions:
        out["actions"] = write_actions(tuple(t.actions), at.at("actions"))
    if t.type != "external":
        out["type"] = t.type
    if t.late is not None:
        out["late"] = t.late
    if t.work is not None:
        out["work"] = write_action(t.work, at.at("work"))["effect"]
    return out


def _write_data(items: tuple[DataItem, ...], at: At) -> Any:
    """Write data as a mapping of literals when it is one, else as a list of items."""
    ids = [item.id for item in items]
    literal = all(i.expr is None and i.src is None and i.value is not MISSING for i in items)
    if literal and len(set(ids)) == len(ids):
        return {item.id: json_value(item.value, at.at(item.id)) for item in items}
    return [write_record(item, at.at(i)) for i, item in enumerate(items)]
