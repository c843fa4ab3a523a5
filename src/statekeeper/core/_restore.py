"""What a snapshot must say to be continued: its fields' shapes, and sense for its chart.

Why: a snapshot comes back from a file, a database or another program.  ``Snapshot.from_dict``
used to check only the top-level types, so a timer without ``"due"`` raised a raw ``KeyError``
when a machine restored it, a ``"due"`` of ``"soon"`` a ``TypeError`` from the clock, a
configuration naming two sibling states loaded a machine in both at once, and history naming an
unknown state failed only when it was entered.  :func:`shape_problems` is the chart-free part
(run by ``from_dict``), :func:`chart_problems` what only the chart can tell (run by
``Snapshot.validate``, which machines call on restore).  Each problem names its field by path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from .actions import LATE_POLICIES
from .errors import InvalidPayload, LimitExceeded
from .limits import Limits
from .nodes import COMPOUND, FINAL, HISTORY, PARALLEL, ROOT_ID, Node
from .payload import check_payload

__all__ = ["chart_problems", "configuration_problems", "shape_problems"]

_EVENT_TEXT = ("type", "sendid", "origin", "origintype", "invokeid")
_ANY_SIZE = Limits(max_depth=10_000, max_payload_bytes=2**62)


def _key(key: Any) -> str:
    return f"[{_show(key)}]"


def _show(value: Any) -> str:
    """``repr(value)``, shortened; never fails (a huge int, a deep list, a broken ``__repr__``)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a message must not fail on the value it describes
        return f"a {type(value).__name__}"
    return text if len(text) <= 80 else f"{text[:60]}... ({type(value).__name__})"


def shape_problems(raw: dict[str, Any]) -> Iterator[str]:
    """The fields of ``raw`` (a snapshot's dict form) whose shape is wrong, one line each."""
    for field in ("chart", "hash", "session"):
        if type(raw.get(field)) is not str:
            yield f"{field} is {_show(raw.get(field))}, not a string"
    version = raw.get("version")
    if type(version) not in (int, str):
        yield f"version is {_show(version)}, not an int or a string"
    configuration = raw.get("configuration")
    if not isinstance(configuration, list | tuple) or not all(
            type(s) is str for s in configuration):
        yield f"configuration is {_show(configuration)}, not a list of state ids"
    elif len(set(configuration)) != len(configuration):
        yield f"configuration {_show(list(configuration))} names a state twice"
    if not isinstance(raw.get("data"), dict):
        yield f"data is {_show(raw.get('data'))}, not a dict"
    if type(raw.get("done")) is not bool:
        yield f"done is {_show(raw.get('done'))}, not true or false"
    counter = raw.get("counter")
    if type(counter) is not int:
        yield f"counter is {_show(counter)}, not an int of 0 or more"
    elif counter < 0:
        yield f"counter is {counter}, negative: it counts the ids a session made, from 0"
    parent = raw.get("parent")
    if parent is not None and type(parent) is not str:
        yield f"parent is {_show(parent)}, not a session id (a string) or null"
    yield from _history_shape(raw.get("history"))
    yield from _timers_shape(raw.get("timers"))
    yield from _invokes_shape(raw.get("invokes"))


def _history_shape(history: Any) -> Iterator[str]:
    if not isinstance(history, dict):
        yield f"history is {_show(history)}, not a dict of history state ids"
        return
    for key, value in history.items():
        if type(key) is not str or not isinstance(value, list | tuple) or not all(
                type(s) is str for s in value):
            yield f"history{_key(key)} is {_show(value)}, not a list of state ids"


def _timers_shape(timers: Any) -> Iterator[str]:
    if not isinstance(timers, dict):
        yield f"timers is {_show(timers)}, not a dict of timer ids"
        return
    for key, timer in timers.items():
        if type(key) is str and isinstance(timer, dict) and _timer_fine(timer):
            continue  # the usual case: no message to build (each a repr of the key)
        where = f"timers{_key(key)}"
        if type(key) is not str or not isinstance(timer, dict):
            yield f"{where} is {_show(timer)}, not a timer ({{'due', 'event', 'target'}})"
            continue
        due: Any = timer.get("due")
        if type(due) not in (int, float) or not math.isfinite(due):
            yield f"{where}.due is {_show(due)}, not a time (a finite number of seconds)"
        event = timer.get("event")
        if not isinstance(event, dict) or type(event.get("name")) is not str:
            yield f"{where}.event is {_show(event)}, not an event (a dict with a 'name' string)"
        else:
            for field in _EVENT_TEXT:
                value = event.get(field)
                if value is not None and not isinstance(value, str):
                    yield f"{where}.event.{field} is {_show(value)}, not a string or null"
        target = timer.get("target")
        if target is not None and type(target) is not str:
            yield f"{where}.target is {_show(target)}, not a target (a string) or null"
        if "late" in timer and timer["late"] not in LATE_POLICIES:
            yield f"{where}.late is {_show(timer['late'])}, not one of {list(LATE_POLICIES)}"


