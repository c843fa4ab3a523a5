"""The chart definition: states, transitions and charts as frozen, plain data.

This module is the builder DSL *and* the model: Python code, the dict/JSON/YAML form and the
SCXML reader all produce these objects, which :func:`statekeeper.core.compile.compile_chart`
validates and indexes.  Nothing here runs user code.

Example:
    >>> from statekeeper import Chart, State, Final
    >>> light = Chart("light", initial="off", states={
    ...     "off": State(on={"flip": "on"}),
    ...     "on": State(on={"flip": "off", "break": "broken"}),
    ...     "broken": Final(),
    ... })
    >>> [s.id for s in light.states]
    ['off', 'on', 'broken']

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

from ._shapes import action_blocks, action_tuple, check_stuck_after, id_tuple, shown
from .actions import MISSING, Action, Content, Effect, LatePolicy, Param
from .durations import Duration
from .errors import ChartError

__all__ = [
    "SCXML_INVOKE_TYPES",
    "Chart",
    "DataItem",
    "DoneData",
    "Final",
    "History",
    "Invoke",
    "Parallel",
    "State",
    "StateKind",
    "Transition",
]

StateKind = Literal["atomic", "compound", "parallel", "final", "history"]
TargetSpec: TypeAlias = "str | Transition | Sequence[str | Transition] | None"


@dataclass(frozen=True, slots=True)
class Transition:
    """A transition: on ``event`` (descriptors, space separated), if ``cond``, go to ``target``.

    Args:
        target: one state id, several (entering parallel regions at once), or ``None`` for a
            targetless transition that only runs its actions.
        event: event descriptors such as ``"submit"``, ``"error.*"`` or ``"*"``; ``None`` makes
            the transition eventless (taken as soon as its condition holds).
        cond: a guard expression (under the default datamodel, the name of a bound guard).
        actions: executable content run between exiting and entering states.
        type: ``"external"`` (default) exits and re-enters the source when the target is
            inside it; ``"internal"`` does not.
        late: only under ``after``: what a durable runtime does with the timer when it finds
            it overdue after downtime, ``"fire_late"`` or ``"skip"``; ``None`` (the default)
            states neither, and the worker's ``late_policy`` decides.  A stated policy wins
            over the worker's.
        work: an :class:`~statekeeper.core.actions.Effect` whose success decides whether the
            transition happens (a *resilient transition*).  On the event, the instance stays
            in its source state and the work runs under its policy; on
            ``done.effect.<name>`` the target is entered and ``actions`` run with the result
            as the event data; when the work fails for good, nothing changes and the
            ``error.effect.<name>`` event in the log says why.

    """

    target: str | tuple[str, ...] | None = None
    event: str | None = None
    cond: str | None = None
    actions: Sequence[Action] = ()
    type: Literal["external", "internal"] = "external"
    late: LatePolicy | None = field(default=None, metadata={"hash": "omit_default",
                                                           "hash_as_default": ("fire_late",)})
    work: Effect | None = field(default=None, metadata={"hash": "omit_default"})

    def __post_init__(self) -> None:
        if self.work is not None and not isinstance(self.work, Effect):
            raise ChartError(f"work must be an Effect (the call that decides the transition), "
                             f"not {type(self.work).__name__}")
        target = () if self.target is None else id_tuple(self.target, "a transition target", None)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "actions", action_tuple(self.actions))
        if self.type not in ("external", "internal"):
            raise ChartError(f"transition type must be 'external' or 'internal', not {self.type!r}")

    @property
    def targets(self) -> tuple[str, ...]:
        """The target ids as a tuple (empty for a targetless transition)."""
        assert isinstance(self.target, tuple)
        return self.target


@dataclass(frozen=True, slots=True)
class DataItem:
    """One datamodel item: a literal ``value`` or an ``expr`` evaluated when it is bound."""

    id: str
    expr: str | None = None
    value: Any = MISSING
    src: str | None = None


@dataclass(frozen=True, slots=True)
class DoneData:
    """The payload of the ``done.state.<id>`` event raised when a final state is entered."""

    params: tuple[Param, ...] = ()
    content: Content | None = None


#: the ``type`` values of an invoke that starts a child statechart (SCXML 6.4)
SCXML_INVOKE_TYPES = frozenset({"scxml", "http://www.w3.org/TR/scxml/", "http://www.w3.org/TR/scxml"})


@dataclass(frozen=True, slots=True)
class Invoke:
    """Work bound to a state's lifetime: started on entry, cancelled when the state is left.

    ``type="scxml"`` runs a child chart: ``content=Content(value=...)`` holds a :class:`Chart`
    or SCXML text, or ``src`` names a file or a registered chart.  ``type="task"`` runs the
    bound async or sync callable named by ``src``; its return value arrives as
    ``done.invoke.<id>``.
    """

    type: str | None = "scxml"
    typeexpr: str | None = None
    src: str | None = None
    srcexpr: str | None = None
    id: str | None = None
    idlocation: str | None = None
    namelist: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    content: Content | None = None
    autoforward: bool = False
    finalize: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class State:
    """A state.  Its kind follows from its arguments unless given.

    Args:
        states: child states (a mapping from id to state, or a sequence of states with ids);
            a state with children is compound.
        initial: the child (or, for parallel descendants, children) entered by default;
            defaults to the first child.
        on: ``{event: target}``; a target may be a state id, a :class:`Transition` (for
            guards and actions) or a list of them, tried in order.
        always: eventless transitions, taken as soon as their guard holds.
        after: ``{delay: target}`` transitions taken when the state has been active that long;
            sugar for a delayed send that is cancelled when the state is left.
        transitions: transitions in document order, for readers that need full control.
        entry, exit: actions run on entering and leaving; a list of lists makes separate
            blocks (an error stops only its own block, as in SCXML).
        ignore: event descriptors that are harmless here: sending them does nothing and does
            not raise :class:`~statekeeper.EventNotAccepted`.
        invoke: work bound to this state's lifetime: an :class:`Invoke` or a list of them.
        data: datamodel items declared on this state (late binding initialises them on entry).
        donedata: the payload of ``done.state`` when this is a final state.
        initial_actions: actions of SCXML's ``<initial>`` transition.
        history: for history pseudo-states, ``"shallow"`` or ``"deep"``.
        kind: force the kind (``"parallel"``, ``"final"``, ``"history"``).
        id: the state's id; filled from the parent's mapping key when omitted.
        stuck_after: how long an instance may stay in this state before the stuck-instances
            gauge counts it (``"2h"``, seconds, a ``timedelta``).  Operational metadata, not
            structure: it is left out of the chart's hash, so tuning an alert needs no new
            version and every instance started before still loads.

    """

    states: Mapping[str, State] | Sequence[State] = ()
    initial: str | tuple[str, ...] | None = None
    on: Mapping[str, Any] = field(default_factory=dict)
    always: Any = None
    after: Mapping[Duration, Any] = field(default_factory=dict)
    transitions: tuple[Transition, ...] = ()
    entry: Any = ()
    exit: Any = ()
    ignore: tuple[str, ...] = ()
    invoke: Invoke | Sequence[Invoke] = ()
    data: Any = ()
    donedata: DoneData | None = None
    initial_actions: tuple[Action, ...] = ()
    history: Literal["shallow", "deep"] | None = None
    kind: StateKind | None = None
    id: str | None = None
    stuck_after: Duration | None = field(default=None, metadata={"hash": "omit"})

    def __post_init__(self) -> None:
        children = _children(self.states, self.id)
        object.__setattr__(self, "states", children)
        if self.initial is not None:
            object.__setattr__(self, "initial", id_tuple(self.initial, "initial", self.id))
        transitions = list(self.transitions)
        for event, spec in dict(self.on).items():
            if not isinstance(event, str):
                raise ChartError(f"an event in on= must be a string of event descriptors, not "
                                 f"{shown(event)}", self.id)
            transitions.extend(_transitions(spec, event, self.id))
        if self.always is not None:
            transitions.extend(_transitions(self.always, None, self.id))
        object.__setattr__(self, "transitions", tuple(transitions))
        object.__setattr__(self, "on", {})
        object.__setattr__(self, "always", None)
        object.__setattr__(self, "entry", action_blocks(self.entry))
        object.__setattr__(self, "exit", action_blocks(self.exit))
        ignore = id_tuple(self.ignore, "ignore", self.id, noun="event descriptor")
        object.__setattr__(self, "ignore", ignore)
        invoke = self.invoke  # one Invoke, like one action, need not be wrapped in a list
        object.__setattr__(self, "invoke", (invoke,) if isinstance(invoke, Invoke) else tuple(invoke))
        object.__setattr__(self, "data", _data_items(self.data, self.id))
        if self.donedata is not None and not isinstance(self.donedata, DoneData):
            raise ChartError(f"donedata must be DoneData(params=..., content=...), not "
                             f"{shown(self.donedata)}; a literal payload is "
                             f"DoneData(content=Content(value=...))", self.id)
        object.__setattr__(self, "initial_actions", action_tuple(self.initial_actions))
        after = {key: tuple(_transitions(spec, None, self.id)) for key, spec in self.after.items()}
        object.__setattr__(self, "after", after)
        if self.kind is None:
            kind: StateKind = "history" if self.history else ("compound" if children else "atomic")
            object.__setattr__(self, "kind", kind)
        if self.kind == "history" and self.history is None:
            object.__setattr__(self, "history", "shallow")
        if self.stuck_after is not None and self.id is not None:  # named: checked when keyed
            check_stuck_after(self.stuck_after, self.kind, self.id)

    @property
    def children(self) -> tuple[State, ...]:
        """The child states, in document order."""
        assert isinstance(self.states, tuple)
        return self.states

    @property
    def entry_blocks(self) -> tuple[tuple[Action, ...], ...]:
        return self.entry  # type: ignore[no-any-return]

    @property
    def exit_blocks(self) -> tuple[tuple[Action, ...], ...]:
        return self.exit  # type: ignore[no-any-return]

    @property
    def invokes(self) -> tuple[Invoke, ...]:
        """The invokes, in document order (one given alone is a tuple of one)."""
        return self.invoke  # type: ignore[return-value]

    @property
    def data_items(self) -> tuple[DataItem, ...]:
        return self.data  # type: ignore[no-any-return]

    @property
    def after_transitions(self) -> dict[Duration, tuple[Transition, ...]]:
        return self.after  # type: ignore[return-value]

    @property
    def initial_ids(self) -> tuple[str, ...] | None:
        return self.initial  # type: ignore[return-value]


def Parallel(states: Mapping[str, State] | Sequence[State] = (), **kwargs: Any) -> State:  # noqa: N802
    """A parallel state: every child region is active at once."""
    return State(states=states, kind="parallel", **kwargs)


def Final(**kwargs: Any) -> State:  # noqa: N802
    """A final state; entering it raises ``done.state.<parent>`` (with ``donedata``)."""
    return State(kind="final", **kwargs)


def History(  # noqa: N802
    type: Literal["shallow", "deep"] = "shallow",  # noqa: A002
    default: TargetSpec = None,
    **kwargs: Any,
) -> State:
    """A history pseudo-state: re-enters the configuration its parent had when last left.

    ``default`` is where to go when the parent was never left (defaults to its initial).
    """
    transitions = tuple(_transitions(default, None, kwargs.get("id"))) if default else ()
    return State(kind="history", history=type, transitions=transitions, **kwargs)


@dataclass(frozen=True, slots=True)
class Chart:
    """A statechart definition: plain data that compiles into a runnable chart.

    Args:
        name: the chart's name (instances are started by name in the durable runtime).
        states: the top-level states, a mapping from id to state or a sequence.
        initial: the initial top-level state(s); defaults to the first state.
        version: the chart version; a snapshot remembers it, and migrations map between them.
        data: initial data, a mapping of literals (or SCXML datamodel items).
        datamodel: ``"functions"`` (default: expressions are names of bound callables) or
            ``"python"`` (expressions are Python source; needs an explicit trust flag).
        binding: ``"early"`` binds every state's data at start; ``"late"`` on first entry.
        script: a top-level script run once at start (``python`` datamodel only).
        description: free text, shown in diagrams and the inspector.

    """

    name: str
    states: Mapping[str, State] | Sequence[State] = ()
    initial: str | tuple[str, ...] | None = None
    version: int | str = 1
    data: Any = ()
    datamodel: str = "functions"
    binding: Literal["early", "late"] = "early"
    script: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ChartError("a chart needs a non-empty string name")
        object.__setattr__(self, "states", _children(self.states, None))
        if self.initial is not None:
            object.__setattr__(self, "initial", id_tuple(self.initial, "initial", None))
        object.__setattr__(self, "data", _data_items(self.data, None))
        if self.binding not in ("early", "late"):
            raise ChartError(f"binding must be 'early' or 'late', not {self.binding!r}")

    @property
    def children(self) -> tuple[State, ...]:
        """The top-level states, in document order."""
        assert isinstance(self.states, tuple)
        return self.states

    @property
    def initial_ids(self) -> tuple[str, ...] | None:
        return self.initial  # type: ignore[return-value]

    @property
    def data_items(self) -> tuple[DataItem, ...]:
        return self.data  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- normalisation


def _children(states: Any, parent: str | None) -> tuple[State, ...]:
    if isinstance(states, Mapping):
        out = []
        for key, child in states.items():
            if not isinstance(child, State):
                raise ChartError(f"child {key!r} is not a State but {type(child).__name__}", parent)
            if child.id is not None and child.id != key:
                raise ChartError(f"child keyed {key!r} has a different id {child.id!r}", parent)
            out.append(child if child.id == key else replace(child, id=key))
        return tuple(out)
    out = []
    for child in states:
        if not isinstance(child, State):
            raise ChartError(f"child {child!r} is not a State", parent)
        if child.id is None:
            raise ChartError("a child state given in a sequence needs an id", parent)
        out.append(child)
    return tuple(out)


def _transitions(spec: Any, event: str | None, state: str | None) -> list[Transition]:
    if spec is None:
        return [Transition(None, event)]
    if isinstance(spec, str):
        return [Transition(spec, event)]
    if isinstance(spec, Transition):
        return [spec if event is None or spec.event == event else replace(spec, event=event)]
    if isinstance(spec, (list, tuple)):
        out: list[Transition] = []
        for item in spec:
            out.extend(_transitions(item, event, state))
        return out
    raise ChartError(f"cannot read transition {spec!r} for event {event!r}", state)


def _data_items(data: Any, state: str | None) -> tuple[DataItem, ...]:
    if isinstance(data, Mapping):
        return tuple(DataItem(str(k), value=v) for k, v in data.items())
    items = tuple(data or ())
    for item in items:
        if not isinstance(item, DataItem):
            raise ChartError(f"data is a mapping {{name: value}} or a list of DataItem(...), "
                             f"not a list holding {shown(item)}", state)
    return items
