"""How a machine carries out the commands a step returns: timers, routing, children, tasks.

Split from ``_base`` (stepping and views) because it is the part that touches the world: the
clock's callbacks, child machines and the parent.  The step itself never sees any of it.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from ..clock import Clock
from ..core.commands import (
    CancelInvoke,
    CancelTimer,
    Command,
    ForwardEvent,
    LogEntry,
    SendEvent,
    StartInvoke,
    StartTimer,
)
from ..core.events import Event
from ..core.snapshot import Snapshot
from ._env import _Env, _Extras, _system_clock

__all__ = ["CommandRunner"]

_log = logging.getLogger("statekeeper")


class CommandRunner:
    """The command half of a machine; :class:`~statekeeper.machine._base.BaseMachine` is the rest."""

    __slots__ = ("_env", "_rest", "_x")
    _env: _Env
    _rest: Snapshot | None
    _x: _Extras | None

    def _extras(self) -> _Extras:
        if self._x is None:
            self._x = _Extras()
        return self._x

    def _clock(self) -> Clock:
        if self._env.clock is None:
            self._env.clock = _system_clock()
        return self._env.clock

    def _command(self, command: Command) -> None:
        if isinstance(command, StartTimer):
            self._start_timer(command)
        elif isinstance(command, CancelTimer):
            handle = self._extras().handles.pop(command.timer_id, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(command, SendEvent):
            self._route(command.target, command.event)
        elif isinstance(command, LogEntry):
            if self._env.on_log is not None:
                self._env.on_log(command.label, command.value)
            else:
                _log.info("%s: %r", command.label or "log", command.value)
        elif isinstance(command, StartInvoke):
            self._start_invoke(command)
        elif isinstance(command, CancelInvoke):
            self._cancel_invoke(command.invokeid)
        elif isinstance(command, ForwardEvent):
            child = self._extras().children.get(command.invokeid)
            if child is not None:
                child._deliver(command.event)

    def _start_timer(self, command: StartTimer) -> None:
        def fire() -> None:
            x = self._x
            if x is not None and x.handles.pop(command.timer_id, None) is not None:
                event = command.event
                if command.target is None:  # the step drops it from the pending timers
                    event = replace(event, meta={"timer": command.timer_id})
                self._route(command.target, event)

        replaced = self._extras().handles.pop(command.timer_id, None)
        if replaced is not None:  # a send reusing a pending id replaces that timer
            replaced.cancel()
        handle = self._clock().call_at(command.due, fire)
        self._extras().handles[command.timer_id] = handle

    def _route(self, target: str | None, event: Event) -> None:
        x = self._extras()
        if target is None:
            self._deliver(event)
        elif target == "#_parent" and x.parent is not None:
            origin = Event(event.name, event.data, "external", event.sendid,
                           f"#_{x.invokeid}", event.origintype, x.invokeid)
            x.parent._deliver(origin)
        elif target.startswith("#_") and target[2:] in x.children:
            x.children[target[2:]]._deliver(event)
        else:
            self._deliver(Event("error.communication", {"target": target}, "platform",
                                event.sendid))

    def _start_invoke(self, command: StartInvoke) -> None:
        raise NotImplementedError

    def _start_task(self, command: StartInvoke) -> None:
        raise NotImplementedError

    def _cancel_invoke(self, invokeid: str) -> None:
        """Stop a child: it sends nothing more; what it sent before is processed (SEM-4)."""
        x = self._extras()
        child = x.children.pop(invokeid, None)
        if child is not None:
            child._shutdown()
        task = x.tasks.pop(invokeid, None)
        if task is not None:
            task.cancel()

    def _shutdown(self) -> None:
        """Stop timers, children and tasks: the invoking state was left."""
        x = self._x
        if x is None:
            return
        for handle in x.handles.values():
            handle.cancel()
        x.handles.clear()
        for invokeid in list(x.children) + list(x.tasks):
            self._cancel_invoke(invokeid)
        x.queue.clear()
        x.parent = None

    def _finished(self) -> None:
        x = self._x
        parent, invokeid = (x.parent, x.invokeid) if x is not None else (None, None)
        self._shutdown()
        if parent is not None and invokeid is not None:
            done_data = None if self._rest is None else self._rest.done_data
            parent._deliver(Event(f"done.invoke.{invokeid}", done_data, "external",
                                  None, f"#_{invokeid}", None, invokeid))

    def _deliver(self, event: Event) -> None:
        raise NotImplementedError
