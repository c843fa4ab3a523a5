"""The working state of one step and SCXML's main loop (macrostep, microstep, selection)."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Any

from ._content import Content
from ._sets import SetAlgorithms
from .commands import (
    Command,
    ForwardEvent,
    Microstep,
)
from .compile import CompiledChart
from .datamodel import EvalContext
from .errors import ExecutionError
from .events import Event
from .nodes import FINAL, PARALLEL, ROOT_ID, Node, TransitionNode
from .result import Status, StepResult
from .snapshot import Snapshot

__all__ = ["MAX_MICROSTEPS", "Run"]

#: A macrostep that takes more microsteps than this is a livelock (SEM-6).
MAX_MICROSTEPS = 10_000


class Run(Content, SetAlgorithms):
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
        self.ctx.active_ids = lambda: {n.id for n in self.config}
        self.origin = f"#_scxml_{session}"

    # ------------------------------------------------------------------ results

    def result(self, status: Status, event: Event | None) -> StepResult:
        snapshot = Snapshot(
            chart=self.chart.name,
            version=self.chart.version,
            hash=self.chart.hash,
            session=self.session,
            configuration=tuple(n.id for n in sorted(self.config)),
            data=self.ctx.data,
            history=self.history,
            timers=self.timers,
            invokes=self.invokes,
            done=self.done,
            done_data=self.done_data,
            counter=self.counter,
            parent=self.parent,
        )
        return StepResult(snapshot, tuple(self.commands), tuple(self.microsteps), status, event,
                          static=not self.dynamic)

    # ------------------------------------------------------------------ main loop

    def macrostep(self) -> None:
        """Take eventless transitions and internal events until the configuration is stable."""
        taken = 0
        while not self.done:
            enabled = self.select_transitions(None)
            if not enabled:
                if not self.internal:
                    self.start_invokes()
                    if not self.internal:
                        break
                    continue
                event = self.internal.popleft()
                self.ctx.event = event
                enabled = self.select_transitions(event)
                name: str | None = event.name
            else:
                name = None
            if enabled:
                taken += 1
                if taken > MAX_MICROSTEPS:
                    raise ExecutionError(
                        f"more than {MAX_MICROSTEPS} microsteps in one macrostep: the chart "
                        f"loops without waiting for an event (configuration "
                        f"{[n.id for n in sorted(self.config)]})"
                    )
                self.microstep(enabled, name)
        if self.done:
            self.exit_interpreter()

    def exit_interpreter(self) -> None:
        """Run the exit handlers of every state once a top-level final state is reached.

        SEM-5: the configuration is kept (not emptied) so the final state stays visible.
        SEM-20: its delayed sends still pending are cancelled (a runtime deletes their timers).
        """
        for node in sorted(self.config, reverse=True):
            for block in node.exit:
                self.execute_block(block)
            self.cancel_invokes(node)
        self.internal.clear()
        for sendid in list(self.timers):  # SEM-20: an exited interpreter sends nothing more
            self.cancel(sendid)

    def apply_invoke_rules(self, event: Event) -> bool:
        """Run ``<finalize>`` for the invocation that sent ``event``; autoforward to children."""
        handled = False
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

    def select_transitions(self, event: Event | None) -> list[TransitionNode]:
        """SCXML selectTransitions / selectEventlessTransitions."""
        enabled: list[TransitionNode] = []
        name = event.name if event is not None else None
        for atomic in sorted(n for n in self.config if n.is_atomic):
            for state in (atomic, *atomic.ancestors[:-1]):
                candidates = state.eventless if name is None else state.transitions_for(name)
                chosen = None
                for transition in candidates:
                    if transition.cond is None or self.check(transition):
                        chosen = transition
                        break
                if chosen is not None:
                    if chosen not in enabled:
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
            self.error_execution(exc)
            return False

    def remove_conflicting_transitions(self, enabled: list[TransitionNode]) -> list[TransitionNode]:
        """SCXML removeConflictingTransitions: keep the optimal, non-conflicting set."""
        filtered: list[TransitionNode] = []
        for t1 in enabled:
            preempted = False
            to_remove = []
            exit1 = self.compute_exit_set([t1])
            for t2 in filtered:
                if exit1 & self.compute_exit_set([t2]):
                    if t1.source in t2.source.descendants:
                        to_remove.append(t2)
                    else:
                        preempted = True
                        break
            if not preempted:
                for t2 in to_remove:
                    filtered.remove(t2)
                filtered.append(t1)
        return filtered

    # ------------------------------------------------------------------ microstep

    def microstep(self, enabled: list[TransitionNode], event: str | None) -> None:
        exited = self.exit_states(enabled)
        for transition in enabled:
            if transition.actions:
                self.execute_block(transition.actions)
        entered = self.enter_states(enabled)
        self.microsteps.append(Microstep(
            event,
            tuple((t.source.id, tuple(n.id for n in t.targets)) for t in enabled),
            tuple(n.id for n in exited),
            tuple(n.id for n in entered),
            tuple(n.id for n in sorted(self.config)),
        ))

    def exit_states(self, enabled: list[TransitionNode]) -> list[Node]:
        to_exit = sorted(self.compute_exit_set(enabled), reverse=True)
        self.states_to_invoke.difference_update(to_exit)
        for node in to_exit:
            for hist in node.history:
                if hist.history_kind == "deep":
                    recorded = [s for s in self.config if s.is_atomic and s in node.descendants]
                else:
                    recorded = [s for s in self.config if s.parent is node]
                self.history[hist.id] = tuple(s.id for s in sorted(recorded))
        for node in to_exit:
            for block in node.exit:
                self.execute_block(block)
            self.cancel_invokes(node)
            self.config.discard(node)
        return to_exit

    def enter_states(self, enabled: list[TransitionNode]) -> list[Node]:
        to_enter: set[Node] = set()
        for_default: set[Node] = set()
        history_content: dict[str, Any] = {}
        self.compute_entry_set(enabled, to_enter, for_default, history_content)
        entered = sorted(to_enter)
        late = self.chart.binding == "late"
        for node in entered:
            self.config.add(node)
            if node.invokes:
                self.states_to_invoke.add(node)
            if late and node.data_items:
                self.bind_data(node.data_items, skip=set(self.ctx.data))
            for block in node.entry:
                self.execute_block(block)
            if node in for_default and node.initial is not None and node.initial.actions:
                self.execute_block(node.initial.actions)
            if node.id in history_content:
                self.execute_block(history_content[node.id])
            if node.kind == FINAL:
                self.enter_final(node)
        return entered

    def enter_final(self, node: Node) -> None:
        parent = node.parent
        assert parent is not None
        if parent.id == ROOT_ID:
            self.done = True
            self.done_data = self.donedata(node)
            return
        self.internal.append(Event(f"done.state.{parent.id}", self.donedata(node), "platform"))
        grandparent = parent.parent
        if grandparent is not None and grandparent.kind == PARALLEL and all(
            self.is_in_final_state(child) for child in grandparent.children
        ):
            self.internal.append(Event(f"done.state.{grandparent.id}", None, "platform"))

    def donedata(self, node: Node) -> Any:
        if node.donedata is None:
            return None
        self.dynamic = True
        try:
            return node.donedata(self.ctx)
        except Exception as exc:  # noqa: BLE001 - SCXML: evaluation errors become events
            self.error_execution(exc)
            return None

    def is_in_final_state(self, node: Node) -> bool:
        if node.kind == PARALLEL:
            return all(self.is_in_final_state(c) for c in node.children)
        return any(c.kind == FINAL and c in self.config for c in node.children)

    # ------------------------------------------------------------------ set algorithms
