"""The step as the SCXML pseudo-code writes it, without the indexes: an oracle for wide charts.

``statekeeper.core`` precomputes transition domains, document-order spans and final children
and keeps sets where the recommendation's pseudo-code
(https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation) walks lists, so a step costs
time linear in the states it touches.  :class:`NaiveRun` overrides every method those indexes
changed with the literal algorithm (the step as it was before them): quadratic on wide charts
but plainly the recommendation.  The property tests compare the two step by step.
"""

from __future__ import annotations

import copy
from typing import Any

from statekeeper.core._run import Run
from statekeeper.core.commands import Microstep, RunEffect
from statekeeper.core.compile import CompiledChart
from statekeeper.core.errors import MachineFinished
from statekeeper.core.events import Event, as_event
from statekeeper.core.nodes import FINAL, HISTORY, PARALLEL, ROOT_ID, Node, TransitionNode
from statekeeper.core.result import StepResult
from statekeeper.core.snapshot import Snapshot

__all__ = ["NaiveRun", "naive_initial_step", "naive_step"]


class NaiveRun(Run):
    """:class:`~statekeeper.core._run.Run` with the set algorithms of the pseudo-code."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.ctx.active_ids = lambda: {n.id for n in self.config}

    # ------------------------------------------------------------------ results

    def result(self, status: Any, event: Event | None) -> StepResult:
        done = super().result(status, event)
        assert done.snapshot.configuration == tuple(n.id for n in sorted(self.config))
        return done

    # ------------------------------------------------------------------ selection

    def select_transitions(self, event: Event | None) -> list[TransitionNode]:
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

    def remove_conflicting_transitions(self, enabled: list[TransitionNode]) -> list[TransitionNode]:
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
        for transition in enabled:
            for target in transition.targets:
                self.naive_descendants(target, to_enter, for_default, history_content)
            ancestor = self.get_transition_domain(transition)
            for target in self.get_effective_target_states(transition):
                self.naive_ancestors(target, ancestor, to_enter, for_default, history_content)
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
                self.naive_enter_final(node)
        return entered

    def naive_enter_final(self, node: Node) -> None:
        parent = node.parent
        assert parent is not None
        if parent.id == ROOT_ID:
            self.done = True
            self.done_data = self.donedata(node)
            return
        self.internal.append(Event(f"done.state.{parent.id}", self.donedata(node), "platform"))
        grandparent = parent.parent
        if grandparent is not None and grandparent.kind == PARALLEL and all(
            self.naive_in_final(child) for child in grandparent.children
        ):
            self.internal.append(Event(f"done.state.{grandparent.id}", None, "platform"))

    def naive_in_final(self, node: Node) -> bool:
        if node.kind == PARALLEL:
            return all(self.naive_in_final(c) for c in node.children)
        return any(c.kind == FINAL and c in self.config for c in node.children)

    def effect(self, name: str, args: Any) -> None:
        self.counter += 1
        state = next((n.id for n in sorted(self.config, reverse=True) if n.is_atomic), None)
        self.commands.append(RunEffect(name, args, f"{self.session}:{self.counter}:{name}", state))

    # ------------------------------------------------------------------ set algorithms

    def compute_exit_set(self, transitions: list[TransitionNode]) -> set[Node]:
        states: set[Node] = set()
        for transition in transitions:
            if transition.targets:
                domain = self.get_transition_domain(transition)
                if domain is not None:
                    states.update(s for s in self.config if s in domain.descendants)
        return states

    def naive_descendants(self, state: Node, to_enter: set[Node], for_default: set[Node],
                          history_content: dict[str, Any]) -> None:
        if state.kind == HISTORY:
            self.dynamic = True
            parent = state.parent
            assert parent is not None and state.initial is not None
            if state.id in self.history:
                targets = [self.chart.nodes[s] for s in self.history[state.id]]
            else:
                targets = list(state.initial.targets)
                if state.initial.actions:
                    history_content[parent.id] = state.initial.actions
            for target in targets:
                self.naive_descendants(target, to_enter, for_default, history_content)
            for target in targets:
                self.naive_ancestors(target, parent, to_enter, for_default, history_content)
            return
        to_enter.add(state)
        if state.kind == PARALLEL:
            for child in state.children:
                if not any(s in child.descendants or s is child for s in to_enter):
                    self.naive_descendants(child, to_enter, for_default, history_content)
        elif state.children:
            for_default.add(state)
            assert state.initial is not None
            for target in state.initial.targets:
                self.naive_descendants(target, to_enter, for_default, history_content)
            for target in state.initial.targets:
                self.naive_ancestors(target, state, to_enter, for_default, history_content)

    def naive_ancestors(self, state: Node, ancestor: Node | None, to_enter: set[Node],
                        for_default: set[Node], history_content: dict[str, Any]) -> None:
        for anc in state.ancestors:
            if anc is ancestor or anc.parent is None:
                break
            to_enter.add(anc)
            if anc.kind == PARALLEL:
                for child in anc.children:
                    if not any(s in child.descendants or s is child for s in to_enter):
                        self.naive_descendants(child, to_enter, for_default, history_content)

    def get_transition_domain(self, transition: TransitionNode) -> Node | None:
        targets = self.get_effective_target_states(transition)
        source = transition.source
        if not targets:
            return None
        if source.parent is None:
            return source
        if (
            transition.internal
            and source.children
            and source.kind != PARALLEL
            and all(t in source.descendants for t in targets)
        ):
            return source
        for anc in source.ancestors:
            if anc.kind == PARALLEL:
                continue
            if all(s in anc.descendants for s in targets):
                return anc
        raise AssertionError("the root is an ancestor of every state")

    def get_effective_target_states(self, transition: TransitionNode) -> list[Node]:
        targets: list[Node] = []
        for state in transition.targets:
            if state.kind == HISTORY:
                if state.id in self.history:
                    found = [self.chart.nodes[s] for s in self.history[state.id]]
                else:
                    assert state.initial is not None
                    found = self.get_effective_target_states(state.initial)
                targets.extend(s for s in found if s not in targets)
            elif state not in targets:
                targets.append(state)
        return targets


def naive_initial_step(chart: CompiledChart, *, now: float = 0.0,
                       data: dict[str, Any] | None = None, session: str = "") -> StepResult:
    """:func:`statekeeper.initial_step` over :class:`NaiveRun`."""
    run = NaiveRun(chart, session, now, {}, {}, {}, {}, 0, None)
    items = chart.data_items if chart.binding == "early" else [
        (n, i) for n, i in chart.data_items if n is chart.root
    ]
    run.bind_data([i for _, i in items], skip=set(data or ()))
    if data:
        run.ctx.data.update(data)
    if chart.script is not None:
        script = chart.script
        run.execute_block((lambda r: script(r.ctx),))
    assert chart.root.initial is not None
    run.microstep([chart.root.initial], None)
    run.macrostep()
    return run.result("applied", None)


def naive_step(chart: CompiledChart, snapshot: Snapshot, event: Event | str, *,
               now: float = 0.0, timer: str | None = None) -> StepResult:
    """:func:`statekeeper.step` over :class:`NaiveRun`."""
    snapshot.check(chart)
    ev = as_event(event, None)
    if snapshot.done:
        raise MachineFinished(ev.name, snapshot.configuration)
    data = copy.deepcopy(snapshot.data) if chart.datamodel.name == "python" else dict(snapshot.data)
    run = NaiveRun(
        chart, snapshot.session, now, data, dict(snapshot.history), dict(snapshot.timers),
        dict(snapshot.invokes), snapshot.counter, snapshot.parent,
    )
    run.config.update(chart.nodes[s] for s in snapshot.configuration)
    fired = timer if timer is not None else ev.sendid
    if fired is not None and fired in run.timers:
        del run.timers[fired]
        run.dynamic = True
    run.ctx.event = ev
    handled = run.apply_invoke_rules(ev)
    enabled = run.select_transitions(ev)
    if enabled:
        run.microstep(enabled, ev.name)
    elif not run.internal and not handled:
        ignorable = any(n.ignores(ev.name) for s in run.config for n in (s, *s.ancestors))
        run.ctx.data = snapshot.data
        return run.result("ignored" if ignorable else "rejected", ev)
    run.macrostep()
    return run.result("applied", ev)
