"""Read the dict form of a chart into :class:`~statekeeper.Chart` (see docs/reference/chart-format.md).

The reader builds the same frozen objects the Python builder does, so a chart read from JSON or
YAML compiles to the same structure hash as the one written in Python.  It checks the shape
of the document (known keys, types) and leaves the meaning (targets exist, initials are
children) to :func:`~statekeeper.compile_chart`, which has the whole chart to check against.
Strings are never evaluated here: conditions and expressions stay names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statekeeper.core._bounds import shape_problem
from statekeeper.core._shapes import check_stuck_after
from statekeeper.core.actions import Effect
from statekeeper.core.durations import parse_duration
from statekeeper.core.errors import ChartError
from statekeeper.core.model import Chart, DataItem, DoneData, Invoke, State, Transition

from ._dictform_common import NAME_DATAMODELS, At, json_value, mapping, no_code, read_ids, type_name
from ._dictform_records import read_action, read_actions, read_blocks, read_record

__all__ = ["CHART_KEYS", "STATE_KEYS", "TRANSITION_KEYS", "read_chart"]

CHART_KEYS = (
    "name", "version", "description", "initial", "datamodel", "binding", "script", "data",
    "states",
)
STATE_KEYS = (
    "type", "history", "initial", "data", "entry", "exit", "on", "always", "after",
    "transitions", "default", "ignore", "invoke", "donedata", "initial_actions", "states",
    "stuck_after",
)
TRANSITION_KEYS = ("target", "cond", "actions", "type", "late", "work")
_STATE_TYPES = ("atomic", "compound", "parallel", "final", "history")


def read_chart(value: Any, at: At) -> Chart:
    """Read a chart document (the top level, or a child chart inside ``content``)."""
    doc = mapping(value, at, CHART_KEYS, "a chart")
    for key in ("name", "states"):
        if key not in doc:
            raise at.error(f"missing key {key!r}")
    name = doc["name"]
    if not isinstance(name, str) or not name:
        raise at.at("name").error(f"expected a non-empty string, got {type_name(name)}")
    datamodel = _opt_str(doc, "datamodel", at) or "functions"
    if datamodel not in NAME_DATAMODELS:
        raise no_code(at.at("datamodel"), f"datamodel {datamodel!r} evaluates source code")
    if doc.get("script") is not None:
        raise no_code(at.at("script"), "a script is Python source")
    version = doc.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        raise at.at("version").error(f"expected a number or a string, got {type_name(version)}")
    return Chart(
        name,
        states=_read_states(doc["states"], at.at("states")),
        initial=_opt_ids(doc, "initial", at),
        version=version,
        data=_read_data(doc.get("data"), at.at("data")),
        datamodel=datamodel,
        binding=_choice(doc, "binding", ("early", "late"), at) or "early",  # type: ignore[arg-type]
        description=_opt_str(doc, "description", at),
    )


def _read_states(value: Any, at: At) -> tuple[State, ...]:
    states = mapping(value, at, None, "states (a mapping from state id to state)")
    return tuple(_read_state(state_id, body, at.in_state(state_id))
                 for state_id, body in states.items())


def _read_state(state_id: str, value: Any, at: At) -> State:
    if not state_id:
        raise at.error("a state id cannot be empty")
    body = mapping({} if value is None else value, at, STATE_KEYS, "a state")
    kind = _choice(body, "type", _STATE_TYPES, at)
    history = _choice(body, "history", ("shallow", "deep"), at)
    is_history = kind == "history" or (kind is None and history is not None)
    state = State(
        id=state_id,
        states=_read_states(_get(body, "states", {}), at.at("states")),
        initial=_opt_ids(body, "initial", at),
        transitions=_read_transitions(body, is_history, at),
        after=_read_after(body.get("after"), at.at("after")),
        entry=read_blocks(body.get("entry"), at.at("entry")),
        exit=read_blocks(body.get("exit"), at.at("exit")),
        ignore=_opt_ids(body, "ignore", at) or (),
        invoke=tuple(read_record(Invoke, item, where, "an invoke")
                     for item, where in _items(body.get("invoke"), at.at("invoke"))),
        data=_read_data(body.get("data"), at.at("data")),
        donedata=None if body.get("donedata") is None else
        read_record(DoneData, body["donedata"], at.at("donedata"), "donedata"),
        initial_actions=read_actions(body.get("initial_actions"), at.at("initial_actions")),
        history=history,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        stuck_after=_read_stuck_after(body.get("stuck_after"), kind, at.at("stuck_after")),
    )
    problem = shape_problem(state)
    if problem is not None:
        raise at.error(problem)
    return state


def _read_transitions(body: dict[str, Any], is_history: bool, at: At) -> tuple[Transition, ...]:
    """Collect a state's transitions in the builder's order: listed, ``on``, ``always``."""
    out: list[Transition] = []
    for item, where in _items(body.get("transitions"), at.at("transitions")):
        spec = mapping(item, where, ("event", *TRANSITION_KEYS), "a transition")
        event = spec.pop("event", None)
        if event is not None:
            _check_event(event, where.at("event"))
        out.append(_read_transition(spec, event, where))
    on = mapping(_get(body, "on", {}), at.at("on"), None, "on (a mapping from event to target)")
    for event, spec in on.items():
        _check_event(event, at.at("on"))
        out.extend(_read_specs(spec, event, at.at("on").at(event)))
    if "default" in body:
        if not is_history:
            raise at.error("'default' is only for history states (did you mean 'always'?)")
        if "always" in body:
            raise at.error("give either 'always' or 'default', not both")
    key = "default" if "default" in body else "always"
    if body.get(key) is not None:
        out.extend(_read_specs(body[key], None, at.at(key)))
    return tuple(out)


def _read_specs(value: Any, event: str | None, at: At) -> list[Transition]:
    """Read what an ``on`` key maps to: a target, a transition mapping, or a list of them."""
    if isinstance(value, (list, tuple)):
        out: list[Transition] = []
        for i, item in enumerate(value):
            if isinstance(item, (list, tuple)):
                raise at.at(i).error("a list of transitions cannot hold another list")
            out.extend(_read_specs(item, event, at.at(i)))
        return out
    if value is None or isinstance(value, str):
        return [Transition(value, event)]
    return [_read_transition(mapping(value, at, TRANSITION_KEYS, "a transition"), event, at)]


def _read_transition(spec: dict[str, Any], event: str | None, at: At) -> Transition:
    target = spec.get("target")
    return Transition(
        None if target is None else read_ids(target, at.at("target")),
        event,
        cond=_opt_str(spec, "cond", at),
        actions=read_actions(spec.get("actions"), at.at("actions")),
        type=_choice(spec, "type", ("external", "internal"), at) or "external",  # type: ignore[arg-type]
        late=_choice(spec, "late", ("fire_late", "skip"), at),  # type: ignore[arg-type]
        work=None if spec.get("work") is None else _read_work(spec["work"], at.at("work")),
    )


def _read_work(value: Any, at: At) -> Effect:
    """``work:`` holds what an ``effect:`` action holds: a name, or the effect's mapping."""
    action = read_action({"effect": value}, at)
    assert isinstance(action, Effect)
    return action


