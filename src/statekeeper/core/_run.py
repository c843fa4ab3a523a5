"""The working state of one step and SCXML's main loop (macrostep, microstep, selection)."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Any

from ._content import Content
from ._microstep import Microsteps
from ._plans import Key, Plan
from ._records import positional_constructor
from ._sets import LEAVES, ORDER, SetAlgorithms
from .commands import (
    Command,
    ForwardEvent,
    Microstep,
)
from .compile import CompiledChart
from .datamodel import EvalContext
from .errors import ExecutionError
from .events import Event
from .nodes import Node, TransitionNode
from .result import Status, StepResult
from .snapshot import Snapshot

__all__ = ["MAX_MICROSTEPS", "ActiveIds", "Run"]

#: A macrostep that takes more microsteps than this is a livelock (SEM-6).
MAX_MICROSTEPS = 10_000

_LEAVES = LEAVES

# every step returns these two records: built without the frozen dataclasses' __init__
_new_snapshot = positional_constructor(Snapshot)
_new_result = positional_constructor(StepResult)


class ActiveIds:
    """The ids of the active states, as ``In()`` asks for them: one lookup, not a set per call."""

    __slots__ = ("config", "nodes")

    def __init__(self, nodes: dict[str, Node], config: set[Node]) -> None:
        self.nodes: dict[Any, Node] = nodes
        self.config = config

    def __contains__(self, state_id: object) -> bool:
        node = self.nodes.get(state_id)  # an unhashable id raises, as a set would
        return node is not None and node in self.config

    def __call__(self) -> ActiveIds:
        """Itself: ``EvalContext.active_ids`` is a callable, made once per step this way."""
        return self


class Run(Microsteps, Content, SetAlgorithms):
    """The working state of one step; discarded when the step returns."""

    def __init__(
        self, chart: CompiledChart, session: str, now: float, data: dict[str, Any],
        history: dict[str, tuple[str, ...]], timers: dict[str, Any], invokes: dict[str, Any],
        counter: int, parent: str | None,
    ) -> None:
        self.chart = chart
        self.session = session
        self.now = now
        self.config: set[Node] = set()
        self.history = history
        self.timers = timers
        self.invokes = invokes
        self.counter = counter
        self.parent = parent
        self.internal: deque[Event] = deque()
        self.commands: list[Command] = []
        self.microsteps: list[Microstep] = []
        self.states_to_invoke: set[Node] = set()
        self.done = False
        self.done_data: Any = None
        self.dynamic = chart.has_history
        self.ctx = EvalContext(data, session, chart.name)
        self.ctx.active_ids = ActiveIds(chart.nodes, self.config)
        self.latest: list[Node] | None = None
        self.latest_at = 0
        self.latest_entered: Node | None = None
        self.sorted_ids: tuple[str, ...] | None = None  # of self.config, until it changes
        self.plans = chart.plans
        self.key: Key | None = None  # the configuration as the plans know it, while known
        self.failed_guard: tuple[TransitionNode, str] | None = None  # the last, for livelocks

    # ------------------------------------------------------------------ results

    def result(self, status: Status, event: Event | None) -> StepResult:
        chart = self.chart
        snapshot = _new_snapshot(chart.name, chart.version, chart.hash, self.session,
                                 self.configuration(), self.ctx.data, self.history, self.timers,
                                 self.invokes, self.done, self.done_data, self.counter,
                                 self.parent)
        return _new_result(snapshot, tuple(self.commands), tuple(self.microsteps), status, event,
                           not self.dynamic)

    def configuration(self) -> tuple[str, ...]:
        """The active states' ids in document order (sorted once per microstep)."""
        ids = self.sorted_ids
        if ids is None:
            ids = self.sorted_ids = tuple(n.id for n in sorted(self.config, key=ORDER))
        return ids

    # ------------------------------------------------------------------ main loop

    def macrostep(self) -> None:
        """Take eventless transitions and internal events until the configuration is stable."""
        taken = idle = 0
        eventless = bool(self.chart.index.eventless)
        while not self.done:
            enabled = self.select(None) if eventless else []
            if not enabled:
                if not self.internal:
                    self.start_invokes()
                    if not self.internal:
                        break
                    continue
                event = self.internal.popleft()
                self.ctx.event = event
                enabled = self.select(event)
                name: str | None = event.name
                if not enabled:
                    # SEM-6: an event that enables nothing is no microstep, but a guard that
                    # fails on every evaluation raises one such event per look, forever
                    idle += 1
                    if idle > MAX_MICROSTEPS:
                        raise self.livelock("internal events that enabled nothing")
            else:
                name = None
            if enabled:
                taken += 1
                if taken > MAX_MICROSTEPS:
                    raise self.livelock("microsteps")
                self.take(enabled, name)
        if self.done:
            self.exit_interpreter()

    def livelock(self, what: str) -> ExecutionError:
        """The error of a macrostep that does not settle: what it counted, and why if known."""
        why = ""
        if self.failed_guard is not None:
            transition, error = self.failed_guard
            why = (f"; the guard {transition.cond_text!r} of {transition!r} failed last "
                   f"({error}), and SCXML makes each failure a new error.execution event")
        configuration = [n.id for n in sorted(self.config, key=ORDER)]
        return ExecutionError(
            f"more than {MAX_MICROSTEPS} {what} in one macrostep: the chart loops without "
            f"waiting for an event (configuration {configuration}){why}")

    def exit_interpreter(self) -> None:
        """Run the exit handlers of every state once a top-level final state is reached.

        SEM-5: the configuration is kept (not emptied) so the final state stays visible.
        SEM-20: its delayed sends still pending are cancelled (a runtime deletes their timers).
        """
        for node in sorted(self.config, key=ORDER, reverse=True):
            for block in node.exit:
                self.execute_block(block)
            self.cancel_invokes(node)
        self.internal.clear()
        for sendid in list(self.timers):  # SEM-20: an exited interpreter sends nothing more
            self.cancel(sendid)

    def apply_invoke_rules(self, event: Event) -> bool:
        """Run ``<finalize>`` for the invocation that sent ``event``; autoforward to children."""
        handled = False
        if not self.invokes:
            return handled
        for invokeid, info in list(self.invokes.items()):
            node = self.chart.nodes[info["state"]]
            invoke = node.invokes[info["index"]]
            if event.invokeid == invokeid and invoke["finalize"]:
                self.execute_block(invoke["finalize"])
                handled = True
            if info.get("autoforward"):
                # SEM-9: the copy names no invocation; none of the child's own produced it.
                copy_ = replace(event, invokeid=None) if event.invokeid is not None else event
                self.commands.append(ForwardEvent(invokeid, copy_))
                self.dynamic = handled = True
        return handled

    # ------------------------------------------------------------------ selection

    def select(self, event: Event | None) -> Plan | list[TransitionNode]:
        """Select what ``event`` (``None``: eventless transitions) enables; falsy if nothing.

        With the chart's plans (:mod:`statekeeper.core._plans`) only guards run here and the
        result is the plan of the microstep; without them, or for a configuration too wide to
        plan, it is the enabled transitions as :meth:`select_transitions` finds them.
        """
        plans = self.plans
        if plans is None:
            return self.select_transitions(event)
        key = self.key
        if key is None:
            key = self.key = plans.key_of(self.config, len(self.config))
            if key is None:
                return self.select_transitions(event)
        chains = plans.chains(key, None if event is None else event.name)
        if not chains:
            return []
        enabled: list[TransitionNode] = []
        for chain in chains:
            for transition in chain:
                if transition.cond is None or self.check(transition):
                    if transition not in enabled:
                        enabled.append(transition)
                    break
        if not enabled:
            return []
        return plans.plan(key, tuple(enabled), self.history)

    def take(self, selected: Plan | list[TransitionNode], event: str | None) -> None:
        """Take the microstep :meth:`select` found."""
        if isinstance(selected, Plan):
            self.run_plan(selected, event)
        else:
            self.microstep(selected, event)

    def select_transitions(self, event: Event | None) -> list[TransitionNode]:
        """SCXML selectTransitions / selectEventlessTransitions.

        Only the states the chart's index says react to the event are looked at: an event
        no active state reacts to costs no walk of the configuration.
        """
        name = event.name if event is not None else None
        reacting = self.chart.index.eventless if name is None else \
            self.chart.index.reacting(name)
        config = self.config
        if reacting.isdisjoint(config):
            return []
        enabled: list[TransitionNode] = []
        seen: set[TransitionNode] = set()
        for atomic in sorted((n for n in config if n.kind in _LEAVES), key=ORDER):
            for state in atomic.lineage:
                if state not in reacting:
                    continue
                candidates = state.eventless if name is None else state.transitions_for(name)
                chosen = None
                for transition in candidates:
                    if transition.cond is None or self.check(transition):
                        chosen = transition
                        break
                if chosen is not None:
                    if chosen not in seen:
                        seen.add(chosen)
                        enabled.append(chosen)
                    break
        if len(enabled) > 1:
            return self.remove_conflicting_transitions(enabled)
        return enabled

    def check(self, transition: TransitionNode) -> bool:
        self.dynamic = True
        assert transition.cond is not None
        try:
            return bool(transition.cond(self.ctx))
        except Exception as exc:  # noqa: BLE001 - SCXML: a failing guard is false + error
            return self.guard_failed(transition, exc)

    def guard_failed(self, transition: TransitionNode, exc: Exception) -> bool:
        """SCXML: a guard that raises is false, and raises ``error.execution``."""
        self.failed_guard = (transition, f"{type(exc).__name__}: {exc}")
        self.error_execution(exc)
        return False

    # ------------------------------------------------------------------ set algorithms
