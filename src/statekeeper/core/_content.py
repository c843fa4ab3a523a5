"""Executable content and invocations as the step runs them.

Everything outward becomes a command (a timer, a send, an effect, an invoke); nothing here
performs I/O.  An error stops its block and raises ``error.execution`` (SCXML 5.10).
"""

from __future__ import annotations

import copy
from collections import deque
from operator import attrgetter
from typing import Any

from ._records import positional_constructor
from .commands import (
    CancelInvoke,
    CancelTimer,
    Command,
    LogEntry,
    RunEffect,
    SendEvent,
    StartInvoke,
    StartTimer,
)
from .compile import CompiledChart
from .datamodel import EvalContext
from .events import Event
from .execute import SCXML_PROCESSOR
from .nodes import Node

__all__ = ["Content", "SendFailed"]

_ORDER = attrgetter("order")
# A send with a delay builds its event and a StartTimer, leaving the state of an ``after`` a
# CancelTimer: one each per timer set or cancelled, every field given by name, without the
# frozen dataclasses' object.__setattr__ per field (core/_records.py)
_new_event = positional_constructor(Event)
_new_start_timer = positional_constructor(StartTimer)
_new_cancel_timer = positional_constructor(CancelTimer)


class SendFailed(ValueError):
    """A ``<send>`` could not be dispatched; its error event carries the send's id (W3C 332)."""

    def __init__(self, reason: str, sendid: str | None) -> None:
        super().__init__(reason)
        self.sendid = sendid



