"""Hypothesis strategies: random valid statecharts and event sequences to run them with.

This module needs the optional ``hypothesis`` package (``pip install 'statekeeper[dev]'``);
nothing else in statekeeper imports it.

:func:`charts` draws a :class:`GeneratedChart`: a :class:`~statekeeper.Chart` plus the guards
and functions it names, ready for :meth:`GeneratedChart.compile`.  The charts nest compound
and parallel states up to depth 3 and use final states, shallow and deep history (with
defaults), transitions with one or two targets (into parallel regions, across levels,
targetless), internal and external transitions, eventless transitions, guards, ``In()``,
``Assign``, ``Call``, ``Raise``, delayed and immediate ``Send``, ``Cancel``, ``after``,
``ignore`` and donedata.  Each chart is drawn in one of three styles: *plain* (structure
only, so every step is static and machines memoise it), *sparse* or *rich* behaviour.

Every generated chart terminates: each transition that can be taken without an external
event (eventless ones, and those triggered by raised, ``done.*`` or wildcard events) is
guarded by a *budget* (``data["k"] < BUDGET``) and increments ``k`` first, and only external
transitions reset ``k``.  Immediate sends and delayed sends without an id carry only the
budgeted ``r.*`` events; external events are sent only with one of two fixed ids, so at most
two such timers are pending.  So no macrostep runs forever and no timer multiplies itself.

Example:
    >>> from hypothesis import given, settings
    >>> from statekeeper import EventNotAccepted, Machine, MachineFinished, VirtualClock
    >>> from statekeeper.testing.strategies import Advance, charts, event_sequences
    >>> @settings(max_examples=10, database=None)
    ... @given(charts().flatmap(lambda g: event_sequences(g).map(lambda s: (g, s))))
    ... def test_a_machine_takes_any_sequence(case):
    ...     generated, sequence = case
    ...     clock = VirtualClock()
    ...     machine = Machine(generated.compile(), clock=clock)
    ...     for item in sequence:
    ...         if isinstance(item, Advance):
    ...             clock.advance(item.seconds)
    ...         else:
    ...             try:
    ...                 machine.send(item)
    ...             except (EventNotAccepted, MachineFinished):
    ...                 pass
    >>> test_a_machine_takes_any_sequence()

"""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from ..core.actions import Action, Assign, Call, Cancel, Param, Raise, Send
from ..core.compile import CompiledChart, compile_chart
from ..core.durations import Duration
from ..core.model import Chart, DoneData, State, Transition
from .reference import Advance, Step
from .vocabulary import (
    BUDGET,
    EXTERNAL_EVENTS,
    FUNCTIONS,
    GUARDS,
    INITIAL_DATA,
    RAISED_EVENTS,
    UNKNOWN_EVENT,
    chart_events,
    has_timers,
)

__all__ = [
    "BUDGET",
    "EXTERNAL_EVENTS",
    "FUNCTIONS",
    "GUARDS",
    "INITIAL_DATA",
    "RAISED_EVENTS",
    "UNKNOWN_EVENT",
    "Advance",
    "GeneratedChart",
    "Step",
    "chart_runs",
    "charts",
    "event_sequences",
    "suite_settings",
]

_BUDGET_GUARDS = ("budget", "budget_n_even", "budget_flag")
_EXTERNAL_GUARDS = ("n_even", "n_small", "flag", "!flag", "is_a")
_EXTERNAL_DESCRIPTORS = ("a", "a", "b", "b", "c", "e", "e.x", "e.*", "a b")
_SEND_IDS = ("t1", "t2")
_DELAYS: tuple[float | str, ...] = (1, 2.5, "2s", "1500ms")
_TRIGGERS = (*_EXTERNAL_DESCRIPTORS, None, None, "r.1", "r", "done", "*")

T = TypeVar("T")


