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
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from ..core.compile import CompiledChart, compile_chart
from ..core.events import Event
from ..core.model import Chart
from ._chart_builder import GUARDED, STYLES, Builder, pick
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



@dataclass(frozen=True)
class GeneratedChart:
    """A generated chart with the guards and functions it needs.

    Attributes:
        chart: the definition.
        guards, functions: the bindings to pass to :func:`~statekeeper.compile_chart`.
        events: the external event names worth sending to it.
        has_timers: whether it can start timers (``after`` or a delayed ``Send``).
        payloads: whether its guards and assigns read event payloads (``{"x": int}``), so
            :func:`event_sequences` sends some events with one.

    """

    chart: Chart
    guards: Mapping[str, Callable[..., Any]] = field(default_factory=lambda: dict(GUARDS))
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=lambda: dict(FUNCTIONS))
    events: tuple[str, ...] = EXTERNAL_EVENTS
    has_timers: bool = False
    payloads: bool = False

    def compile(self) -> CompiledChart:
        """Compile the chart with its bindings (structure warnings off: random charts have them)."""
        return compile_chart(self.chart, guards=self.guards, functions=self.functions,
                             checks="ignore")


@st.composite
def charts(draw: st.DrawFn, *, max_depth: int = 3, max_states: int = 12,
           max_children: int = 3, payloads: bool = False,
           style: str | None = None) -> GeneratedChart:
    """Draw a random valid chart (see the module docstring) with its bindings.

    Args:
        draw: supplied by Hypothesis.
        max_depth: how deep states nest (top-level states are at depth 1).
        max_states: roughly how many states a chart has at most.
        max_children: how many children a compound or parallel state has at most; raise it
            (and ``max_states``) for wide charts, whose parallel states have many regions.
        payloads: also guard on the event's payload and assign from it.
        style: ``"guarded"`` for charts of guards (some failing now and then) and blocks of
            assigns only, whose events mostly run as flat programs; ``None`` (the default)
            draws one of the styles of the module docstring per chart.

    """
    if style not in (None, GUARDED.name):
        raise ValueError(f"style must be None or {GUARDED.name!r}, not {style!r}")
    if max_children < 2:
        raise ValueError(f"max_children must be at least 2 (a parallel state has two regions "
                         f"or more), not {max_children!r}")
    drawn = GUARDED if style is not None else pick(draw, STYLES)
    builder = Builder(draw, drawn, max_depth, max_states, max_children, payloads)
    top = [builder.build(c) for c in builder.root.children]
    initial = None
    if builder.style.extras and builder.chance(4):
        initial = builder.pick([s for s in builder.states if s.kind != "final"]).id
    chart = Chart("generated", states=top, initial=initial, data=copy.deepcopy(dict(INITIAL_DATA)))
    reacts = chart_events(chart)
    events = tuple(e for e in EXTERNAL_EVENTS
                   if any(e == r or e.startswith(f"{r}.") for r in reacts))
    return GeneratedChart(chart, events=events or EXTERNAL_EVENTS,
                          has_timers=has_timers(chart.children), payloads=payloads)


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
    named: st.SearchStrategy[Step] = st.sampled_from(likely)
    if isinstance(chart, GeneratedChart) and chart.payloads:
        with_payload = st.builds(lambda name, x: Event(name, {"x": x}), named, st.integers(0, 3))
        named = st.one_of(named, with_payload)
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