class Content:
    """Mixin of :class:`~statekeeper.core._run.Run`: actions, sends, invokes."""

    chart: CompiledChart
    config: set[Node]
    ctx: EvalContext
    internal: deque[Event]
    commands: list[Command]
    timers: dict[str, Any]
    invokes: dict[str, Any]
    counter: int
    session: str
    now: float
    parent: str | None
    states_to_invoke: set[Node]
    dynamic: bool
    # the active atomic states when first asked this microstep, last in document order first;
    # how far into it the states are gone; the last atomic state entered since
    latest: list[Node] | None
    latest_at: int
    latest_entered: Node | None

    @property
    def origin(self) -> str:
        """This session's own address (``_event.origin`` of what it sends)."""
        return f"#_scxml_{self.session}"

    def execute_block(self, block: Any) -> None:
        """Run one block; an error stops the block and raises ``error.execution``."""
        self.dynamic = True
        for action in block:
            try:
                action(self)
            except Exception as exc:  # noqa: BLE001 - SCXML 5.10: errors become events
                self.error_execution(exc, getattr(exc, "sendid", None))
                return

    def error_execution(self, exc: BaseException, sendid: str | None = None) -> None:
        self.dynamic = True
        self.internal.append(Event(
            "error.execution", {"error": f"{type(exc).__name__}: {exc}"}, "platform", sendid
        ))

    def bind_data(self, items: Any, skip: set[str]) -> None:
        for item in items:
            if item.id in skip:
                continue
            self.dynamic = True
            try:
                if item.expr is not None:
                    value = self.chart.datamodel.expr(item.expr, item.id)(self.ctx)
                else:
                    value = None if item.value.__class__.__name__ == "_Missing" else item.value
            except Exception as exc:  # noqa: BLE001 - SCXML 5.3: bad data raises an event
                self.ctx.data[item.id] = None
                self.ctx.view = None
                self.error_execution(exc)
                continue
            self.ctx.data[item.id] = copy.deepcopy(value)
            self.ctx.view = None  # the value may be a container: the view is made again

    def raise_event(self, name: str, data: Any = None) -> None:
        self.internal.append(Event(name, data, "internal"))

    def new_sendid(self) -> str:
        self.counter += 1
        return f"{self.session}.send.{self.counter}"

    def send(self, target: str | None, name: str, data: Any, delay: float, sendid: str,
             explicit: bool, late: str | None = None) -> None:
        """Route a ``<send>``: internal queue, own external queue, a timer, or a command.

        SEM-8: a target that is not ``#_...`` is invalid (``error.execution``, which stops the
        block); a well-formed one that cannot be reached is ``error.communication``.
        """
        event = _new_event(name=name, data=data, type="external",
                           sendid=sendid if explicit else None, origin=self.origin,
                           origintype=SCXML_PROCESSOR, invokeid=None, meta={})
        if target == "#_internal":
            self.internal.append(Event(name, data, "internal", event.sendid, self.origin,
                                       SCXML_PROCESSOR))
            return
        if target in (None, "", self.origin):
            target = None
        elif not target.startswith("#_"):
            raise SendFailed(f"{target!r} is not a target of the SCXML event I/O processor",
                             event.sendid)
        elif not self.reachable(target):
            self.internal.append(Event("error.communication", {"target": target}, "platform",
                                       event.sendid))
            return
        if delay > 0:
            due = self.now + delay
            self.timers[sendid] = {"due": due, "event": event.to_dict(), "target": target}
            if late is not None:
                self.timers[sendid]["late"] = late
            self.commands.append(_new_start_timer(timer_id=sendid, due=due, event=event,
                                                  target=target, late=late))
        else:
            self.commands.append(SendEvent(target, event))

    def reachable(self, target: str) -> bool:
        """Whether a ``#_...`` target names this session's parent or a running child."""
        if target == "#_parent":
            return self.parent is not None
        return not target.startswith("#_scxml_") and target[2:] in self.invokes

    def cancel(self, sendid: Any) -> None:
        if not isinstance(sendid, str):
            raise ValueError(f"cancel needs a send id, got {sendid!r}")
        if self.timers.pop(sendid, None) is not None:
            self.commands.append(_new_cancel_timer(timer_id=sendid))

    def log(self, label: str | None, value: Any) -> None:
        self.commands.append(LogEntry(label, value))

    def effect(self, name: str, args: Any) -> None:
        self.counter += 1
        latest = self.latest_atomic()
        state = latest.id if latest is not None else None
        self.commands.append(RunEffect(name, args, f"{self.session}:{self.counter}:{name}", state))

    def latest_atomic(self) -> Node | None:
        """The active atomic state last in document order (the state an effect names).

        A microstep exits states last first and then enters states first first, so the
        answer is the first of the atomic states active when first asked that is still
        active, or the last one entered since, whichever comes later: each effect costs
        (amortised) a constant, not a sort of the configuration.
        """
        config = self.config
        latest = self.latest
        if latest is None:
            latest = self.latest = sorted((n for n in config if n.is_atomic), key=_ORDER,
                                          reverse=True)
            self.latest_at = 0
        at = self.latest_at
        while at < len(latest) and latest[at] not in config:
            at += 1
        self.latest_at = at
        found = latest[at] if at < len(latest) else None
        entered = self.latest_entered
        if entered is not None and (found is None or entered.order > found.order):
            found = entered
        return found

    # ------------------------------------------------------------------ invoke

    def start_invokes(self) -> None:
        if not self.states_to_invoke:
            return
        for node in sorted(self.states_to_invoke):
            if node not in self.config:
                continue
            for index, invoke in enumerate(node.invokes):
                self.start_invoke(node, index, invoke)
        self.states_to_invoke.clear()

    def start_invoke(self, node: Node, index: int, invoke: dict[str, Any]) -> None:
        spec = invoke["spec"]
        ctx = self.ctx
        invokeid = spec.id
        try:
            if invokeid is None:
                self.counter += 1
                invokeid = f"{node.id}.{self.session}.{self.counter}"
                if invoke["id_setter"] is not None:
                    invoke["id_setter"](ctx, invokeid)
            kind = invoke["type"](ctx)
            src = invoke["src"](ctx)
            params = invoke["params"](ctx)
            content = invoke["content"](ctx) if invoke["content"] is not None else None
        except Exception as exc:  # noqa: BLE001 - SCXML 6.4: invoke errors become events
            self.error_execution(exc)
            return
        self.invokes[invokeid] = {"state": node.id, "index": index,
                                  "autoforward": bool(spec.autoforward)}
        self.commands.append(StartInvoke(invokeid, node.id, kind or "scxml", src, content,
                                         params, bool(spec.autoforward)))

    def cancel_invokes(self, node: Node) -> None:
        if not node.invokes:
            return
        for invokeid, info in list(self.invokes.items()):
            if info["state"] == node.id:
                del self.invokes[invokeid]
                self.commands.append(CancelInvoke(invokeid))

