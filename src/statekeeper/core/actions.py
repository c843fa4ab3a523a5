"""Executable content as data.

Actions are frozen dataclasses.  Those that only compute (assign, raise, send, cancel, log,
if/foreach, user functions over data) run inside the pure step.  :class:`Effect` is different:
the step never runs it; it is returned as a command for the runtime to run after the commit.

Strings named ``expr``/``cond``/``array`` are *expressions*: their meaning depends on the
chart's datamodel.  Under the default ``"functions"`` datamodel an expression is the **name**
of a callable bound when the chart is compiled (``guards=``, ``functions=``); statekeeper never
evaluates Python source unless a chart was loaded with an explicit trust flag (SCXML
``datamodel="python"``).  Literal values go in ``value=`` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from ._shapes import action_tuple, shown
from .durations import Duration
from .errors import ChartError

__all__ = [
    "LATE_POLICIES",
    "MISSING",
    "Action",
    "Assign",
    "Call",
    "Cancel",
    "Content",
    "Effect",
    "Foreach",
    "If",
    "LatePolicy",
    "Log",
    "Param",
    "Raise",
    "Script",
    "Send",
]


class _Missing:
    """Sentinel type for "no literal value given" (``None`` is a valid literal)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


#: What a durable runtime does with a timer it finds overdue (after downtime): deliver it now,
#: or drop it (the lateness is logged either way).
LatePolicy: TypeAlias = Literal["fire_late", "skip"]
#: The stated policies (``None``, stating none, leaves the choice to the durable worker).
LATE_POLICIES = ("fire_late", "skip")


@dataclass(frozen=True, slots=True)
class Param:
    """A named value passed with a send, invoke or donedata.

    Exactly one of ``expr`` (an expression), ``location`` (a data location read as is) or
    ``value`` (a literal) is given.
    """

    name: str
    expr: str | None = None
    location: str | None = None
    value: Any = MISSING


@dataclass(frozen=True, slots=True)
class Content:
    """The body of a send, invoke or donedata: an expression or a literal value."""

    expr: str | None = None
    value: Any = MISSING


@dataclass(frozen=True, slots=True)
class Assign:
    """Set ``location`` in the data to an expression's value or a literal."""

    location: str
    expr: str | None = None
    value: Any = MISSING


@dataclass(frozen=True, slots=True)
class Raise:
    """Put an event on the internal queue (processed before any external event)."""

    event: str


@dataclass(frozen=True, slots=True)
class Send:
    """Send an event to this instance (optionally delayed), another target, or a child.

    With no target the event goes to this instance's external queue; with a delay it becomes a
    timer that the runtime keeps (durably, in the durable runtime).  ``id`` names the send so a
    :class:`Cancel` can withdraw it before it fires.
    """

    event: str | None = None
    eventexpr: str | None = None
    target: str | None = None
    targetexpr: str | None = None
    type: str | None = None
    typeexpr: str | None = None
    id: str | None = None
    idlocation: str | None = None
    delay: Duration | None = None
    delayexpr: str | None = None
    namelist: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    content: Content | None = None
    data: Any = MISSING
    #: what a durable runtime does with this delayed send when it finds it overdue after
    #: downtime: ``"fire_late"`` (deliver it now) or ``"skip"`` (drop it, logging the
    #: lateness); ``None`` states neither, and the worker's ``late_policy`` decides
    late: LatePolicy | None = field(default=None, metadata={"hash": "omit_default",
                                                           "hash_as_default": ("fire_late",)})


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel a delayed send that has not fired yet, by its id."""

    sendid: str | None = None
    sendidexpr: str | None = None


@dataclass(frozen=True, slots=True)
class Log:
    """Record a log line in the step result (never printed by the core)."""

    label: str | None = None
    expr: str | None = None
    value: Any = MISSING


@dataclass(frozen=True, slots=True)
class If:
    """Run the first branch whose condition holds; a ``None`` condition is the ``else``."""

    branches: tuple[tuple[str | None, tuple[Action, ...]], ...]

    def __post_init__(self) -> None:
        branches = []
        for branch in self.branches:
            if not isinstance(branch, (list, tuple)) or len(branch) != 2:
                raise ChartError(f"an If branch is a pair (cond, actions), with cond None for "
                                 f"the else branch; not {shown(branch)}")
            branches.append((branch[0], action_tuple(branch[1])))
        object.__setattr__(self, "branches", tuple(branches))


@dataclass(frozen=True, slots=True)
class Foreach:
    """Run ``actions`` once per item of the iterable that ``array`` evaluates to."""

    array: str
    item: str
    index: str | None = None
    actions: tuple[Action, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", action_tuple(self.actions))


@dataclass(frozen=True, slots=True)
class Script:
    """Python source run by a trusted ``python`` datamodel (SCXML ``<script>``)."""

    source: str


@dataclass(frozen=True, slots=True)
class Call:
    """Call a user function ``fn(data, event)`` bound by name; a returned mapping is the new data.

    The function must compute only: it runs inside the pure step.  Use :class:`Effect` for I/O.
    """

    fn: str


@dataclass(frozen=True, slots=True)
class Effect:
    """Work that touches the world, run by the runtime after the step is committed.

    The step returns it as a ``RunEffect`` command with an idempotency key derived from the
    instance and step, so a retried effect can be deduplicated by the service it calls.  The
    outcome comes back as ``done.effect.<name>`` or ``error.effect.<name>``.

    The policy fields are data the durable runtime applies when it runs the effect (the step
    never looks at them): ``retry`` (a :class:`statekeeper.resilience.Retry` or its mapping
    form), ``timeout`` per attempt, ``breaker`` (the name of a circuit breaker shared by every
    instance and worker), ``bulkhead`` (at most this many running at once), ``rate``
    (``"10/s"``) and ``deadline`` (the overall budget of all attempts, from when the effect was
    committed: a retry whose wait would pass it gives up).  An effect name has one policy
    per chart.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    argsexpr: str | None = None
    retry: Any = None
    timeout: Duration | None = None
    breaker: str | None = None
    bulkhead: int | None = None
    rate: str | float | None = None
    deadline: Duration | None = field(default=None, metadata={"hash": "omit_default"})


Action = Assign | Raise | Send | Cancel | Log | If | Foreach | Script | Call | Effect
