"""What a machine is given and what it keeps on the side: options, bindings, extras.

Split from :mod:`._base` so the stepping and routing there read on their own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from ..clock import Clock, SystemClock, TimerHandle
from ..core.commands import Microstep
from ..core.compile import CompiledChart
from ..core.events import Event
from ..core.limits import DEFAULT_LIMITS, Limits
from ..core.snapshot import Snapshot

if TYPE_CHECKING:
    from ._base import BaseMachine

__all__ = ["InvokeLoader", "Listener", "MachineOptions"]

Listener = Callable[[Microstep], None]
InvokeLoader = Callable[[Any, Any], CompiledChart]
_default_clock: SystemClock | None = None


def _system_clock() -> SystemClock:
    global _default_clock  # noqa: PLW0603 - one timer thread per process, made on first use
    if _default_clock is None:
        _default_clock = SystemClock()
    return _default_clock


class _Env:
    """Bindings shared by a machine and the children it invokes."""

    __slots__ = ("clock", "effects", "invoke_loader", "limits", "on_log", "tasks")

    def __init__(self, clock: Clock | None, effects: Mapping[str, Callable[..., Any]] | None,
                 tasks: Mapping[str, Callable[..., Any]] | None,
                 invoke_loader: InvokeLoader | None,
                 on_log: Callable[[str | None, Any], None] | None,
                 limits: Limits | None = None) -> None:
        self.clock = clock
        self.limits = DEFAULT_LIMITS if limits is None else limits
        self.effects = dict(effects or {})
        self.tasks = dict(tasks or {})
        self.invoke_loader = invoke_loader
        self.on_log = on_log


_DEFAULT_ENV = _Env(None, None, None, None, None)


class _Extras:
    """Per-machine state that most machines never need (so it is made on first use)."""

    __slots__ = ("busy", "children", "handles", "invokeid", "listeners", "parent", "queue",
                 "tasks", "waiters")

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.queue: deque[Event] = deque()
        self.handles: dict[str, TimerHandle] = {}
        self.children: dict[str, BaseMachine] = {}
        self.tasks: dict[str, Any] = {}
        self.waiters: list[Any] = []
        self.parent: BaseMachine | None = None
        self.invokeid: str | None = None
        self.busy = False


class MachineOptions(TypedDict, total=False):
    """Keyword options of :class:`Machine` and :class:`AsyncMachine`.

    Attributes:
        data: initial data (overrides the chart's declared data of the same names).
        session: the instance id (generated on first use when omitted).
        clock: where timers run; the process-wide :class:`SystemClock` by default.
        effects: callables ``fn(args, key=...)`` for the chart's effects, by name.
        tasks: callables for ``<invoke type="task">``, by name.
        invoke_loader: loads the chart of an ``<invoke type="scxml">`` from ``src``/content.
        listeners: called with every :class:`~statekeeper.Microstep`.
        on_log: receives ``(label, value)`` of every ``Log`` action.
        limits: bounds on the data and payloads callers give (``max_depth``,
            ``max_payload_bytes``); :data:`~statekeeper.core.limits.DEFAULT_LIMITS` by default.

    """

    data: Mapping[str, Any] | None
    session: str | None
    clock: Clock | None
    effects: Mapping[str, Callable[..., Any]] | None
    tasks: Mapping[str, Callable[..., Any]] | None
    invoke_loader: InvokeLoader | None
    listeners: Iterable[Listener]
    on_log: Callable[[str | None, Any], None] | None
    limits: Limits | None
    _snapshot: Snapshot | None
    _parent: tuple[BaseMachine, str] | None