def _timer_fine(timer: dict[str, Any]) -> bool:
    """Whether one timer has the shape :func:`_timers_shape` checks field by field."""
    due: Any = timer.get("due")
    event, target = timer.get("event"), timer.get("target")
    return (type(due) in (int, float) and math.isfinite(due) and isinstance(event, dict)
            and type(event.get("name")) is str
            and all(event.get(f) is None or isinstance(event.get(f), str) for f in _EVENT_TEXT)
            and (target is None or type(target) is str)
            and ("late" not in timer or timer["late"] in LATE_POLICIES))


def _invokes_shape(invokes: Any) -> Iterator[str]:
    if not isinstance(invokes, dict):
        yield f"invokes is {_show(invokes)}, not a dict of invoke ids"
        return
    for key, info in invokes.items():
        where = f"invokes{_key(key)}"
        if (type(key) is not str or not isinstance(info, dict) or type(info.get("state")) is not str
                or type(info.get("index")) is not int or info["index"] < 0
                or type(info.get("autoforward", False)) is not bool):
            yield (f"{where} is {_show(info)}, not an invocation ({{'state': id, 'index': n, "
                   f"'autoforward': bool}})")


def configuration_problems(chart: Any, configuration: Iterable[str]) -> list[str]:
    """What makes ``configuration`` impossible in ``chart`` (an empty list: it is legal).

    Legal: every state known, every active state's parent active, exactly one child of each
    active compound state, every region of each active parallel state.
    """
    states = list(configuration)
    if not states:
        return ["the configuration is empty"]
    unknown = [s for s in states if s not in chart.nodes or s == ROOT_ID
               or chart.nodes[s].kind == HISTORY]
    if unknown:
        return [f"the configuration names states the chart does not have: {unknown}"]
    active = set(states)
    problems = []
    for sid in states:
        node = chart.nodes[sid]
        parent = node.parent
        if parent is not None and parent.parent is not None and parent.id not in active:
            problems.append(f"state {_show(sid)} is active but its parent {_show(parent.id)} is not")
        children = [c.id for c in node.children if c.kind != HISTORY]
        on = [c for c in children if c in active]
        if node.kind == COMPOUND and len(on) != 1:
            problems.append(f"compound state {_show(sid)} has {len(on)} active children {on} "
                            f"(exactly one of {children} must be)")
        if node.kind == PARALLEL and len(on) != len(children):
            missing = [c for c in children if c not in active]
            problems.append(f"parallel state {_show(sid)} lacks active regions {missing}")
    top = [s for s in states if chart.nodes[s].parent is chart.root]
    if len(top) != 1:
        problems.append(f"{len(top)} top-level states are active {top} (exactly one must be)")
    return problems


def chart_problems(snapshot: Any, chart: Any) -> list[str]:
    """What ``snapshot`` (well-shaped) says that ``chart`` makes impossible, one line each."""
    problems = configuration_problems(chart, snapshot.configuration)
    if not problems:
        top = next(chart.nodes[s] for s in snapshot.configuration
                   if chart.nodes[s].parent is chart.root)
        if snapshot.done != (top.kind == FINAL):
            problems.append(f"done is {snapshot.done} but the active top-level state "
                            f"{_show(top.id)} is {'not ' if top.kind != FINAL else ''}final")
    for hid, recorded in snapshot.history.items():
        problems += _history_problems(chart, hid, recorded)
    for iid, info in snapshot.invokes.items():
        node = chart.nodes.get(info["state"])
        if node is None or info["index"] >= len(node.invokes):
            problems.append(f"invokes{_key(iid)} names invoke {info['index']} of state "
                            f"{_show(info['state'])}, which the chart does not have")
    for field in ("data", "done_data"):
        try:
            check_payload(getattr(snapshot, field), limits=_ANY_SIZE, what=field)
        except InvalidPayload as exc:
            problems.append(f"{field} at {exc.path}: {exc.reason}")
        except LimitExceeded:
            problems.append(f"{field} holds itself (a cycle) or is nested too deep for JSON")
    return problems


def _history_problems(chart: Any, hid: str, recorded: tuple[str, ...]) -> list[str]:
    where = f"history{_key(hid)}"
    node: Node | None = chart.nodes.get(hid)
    if node is None or node.kind != HISTORY or node.parent is None:
        return [f"{where} names no history state of the chart"]
    parent = node.parent
    strange = [s for s in recorded if s not in chart.nodes
               or chart.nodes[s] not in parent.descendants or chart.nodes[s].kind == HISTORY
               or (node.history_kind == "deep" and not chart.nodes[s].is_atomic)
               or (node.history_kind != "deep" and chart.nodes[s].parent is not parent)]
    if strange or not recorded:
        kind = "atomic descendants" if node.history_kind == "deep" else "children"
        return [f"{where} records {_show(list(recorded))}: a history of {_show(parent.id)} records some "
                f"of its {kind}, not {strange or 'none'}"]
    # the recorded states and their ancestors below the parent must not hold two siblings
    chain = {a for s in recorded for a in (chart.nodes[s], *chart.nodes[s].ancestors)
             if a in parent.descendants}
    for compound in (parent, *chain):
        if compound.kind == COMPOUND:
            on = [c.id for c in compound.children if c in chain]
            if len(on) > 1:
                return [f"{where} records {_show(list(recorded))}: two children {on} of the "
                        f"compound state {_show(compound.id)}"]
    return []
