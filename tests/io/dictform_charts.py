"""A Hypothesis strategy for charts that use every part of the dict form.

``statekeeper.testing.strategies`` draws charts that *run* well; this one draws charts that
are awkward to *write down*: state ids and event names that YAML reads as booleans, numbers
or null (``on``, ``yes``, ``1``, ``null``), ids Mermaid reserves (``end``, ``state``), dots and
dashes, every action kind with every field, blocks, data items, invokes with child charts,
and transitions in an order that cannot be grouped under ``on``.  Every drawn chart compiles
(with :data:`BINDINGS` bound to every name it uses).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from statekeeper import (
    Assign,
    Call,
    Cancel,
    Chart,
    Content,
    DataItem,
    DoneData,
    Effect,
    Foreach,
    If,
    Invoke,
    Log,
    Param,
    Raise,
    Script,
    Send,
    State,
    Transition,
)

ID_PREFIXES = ("S", "on", "yes", "no", "1", "true", "null", "end", "state", "a.b", "with-dash",
               "ünï", "Done", "[*]")
EVENTS = ("go", "stop", "e.x", "error.*", "*", "done.state.S", "go stop", "on", "yes", "1",
          "null")
GUARDS = ("ok", "ready", "!ok")
FUNCTIONS = ("f", "g", "items")
LOCATIONS = ("x", "box.v")
DELAYS = ("5m", "30s", "1h30m", "250ms", 10, 1.5)
#: a state's stuck threshold, in every spelling (a timedelta is written back as text)
STUCK_AFTER = (None, "2h", "90s", 600, 0.5, timedelta(hours=1, minutes=30))


def _stub(*args: Any) -> Any:
    return True


#: Bind these as both guards and functions to compile a drawn chart.
BINDINGS = dict.fromkeys(("ok", "ready", *FUNCTIONS), _stub)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)


class _Namer:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def name(self, prefix: str) -> str:
        candidate, n = prefix, 1
        while candidate in self.used:
            n += 1
            candidate = f"{prefix}{n}"
        self.used.add(candidate)
        return candidate


@st.composite
def _skeleton(draw: st.DrawFn, namer: _Namer, depth: int) -> dict[str, Any]:
    kinds = ["atomic", "final", "compound", "parallel"] if depth < 3 else ["atomic", "final"]
    node: dict[str, Any] = {"id": namer.name(draw(st.sampled_from(ID_PREFIXES))),
                            "kind": draw(st.sampled_from(kinds)), "children": []}
    if node["kind"] in ("compound", "parallel"):
        count = draw(st.integers(1, 3))
        node["children"] = [draw(_skeleton(namer, depth + 1)) for _ in range(count)]
        if draw(st.booleans()):
            node["children"].append({"id": namer.name("H"), "kind": "history", "children": [],
                                     "deep": draw(st.booleans())})
    return node


def _ids(nodes: list[dict[str, Any]], *, history: bool = True) -> list[str]:
    out = []
    for node in nodes:
        if history or node["kind"] != "history":
            out.append(node["id"])
        out.extend(_ids(node["children"], history=history))
    return out


@functools.cache
def _actions(python: bool, depth: int = 0) -> st.SearchStrategy[tuple[Any, ...]]:
    fn, loc, name = st.sampled_from(FUNCTIONS), st.sampled_from(LOCATIONS), st.text(min_size=1,
                                                                                     max_size=5)
    simple = [
        st.builds(Assign, loc, expr=st.none() | fn),
        st.builds(Assign, loc, value=json_values),
        st.builds(Raise, st.sampled_from(EVENTS)),
        st.builds(Send, event=st.sampled_from(EVENTS), delay=st.sampled_from((None, "1s", 2))),
        st.builds(Send, eventexpr=fn, target=st.none() | st.just("#_parent"),
                  id=st.none() | name, namelist=st.lists(loc, max_size=2).map(tuple),
                  params=st.lists(st.builds(Param, name, expr=st.none() | fn),
                                  max_size=2).map(tuple),
                  data=json_values),
        st.builds(Send, event=st.just("go"), content=st.builds(Content, value=json_values)),
        st.builds(Cancel, sendid=name) | st.builds(Cancel, sendidexpr=fn),
        st.builds(Log, label=st.none() | name, expr=st.none() | fn),
        st.builds(Log, value=json_values),
        st.builds(Call, fn),
        st.builds(Effect, name, args=st.dictionaries(name, json_values, max_size=2),
                  argsexpr=st.none() | fn),
    ]
    if python:
        simple.append(st.builds(Script, st.just("x = 1\n")))
    action = st.one_of(simple)
    if depth < 1:
        nested = _actions(python, depth + 1)
        action = action | st.builds(
            If, st.lists(st.tuples(st.sampled_from(GUARDS), nested), min_size=1, max_size=2)
            .flatmap(lambda bs: st.just((*bs, (None, ()))) | st.just(tuple(bs))),
        ) | st.builds(Foreach, fn, st.just("item"), st.none() | st.just("i"), nested)
    return st.lists(action, max_size=2 - depth).map(tuple)


def _transitions(targets: list[str], python: bool,
                 events: bool = True) -> st.SearchStrategy[list[Transition]]:
    transition = st.builds(
        Transition,
        st.none() | st.lists(st.sampled_from(targets), min_size=1, max_size=2).map(tuple),
        st.none() | st.sampled_from(EVENTS) if events else st.none(),
        cond=st.none() | st.sampled_from(GUARDS),
        actions=_actions(python),
        type=st.sampled_from(("external", "internal")),
    )
    return st.lists(transition, max_size=3)


@functools.cache
def _data(python: bool) -> st.SearchStrategy[Any]:
    items = st.lists(st.builds(DataItem, st.sampled_from(("x", "box", "y")),
                               expr=st.none() | st.sampled_from(FUNCTIONS),
                               src=st.none() | st.just("data.json")), max_size=2)
    return st.dictionaries(st.text(max_size=5), json_values, max_size=3) | items.map(tuple)


@st.composite
def _state(draw: st.DrawFn, node: dict[str, Any], moves: Any, python: bool) -> State:
    on_event, on_delay = moves
    children = tuple(draw(_state(child, moves, python)) for child in node["children"])
    kind = node["kind"]
    if kind == "history":
        inside = _ids([c for c in node.get("siblings", [])], history=False)
        default = draw(st.none() | st.sampled_from(inside)) if inside else None
        return State(id=node["id"], history="deep" if node["deep"] else "shallow",
                     transitions=(Transition(default),) if default else ())
    kwargs: dict[str, Any] = {
        "entry": draw(st.lists(_actions(python), max_size=2).map(tuple)),
        "exit": draw(st.lists(_actions(python), max_size=2).map(tuple)),
        "ignore": tuple(draw(st.lists(st.sampled_from(EVENTS), max_size=2))),
        "stuck_after": draw(st.sampled_from(STUCK_AFTER)),
    }
    if kind == "final":
        kwargs["donedata"] = draw(st.none() | st.builds(
            DoneData, st.lists(st.builds(Param, st.just("p"), value=json_values),
                               max_size=1).map(tuple),
            st.none() | st.builds(Content, expr=st.sampled_from(FUNCTIONS))))
    else:
        kwargs["transitions"] = tuple(draw(on_event))
        delays = draw(st.lists(st.sampled_from(DELAYS), max_size=2, unique=True))
        kwargs["after"] = {d: draw(on_delay) for d in delays}
        kwargs["invoke"] = tuple(draw(st.lists(st.builds(
            Invoke, type=st.sampled_from(("scxml", "task", None)), id=st.none() | st.just("i1"),
            content=st.none() | st.just(Content(value=Chart("child", states={"c": State()}))),
            autoforward=st.booleans(), finalize=_actions(python)), max_size=1)))
    if kind == "compound":
        real = [c.id for c in children if c.kind != "history"]
        kwargs["initial"] = draw(st.none() | st.sampled_from(real))
    if kind in ("compound", "parallel"):
        kwargs["data"] = draw(_data(python))
    return State(id=node["id"], states=children,
                 kind=kind if kind in ("parallel", "final") or draw(st.booleans()) else None,
                 **kwargs)


def _link_history(nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        for child in node["children"]:
            if child["kind"] == "history":
                child["siblings"] = [c for c in node["children"] if c is not child]
        _link_history(node["children"])


@st.composite
def charts(draw: st.DrawFn, python: bool = False) -> Chart:
    """Draw a valid chart that exercises every part of the dict form.

    ``python=True`` draws charts of the ``python`` datamodel with scripts: valid charts in
    Python, which the dict form refuses (it holds names, never code).
    """
    namer = _Namer()
    tops = [draw(_skeleton(namer, 1)) for _ in range(draw(st.integers(1, 3)))]
    _link_history(tops)
    targets = _ids(tops)
    moves = (_transitions(targets, python), _transitions(targets, python, events=False)
             .filter(bool))
    states = tuple(draw(_state(node, moves, python)) for node in tops)
    return Chart(
        draw(st.text(min_size=1, max_size=8)),
        states=states,
        initial=draw(st.none() | st.sampled_from([s.id for s in states])),
        version=draw(st.integers(0, 5) | st.text(min_size=1, max_size=4)),
        data=draw(_data(python)),
        datamodel="python" if python else "functions",
        binding=draw(st.sampled_from(("early", "late"))),
        script=draw(st.none() | st.just("y = 2\n")) if python else None,
        description=draw(st.none() | st.text(max_size=20)),
    )
