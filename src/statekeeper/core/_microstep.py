"""SCXML's microstep: exiting, taking and entering, from a plan or computed whole.

A mixin of :class:`~statekeeper.core._run.Run` (its working state is declared here, made
there): :meth:`Microsteps.run_plan` takes a microstep :mod:`statekeeper.core._plans` worked
out once, :meth:`Microsteps.microstep` computes it as the recommendation's algorithm does.
Both do the same things in the same order.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ._plans import Key, Plan
from ._sets import LEAVES, ORDER, Entering, history_updates
from .commands import Command, Microstep
from .compile import CompiledChart
from .datamodel import EvalContext
from .events import Event
from .nodes import FINAL, PARALLEL, ROOT_ID, Node, TransitionNode

__all__ = ["Microsteps"]

_LEAVES = LEAVES


class Microsteps:
    """Mixin of :class:`~statekeeper.core._run.Run`: one microstep, planned or not."""

    chart: CompiledChart
    ctx: EvalContext
    config: set[Node]
    history: dict[str, tuple[str, ...]]
    internal: deque[Event]
    commands: list[Command]
    microsteps: list[Microstep]
    states_to_invoke: set[Node]
    dynamic: bool
    done: bool
    done_data: Any
    latest: list[Node] | None
    latest_entered: Node | None
    sorted_ids: tuple[str, ...] | None
    key: Key | None

    if TYPE_CHECKING:  # provided by the other mixins and Run (never defined here: the
        # mixin comes first in Run's bases, a body here would hide theirs)
        def execute_block(self, block: Any) -> None: ...
        def error_execution(self, exc: BaseException, sendid: str | None = None) -> None: ...
        def cancel_invokes(self, node: Node) -> None: ...
        def bind_data(self, items: Any, skip: set[str]) -> None: ...
        def configuration(self) -> tuple[str, ...]: ...
        def compute_exit_set(self, transitions: list[TransitionNode]) -> set[Node]: ...
        def compute_entry_set(self, transitions: list[TransitionNode],
                              entering: Entering) -> None: ...

    def run_plan(self, plan: Plan, event: str | None) -> None:
        """SCXML microstep from a plan: what :meth:`microstep` does, in the same order."""
        self.latest = self.latest_entered = self.sorted_ids = None
        if plan.dynamic:
            self.dynamic = True
        config = self.config
        if self.states_to_invoke:
            self.states_to_invoke.difference_update(plan.exited)
        for hist_id, ids in plan.history:
            self.history[hist_id] = ids
        # each block as execute_block runs it, inline: (almost) every event runs one or two
        for node, blocks, invokes in plan.exits:
            for block in blocks:
                self.dynamic = True
                for action in block:
                    try:
                        action(self)
                    except Exception as exc:  # noqa: BLE001 - SCXML 5.10: errors become events
                        self.error_execution(exc, getattr(exc, "sendid", None))
                        break
            if invokes:
                self.cancel_invokes(node)
            config.discard(node)
        for block in plan.actions:
            self.dynamic = True
            for action in block:
                try:
                    action(self)
                except Exception as exc:  # noqa: BLE001 - SCXML 5.10: errors become events
                    self.error_execution(exc, getattr(exc, "sendid", None))
                    break
        late = self.chart.binding == "late"
        finals: dict[Node, int] | None = None
        for node, blocks, leaf, invokes, final in plan.entries:
            config.add(node)
            if leaf:
                self.latest_entered = node
            if invokes:
                self.states_to_invoke.add(node)
            if late and node.data_items:
                self.bind_data(node.data_items, skip=set(self.ctx.data))
            for block in blocks:
                self.dynamic = True
                for action in block:
                    try:
                        action(self)
                    except Exception as exc:  # noqa: BLE001 - SCXML 5.10: errors become events
                        self.error_execution(exc, getattr(exc, "sendid", None))
                        break
            if final:
                if finals is None:
                    finals = {}
                self.enter_final(node, finals)
        self.sorted_ids = plan.ids
        self.key = plan.key
        self.microsteps.append(plan.records.get(event) or plan.record(event))

    def microstep(self, enabled: list[TransitionNode], event: str | None) -> None:
        self.latest = self.latest_entered = self.sorted_ids = self.key = None
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
            self.configuration(),
        ))

    def exit_states(self, enabled: list[TransitionNode]) -> list[Node]:
        to_exit = sorted(self.compute_exit_set(enabled), key=ORDER, reverse=True)
        self.states_to_invoke.difference_update(to_exit)
        if self.chart.has_history:
            self.record_history(to_exit)
        for node in to_exit:
            for block in node.exit:
                self.execute_block(block)
            self.cancel_invokes(node)
            self.config.discard(node)
        return to_exit

    def record_history(self, to_exit: list[Node]) -> None:
        """Record the history of every state exited that has one, before any is exited."""
        for hist_id, ids in history_updates(to_exit):
            self.history[hist_id] = ids

    def enter_states(self, enabled: list[TransitionNode]) -> list[Node]:
        entering = Entering()
        self.compute_entry_set(enabled, entering)
        for_default, history_content = entering.for_default, entering.history_content
        entered = sorted(entering.states, key=ORDER)
        late = self.chart.binding == "late"
        finals: dict[Node, int] = {}
        for node in entered:
            self.config.add(node)
            if node.kind in _LEAVES:
                self.latest_entered = node
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
                self.enter_final(node, finals)
        return entered

    def enter_final(self, node: Node, finals: dict[Node, int]) -> None:
        """Raise ``done.state`` for ``node``'s parent, and for a parallel grandparent now done.

        ``finals`` counts, per parallel state, its leading regions known to be in a final
        state during this microstep's entry (states are only added then, so a region found
        final stays final): each region is checked once per microstep, not once per final
        state entered.
        """
        parent = node.parent
        assert parent is not None
        if parent.id == ROOT_ID:
            self.done = True
            self.done_data = self.donedata(node)
            return
        self.internal.append(Event(f"done.state.{parent.id}", self.donedata(node), "platform"))
        grandparent = parent.parent
        if grandparent is not None and grandparent.kind == PARALLEL:
            regions = grandparent.children
            done = finals.get(grandparent, 0)
            while done < len(regions) and self.is_in_final_state(regions[done]):
                done += 1
            finals[grandparent] = done
            if done == len(regions):
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
        config = self.config
        return any(c in config for c in node.finals)