def _read_data(value: Any, at: At) -> tuple[DataItem, ...]:
    """Read data: a mapping of literal values, or a list of items with ``expr``/``src``."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(DataItem(key, value=json_value(item, at.at(key)))
                     for key, item in mapping(value, at, None, "data").items())
    if isinstance(value, (list, tuple)):
        return tuple(read_record(DataItem, item, where, "a data item")
                     for item, where in _items(value, at))
    raise at.error(f"expected data (a mapping of values, or a list of items), "
                   f"got {type_name(value)}")


def _items(value: Any, at: At) -> list[tuple[Any, At]]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise at.error(f"expected a list, got {type_name(value)}")
    return [(item, at.at(i)) for i, item in enumerate(value)]


def _check_event(event: Any, at: At) -> None:
    if not isinstance(event, str) or not event.strip():
        raise at.error(f"an event name must be a non-empty string, got {event!r}; "
                       "use 'always' for eventless transitions")


def _read_after(value: Any, at: At) -> dict[Any, tuple[Transition, ...]]:
    """Read ``after``: delays (``"5m"``, or seconds as a number in YAML) to transitions."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise at.error(f"expected after (a mapping from delay to target), got {type_name(value)}")
    out: dict[Any, tuple[Transition, ...]] = {}
    for key, spec in value.items():
        if isinstance(key, bool) or not isinstance(key, (str, int, float)):
            raise at.error(f"a delay must be text such as '5m' or a number, got {key!r}")
        try:
            parse_duration(key)
        except ValueError as exc:
            raise at.error(str(exc)) from None
        out[key] = tuple(_read_specs(spec, None, at.at(str(key))))
    return out


def _get(body: dict[str, Any], key: str, default: Any) -> Any:
    # In YAML, ``on:`` with nothing after it is null; read it as empty.
    value = body.get(key)
    return default if value is None else value


def _opt_str(body: dict[str, Any], key: str, at: At) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise at.at(key).error(f"expected a string, got {type_name(value)}")
    return value


def _read_stuck_after(value: Any, kind: str | None, at: At) -> Any:
    """A state's ``stuck_after`` as written (``"2h"`` or seconds), refused where it is."""
    if value is not None:
        try:
            check_stuck_after(value, kind, "")
        except ChartError as exc:
            raise at.error(exc.reason) from None
    return value


def _opt_ids(body: dict[str, Any], key: str, at: At) -> tuple[str, ...] | None:
    value = body.get(key)
    return None if value is None else read_ids(value, at.at(key))


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...], at: At) -> str | None:
    value = body.get(key)
    if value is not None and value not in choices:
        raise at.at(key).error(f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
    return value