def _pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of ``options`` (cheaper than building a ``sampled_from`` strategy per draw)."""
    return options[draw(st.integers(0, len(options) - 1))]




@dataclass(frozen=True)
class GeneratedChart:
    """A generated chart with the guards and functions it needs.

    Attributes:
        chart: the definition.
        guards, functions: the bindings to pass to :func:`~statekeeper.compile_chart`.
        events: the external event names worth sending to it.
        has_timers: whether it can start timers (``after`` or a delayed ``Send``).

    """

    chart: Chart
    guards: Mapping[str, Callable[..., Any]] = field(default_factory=lambda: dict(GUARDS))
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=lambda: dict(FUNCTIONS))
    events: tuple[str, ...] = EXTERNAL_EVENTS
    has_timers: bool = False

    def compile(self) -> CompiledChart:
        """Compile the chart with its bindings (structure warnings off: random charts have them)."""
        return compile_chart(self.chart, guards=self.guards, functions=self.functions,
                             checks="ignore")


# --------------------------------------------------------------------------- skeleton


@dataclass(frozen=True)
class _Style:
    """How much behaviour a chart gets besides its structure.

    Plain charts have none (no actions, guards, timers or history), so their steps are static
    and a machine memoises them; rich ones use every feature.  Drawing the style per chart
    gives both kinds of run.
    """

    name: str
    history: bool  # history pseudo-states
    blocks: tuple[int, ...]  # how many entry (and exit) blocks, picked from
    max_actions: int  # per transition
    guards: bool
    budgeted: bool  # eventless, raised-event, done.state and wildcard transitions
    after: int  # one chance in this many of an ``after`` (0: never)
    extras: bool  # donedata, initial overrides, history defaults


_STYLES = (
    _Style("plain", history=False, blocks=(0,), max_actions=0, guards=False, budgeted=False,
           after=0, extras=False),
    _Style("sparse", history=True, blocks=(0, 0, 0, 1), max_actions=1, guards=True,
           budgeted=True, after=8, extras=True),
    _Style("rich", history=True, blocks=(0, 0, 1, 1, 2), max_actions=2, guards=True,
           budgeted=True, after=4, extras=True),
)


@dataclass(eq=False)
class _Node:
    id: str
    kind: str  # atomic, compound, parallel, final, history
    parent: _Node | None
    history: str = "shallow"
    children: list[_Node] = field(default_factory=list)

    def walk(self) -> Iterator[_Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def descendants(self) -> list[_Node]:
        return [n for n in self.walk() if n is not self]


class _Builder:
    """Draws one chart: first its tree of states, then the behaviour of each state."""

    def __init__(self, draw: st.DrawFn, style: _Style, max_depth: int, max_states: int,
                 max_children: int = 3) -> None:
        self.draw = draw
        self.style = style
        self.max_depth = max_depth
        self.max_children = max_children
        self.room = max_states
        self.ids = itertools.count(1)
        self.root = _Node("(root)", "compound", None)
        self.grow(self.root, 0)
        self.everything = self.root.descendants()
        self.states = [n for n in self.everything if n.kind != "history"]
        self.containers = [n for n in self.states if n.kind in ("compound", "parallel")]
        self.regions = [[c for c in p.children if c.kind != "history"]
                        for p in self.states if p.kind == "parallel"]
        self.regions = [r for r in self.regions if len(r) >= 2]

    def pick(self, options: Sequence[T]) -> T:
        return _pick(self.draw, options)

    def chance(self, one_in: int) -> bool:
        return one_in > 0 and self.draw(st.integers(0, one_in - 1)) == 0

    def new_id(self, kind: str) -> str:
        return f"{ {'parallel': 'p', 'final': 'f', 'history': 'h'}.get(kind, 's') }{next(self.ids)}"

    # ------------------------------------------------------------------ structure

    def grow(self, node: _Node, depth: int) -> None:
        """Give ``node`` (a compound or parallel state, or the root at depth 0) its children."""
        parallel = node.kind == "parallel"
        count = self.draw(st.integers(1, self.max_children)) if self.room > 1 else 1
        if parallel and self.room > 1:
            count = max(count, 2)
        for index in range(count):
            kinds = ["atomic", "atomic"]
            if depth + 1 < self.max_depth and self.room > 3:
                kinds += ["compound", "compound", "parallel"]
            if not parallel and (depth > 0 or index > 0):
                kinds.append("final")
            kind = self.pick(kinds)
            child = _Node(self.new_id(kind), kind, node)
            node.children.append(child)
            self.room -= 1
            if kind in ("compound", "parallel"):
                self.grow(child, depth + 1)
        if self.style.history and depth > 0 and self.room > 0 and self.chance(2):
            node.children.append(_Node(self.new_id("history"), "history", node,
                                       history=self.pick(("shallow", "deep"))))
            self.room -= 1

    # ------------------------------------------------------------------ behaviour

    def actions(self, *, external: bool, max_size: int, min_size: int = 0) -> list[Action]:
        """A block of executable content; only ``external`` blocks may reset the budget."""
        draw = self.draw
        choices: list[Callable[[], Action]] = [
            lambda: Assign("n", value=draw(st.integers(0, 3))),
            lambda: Assign("flag", value=self.pick((False, True))),
            lambda: Assign("box.v", value=draw(st.integers(0, 2))),
            lambda: Assign("n", expr="double_n"),
            lambda: Call("bump"),
            lambda: Raise(self.pick(RAISED_EVENTS)),
            # External events only through the two fixed ids (at most two pending), anonymous
            # timers only for budgeted events: no timer can multiply itself.
            lambda: Send(event=self.pick(EXTERNAL_EVENTS), delay=self.pick(_DELAYS),
                         id=self.pick(_SEND_IDS)),
            lambda: Send(event=self.pick(RAISED_EVENTS), delay=self.pick(_DELAYS)),
            lambda: Send(event=self.pick(RAISED_EVENTS)),
            lambda: Cancel(sendid=self.pick(_SEND_IDS)),
        ]
        if external:
            choices.append(lambda: Assign("k", value=0))
        picks = draw(st.lists(st.integers(0, len(choices) - 1), min_size=min_size,
                              max_size=max_size))
        return [choices[i]() for i in picks]

    def blocks(self) -> list[list[Action]]:
        return [self.actions(external=False, min_size=1, max_size=2)
                for _ in range(self.pick(self.style.blocks))]

    def targets(self) -> tuple[str, ...]:
        """None, one or two targets; two always lie in different regions of one parallel."""
        shape = self.pick(("none", "one", "one", "one", "one", "two"))
        if shape == "none":
            return ()
        if shape == "two" and self.regions:
            region = self.pick(self.regions)
            first = self.draw(st.integers(0, len(region) - 1))
            second = self.draw(st.integers(0, len(region) - 2))
            second += second >= first
            return (self.pick(list(region[first].walk())).id,
                    self.pick(list(region[second].walk())).id)
        return (self.pick(self.everything).id,)

    def transition(self) -> Transition:
        style = self.style
        trigger = self.pick(_TRIGGERS if style.budgeted else _EXTERNAL_DESCRIPTORS)
        if trigger == "done":
            trigger = f"done.state.{self.pick(self.containers).id}" if self.containers else "a"
        budgeted = trigger is None or trigger in ("r.1", "r", "*") or trigger.startswith("done.")
        targets = self.targets()
        kind: Literal["external", "internal"] = self.pick(("external", "external", "internal"))
        cond: str | None = None
        if budgeted:
            cond = self.pick(_BUDGET_GUARDS)
            actions: list[Action] = [Call("tick"),
                                     *self.actions(external=False, max_size=style.max_actions)]
        else:
            mode = self.draw(st.integers(0, 3)) if style.guards else 0
            if mode == 2:
                cond = self.pick(_EXTERNAL_GUARDS)
            elif mode == 3:
                cond = f"In({self.pick(self.states).id})"
            actions = self.actions(external=True, max_size=style.max_actions)
        return Transition(targets or None, trigger, cond, tuple(actions), kind)

    def build(self, node: _Node) -> State:
        children = [self.build(c) for c in node.children]
        style = self.style
        if node.kind == "history":
            assert node.parent is not None
            default: tuple[Transition, ...] = ()
            if style.extras and self.chance(2):
                inside = [d for d in node.parent.descendants() if d.kind != "history"]
                actions = self.actions(external=False, max_size=1)
                default = (Transition(self.pick(inside).id, actions=tuple(actions)),)
            return State(kind="history", history="deep" if node.history == "deep" else "shallow",
                         transitions=default, id=node.id)
        entry, exit_ = self.blocks(), self.blocks()
        if node.kind == "final":
            donedata = None
            if style.extras and self.chance(4):
                donedata = DoneData(params=(Param("n", location="n"),))
            return State(kind="final", entry=entry, exit=exit_, donedata=donedata, id=node.id)
        transitions = tuple(self.transition() for _ in range(self.draw(st.integers(0, 3))))
        after: dict[Duration, Transition] = {}
        if self.chance(style.after):
            after[self.pick(_DELAYS)] = Transition(
                self.targets() or None,
                cond=self.pick((None, None, *_EXTERNAL_GUARDS)),
                actions=tuple(self.actions(external=True, max_size=1)),
            )
        initial: str | None = None
        if node.kind == "compound" and style.extras and self.chance(3):
            initial = self.pick([d for d in node.descendants() if d.kind != "history"]).id
        return State(states=children, initial=initial, transitions=transitions, entry=entry,
                     exit=exit_, after=after, ignore=self.pick(((), (), (), ("c",), ("e",))),
                     kind="parallel" if node.kind == "parallel" else None, id=node.id)


@st.composite
def charts(draw: st.DrawFn, *, max_depth: int = 3, max_states: int = 12,
           max_children: int = 3) -> GeneratedChart:
    """Draw a random valid chart (see the module docstring) with its bindings.

    Args:
        draw: supplied by Hypothesis.
        max_depth: how deep states nest (top-level states are at depth 1).
        max_states: roughly how many states a chart has at most.
        max_children: how many children a compound or parallel state has at most; raise it
            (and ``max_states``) for wide charts, whose parallel states have many regions.

    """
    if max_children < 2:
        raise ValueError(f"max_children must be at least 2 (a parallel state has two regions "
                         f"or more), not {max_children!r}")
    builder = _Builder(draw, _pick(draw, _STYLES), max_depth, max_states, max_children)
    top = [builder.build(c) for c in builder.root.children]
    initial = None
    if builder.style.extras and builder.chance(4):
        initial = builder.pick([s for s in builder.states if s.kind != "final"]).id
    chart = Chart("generated", states=top, initial=initial, data=copy.deepcopy(dict(INITIAL_DATA)))
    reacts = chart_events(chart)
    events = tuple(e for e in EXTERNAL_EVENTS
                   if any(e == r or e.startswith(f"{r}.") for r in reacts))
    return GeneratedChart(chart, events=events or EXTERNAL_EVENTS,
                          has_timers=has_timers(chart.children))


def event_sequences(chart: GeneratedChart | Chart, *, min_size: int = 3,
                    max_size: int = 25) -> st.SearchStrategy[list[Step]]:
    """Sequences of external events (and, for charts with timers, :class:`Advance` steps).

    Three events in four are ones the chart has transitions for; the rest are any external
    event, a raised event's name and an event nothing names.  For a plain
    :class:`~statekeeper.Chart` the events are read from its transitions' descriptors.
    """
    if isinstance(chart, GeneratedChart):
        likely = chart.events
        others: tuple[str, ...] = (*EXTERNAL_EVENTS, RAISED_EVENTS[0], UNKNOWN_EVENT)
        timers = chart.has_timers
    else:
        likely = chart_events(chart) or (UNKNOWN_EVENT,)
        others, timers = (UNKNOWN_EVENT,), True
    named = st.sampled_from(likely)
    branches: list[st.SearchStrategy[Step]] = [named, named, named, st.sampled_from(others)]
    if timers:
        branches += [st.sampled_from((0.5, 1.0, 2.0, 3.0)).map(Advance)] * 2
    return st.lists(st.one_of(branches), min_size=min(min_size, max_size), max_size=max_size)


def chart_runs(**options: Any) -> st.SearchStrategy[tuple[GeneratedChart, list[Step]]]:
    """A generated chart (``options`` as for :func:`charts`) and an event sequence for it."""
    return charts(**options).flatmap(lambda g: st.tuples(st.just(g), event_sequences(g)))


def suite_settings(max_examples: int | None = None) -> settings:
    """Hypothesis settings for a property suite that CI runs the same way every time.

    Derandomized, without an example database (no files written) and without deadlines
    (shared CI machines are slow at times).  ``STATEKEEPER_PROPERTY_EXAMPLES`` sets the number
    of examples (100 unless ``max_examples`` says otherwise), and
    ``STATEKEEPER_PROPERTY_RANDOM=1`` draws new ones: run both to hunt for new bugs.
    """
    count = os.environ.get("STATEKEEPER_PROPERTY_EXAMPLES", "")
    if count and not count.isdigit():
        raise ValueError(f"STATEKEEPER_PROPERTY_EXAMPLES must be a whole number, not {count!r}")
    return settings(
        max_examples=int(count) if count else (max_examples or 100),
        derandomize=os.environ.get("STATEKEEPER_PROPERTY_RANDOM") != "1",
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),  # no explain: no files
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
