"""Validate a chart once and index it for the step (SCXML 3, https://www.w3.org/TR/scxml/).

``compile_chart`` is the only way from a :class:`~statekeeper.Chart` to something runnable.
It resolves every target, initial and history default to a node, binds every named guard,
function and expression through the datamodel, turns ``after`` into delayed sends, and runs
the static checks of :mod:`statekeeper.core.validate`.  The step assumes a compiled chart is
valid and does no checking of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from ._bounds import check_chart_bounds, shape_problem
from ._index import ChartIndex, index_chart
from ._plans import StepPlans
from .actions import Cancel, Effect, Foreach, If, Send
from .datamodel import DataModel, FunctionsDataModel, PythonDataModel
from .durations import parse_duration
from .effect_policy import effect_policy
from .errors import ChartError
from .execute import compile_actions, compile_content, compile_params
from .hashing import structure_hash
from .limits import DEFAULT_LIMITS, Limits
from .model import Chart, Invoke, State, Transition
from .nodes import COMPOUND, FINAL, HISTORY, PARALLEL, ROOT_ID, Node, TransitionNode
from .validate import check_chart, did_you_mean

__all__ = ["AFTER_PREFIX", "CompiledChart", "compile_chart"]

AFTER_PREFIX = "statekeeper.after."
Checks = Literal["warn", "error", "ignore"]


class CompiledChart:
    """A validated, indexed chart: what machines, the runtime and the step run.

    Attributes:
        name, version: from the chart.
        hash: a stable hash of the chart's structure; snapshots carry it.
        definition: the :class:`~statekeeper.Chart` it was compiled from.
        effects: names of every effect the chart declares.
        effect_policies: per effect name, its declared policy as plain data (see
            :mod:`statekeeper.core.effect_policy`); the durable runtime applies it.

    """

    def __init__(self, definition: Chart, datamodel: DataModel) -> None:
        self.definition = definition
        self.name = definition.name
        self.version = definition.version
        self.datamodel = datamodel
        self.binding = definition.binding
        self.hash = structure_hash(definition)
        self.root = Node(ROOT_ID, COMPOUND, None, 0)
        self.nodes: dict[str, Node] = {}
        self.states: list[Node] = []
        self.effects: set[str] = set()
        self.effect_policies: dict[str, dict[str, Any]] = {}
        self.script: Callable[[Any], None] | None = None
        self.data_items: list[tuple[Node, Any]] = []
        self.memo: dict[Any, Any] = {}
        self.has_history = False
        self.index = ChartIndex(())
        #: what steps of this chart worked out once (``None``: every step runs the whole
        #: SCXML algorithm, as the reference the property tests compare the plans with)
        self.plans: StepPlans | None = StepPlans(self)

    def node(self, state_id: str) -> Node:
        """The compiled node of ``state_id``; raises ``KeyError`` naming close matches."""
        try:
            return self.nodes[state_id]
        except KeyError:
            raise KeyError(f"no state {state_id!r}{did_you_mean(state_id, self.nodes)}") from None

    def __repr__(self) -> str:
        return f"<CompiledChart {self.name!r} v{self.version} {self.hash[:12]}>"


def compile_chart(
    chart: Chart,
    *,
    guards: Mapping[str, Callable[..., Any]] | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    trusted: bool = False,
    checks: Checks = "warn",
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledChart:
    """Validate ``chart`` and compile it.

    Args:
        chart: the definition.
        guards: callables ``guard(data, event) -> bool`` for the chart's ``cond`` names.
        functions: callables ``fn(data, event)`` for expressions and :class:`~statekeeper.Call`.
        trusted: allow a ``datamodel="python"`` chart to evaluate its Python expressions.
            Only pass this for documents you wrote or trust: they run arbitrary code.
        checks: what to do about suspicious but legal structure (unreachable states, states
            with no way out): ``"warn"`` (a :class:`ChartWarning`), ``"error"`` or ``"ignore"``.
        limits: bounds on nesting depth and the number of states and transitions, checked
            before anything else (the defaults are generous for hand-written charts).

    Raises:
        ChartError: the chart is invalid; the message names the state and the reason.
        UnboundName: a guard, function or expression names something not provided.
        LimitExceeded: the chart is deeper or bigger than ``limits`` allow.

    """
    if not isinstance(chart, Chart):
        raise TypeError(f"compile_chart() takes a Chart, not {type(chart).__name__}")
    if not isinstance(limits, Limits):
        raise TypeError(f"compile_chart(limits=) takes a Limits, not {type(limits).__name__}")
    check_chart_bounds(chart, limits)
    compiled = CompiledChart(chart, _datamodel(chart, guards, functions, trusted))
    _build(compiled, chart)
    _bind(compiled, chart)
    compiled.index = index_chart(compiled.root, compiled.nodes.values())
    check_chart(compiled, checks)
    return compiled


def _datamodel(chart: Chart, guards: Any, functions: Any, trusted: bool) -> DataModel:
    if chart.datamodel in ("functions", "null"):
        return FunctionsDataModel(guards, functions)
    if chart.datamodel in ("python", "ecmascript"):
        if not trusted:
            raise ChartError(
                f"chart uses the {chart.datamodel!r} datamodel, which evaluates Python source; "
                "load it with trusted=True only if you trust the document"
            )
        return PythonDataModel(functions)
    raise ChartError(f"unknown datamodel {chart.datamodel!r} (use 'functions' or 'python')")


# --------------------------------------------------------------------------- structure


def _build(compiled: CompiledChart, chart: Chart) -> None:
    counter = [1]
    specs: dict[str, State] = {}

    def add(spec: State, parent: Node) -> None:
        assert spec.id is not None
        if spec.id in compiled.nodes or spec.id == ROOT_ID:
            raise ChartError("duplicate state id", spec.id)
        node = Node(spec.id, spec.kind or "atomic", parent, counter[0])
        counter[0] += 1
        compiled.nodes[spec.id] = node
        specs[spec.id] = spec
        if node.kind == HISTORY:
            if parent.id == ROOT_ID or parent.kind not in (COMPOUND, PARALLEL):
                raise ChartError("a history state must be a child of a compound or parallel state",
                                 spec.id)
            parent.history.append(node)
            node.history_kind = spec.history
            compiled.has_history = True
        else:
            parent.children.append(node)
            compiled.states.append(node)
        problem = shape_problem(spec)
        if problem is not None:
            raise ChartError(problem, spec.id)
        for child in spec.children:
            add(child, node)
        if node.kind == COMPOUND and not node.children:
            node.kind = "atomic"

    for spec in chart.children:
        add(spec, compiled.root)
    if not compiled.states:
        raise ChartError(f"chart {chart.name!r} has no states")
    _descendants(compiled.root)
    compiled._specs = specs  # type: ignore[attr-defined]


def _descendants(node: Node) -> frozenset[Node]:
    found: set[Node] = set(node.history)
    for child in node.children:
        found.add(child)
        found |= _descendants(child)
    for hist in node.history:
        hist.descendants = frozenset()
    node.descendants = frozenset(found)
    return node.descendants


def resolve(compiled: CompiledChart, ids: tuple[str, ...], where: str | None) -> tuple[Node, ...]:
    """Resolve target ids to nodes, failing with a "did you mean" for unknown ids."""
    out = []
    for target in ids:
        node = compiled.nodes.get(target)
        if node is None:
            raise ChartError(
                f"unknown target {target!r}{did_you_mean(target, compiled.nodes)}", where
            )
        out.append(node)
    return tuple(out)


# --------------------------------------------------------------------------- behaviour


def _bind(compiled: CompiledChart, chart: Chart) -> None:
    dm = compiled.datamodel
    specs: dict[str, State] = compiled._specs  # type: ignore[attr-defined]
    order = [len(compiled.nodes) + 1]
    root = compiled.root
    root.initial = _initial(compiled, root, chart.initial_ids, (), order)
    for item in chart.data_items:
        compiled.data_items.append((root, item))
    if chart.script:
        compiled.script = dm.script(chart.script, None)
    for node in compiled.nodes.values():
        spec = specs[node.id]
        where = node.id
        if node.kind == FINAL and (spec.transitions or spec.after_transitions):
            raise ChartError("a final state cannot have transitions", where)
        for item in spec.data_items:
            compiled.data_items.append((node, item))
        node.data_items = tuple(spec.data_items)
        node.ignore = spec.ignore
        # An empty block does nothing, but running it would make the step non-static.
        entry = [compile_actions(block, dm, where) for block in spec.entry_blocks if block]
        exit_ = [compile_actions(block, dm, where) for block in spec.exit_blocks if block]
        transitions = list(spec.transitions)
        for index, (delay, targets) in enumerate(spec.after_transitions.items()):
            event = f"{AFTER_PREFIX}{node.id}.{index}"
            try:
                seconds = parse_duration(delay)
            except ValueError as exc:
                raise ChartError(f"after: {exc}", where) from None
            late = {t.late for t in targets if t.late is not None}
            if len(late) > 1:
                raise ChartError(f"after {delay!r}: its transitions state different late "
                                 "policies; they share one timer", where)
            entry.append(compile_actions(
                [Send(event=event, delay=seconds, id=event, late=late.pop() if late else
                      None)], dm, where))
            exit_.insert(0, compile_actions([Cancel(sendid=event)], dm, where))
            transitions.extend(
                Transition(t.target, event, t.cond, t.actions, t.type) for t in targets
            )
        node.entry, node.exit = tuple(entry), tuple(exit_)
        _collect_effects(compiled, [a for block in spec.entry_blocks + spec.exit_blocks for a in block],
                         where)
        if node.kind == HISTORY:
            assert node.parent is not None
            if len(transitions) > 1 or (transitions and transitions[0].event):
                raise ChartError("a history state takes at most one eventless default", where)
            if transitions:
                node.initial = _transition(compiled, node, transitions[0], order)
            else:
                default = specs[node.parent.id].initial_ids if node.parent.id in specs else None
                node.initial = _initial(compiled, node.parent, default, (), order)
                node.initial.source = node
            for target in node.initial.targets:
                if target not in node.parent.descendants or target is node:
                    raise ChartError(
                        f"history default {target.id!r} is not inside {node.parent.id!r}", where
                    )
            continue
        for spec_t in _expand_work(transitions, where):
            if spec_t.late is not None and not (spec_t.event or "").startswith(AFTER_PREFIX):
                raise ChartError("late is a policy of after transitions only", where)
            compiled_t = _transition(compiled, node, spec_t, order)
            (node.transitions if spec_t.event else node.eventless).append(compiled_t)
            _collect_effects(compiled, spec_t.actions, where)
        if node.kind == COMPOUND:
            node.initial = _initial(compiled, node, spec.initial_ids, spec.initial_actions, order)
        elif spec.initial_ids:
            raise ChartError(f"a {node.kind} state cannot have an initial", where)
        if spec.donedata is not None:
            node.donedata = _donedata(spec, dm, where)
        node.invokes = tuple(_invoke(inv, dm, where) for inv in spec.invokes)


def _expand_work(transitions: list[Transition], where: str) -> list[Transition]:
    """Resilient transitions as plain ones: run the work and stay; go on its success.

    ``on E: X, work=charge`` becomes a targetless transition on ``E`` that runs the effect,
    and a transition on ``done.effect.charge`` to ``X`` with the original actions.  A failure
    matches no transition, so the instance stays where it was with its data unchanged.
    """
    out: list[Transition] = []
    names: set[str] = set()
    for t in transitions:
        if t.work is None:
            out.append(t)
            continue
        name = t.work.name
        if not t.event:
            raise ChartError(f"a transition with work ({name!r}) needs an event: an eventless "
                             "one would start the work again on every step", where)
        if not t.targets:
            raise ChartError(f"the work {name!r} decides whether the transition happens, so "
                             "the transition needs a target", where)
        if name in names:
            raise ChartError(f"two transitions carry work {name!r}; their outcomes would be "
                             "indistinguishable: give each work its own effect name", where)
        names.add(name)
        out.append(Transition(None, t.event, t.cond, [t.work]))
        out.append(Transition(t.target, f"done.effect.{name}", None, t.actions, t.type))
    return out


def _initial(compiled: CompiledChart, node: Node, ids: tuple[str, ...] | None,
             actions: Any, order: list[int]) -> TransitionNode:
    where = None if node.id == ROOT_ID else node.id
    transition = TransitionNode(node, (), order[0])
    order[0] += 1
    if ids:
        targets = resolve(compiled, ids, where)
        for target in targets:
            if target not in node.descendants:
                raise ChartError(f"initial {target.id!r} is not a descendant", where)
    else:
        targets = (node.children[0],)
    transition.targets = targets
    transition.actions = compile_actions(actions, compiled.datamodel, where)
    return transition


def _transition(compiled: CompiledChart, node: Node, spec: Transition,
                order: list[int]) -> TransitionNode:
    dm = compiled.datamodel
    events = tuple(spec.event.split()) if spec.event else ()
    transition = TransitionNode(node, events, order[0])
    order[0] += 1
    transition.targets = resolve(compiled, spec.targets, node.id)
    if spec.cond is not None:
        transition.cond = dm.cond(spec.cond, node.id)
        transition.cond_text = spec.cond
    transition.actions = compile_actions(spec.actions, dm, node.id)
    transition.internal = spec.type == "internal"
    return transition


def _donedata(spec: State, dm: DataModel, where: str) -> Callable[[Any], Any]:
    assert spec.donedata is not None
    content = compile_content(spec.donedata.content, dm, where)
    if content is not None:
        return content
    return compile_params(spec.donedata.params, (), dm, where)


def _invoke(inv: Any, dm: DataModel, where: str) -> dict[str, Any]:
    if not isinstance(inv, Invoke):
        raise ChartError(f"an invoke must be Invoke(...), not {inv!r}", where)

    def value(expr: str | None, literal: Any) -> Callable[[Any], Any]:
        if expr is not None:
            return dm.expr(expr, where)
        return lambda ctx: literal

    return {
        "spec": inv,
        "type": value(inv.typeexpr, inv.type),
        "src": value(inv.srcexpr, inv.src),
        "id_setter": dm.location(inv.idlocation, where) if inv.idlocation else None,
        "params": compile_params(inv.params, inv.namelist, dm, where),
        "content": compile_content(inv.content, dm, where),
        "finalize": compile_actions(inv.finalize, dm, where),
    }


def _collect_effects(compiled: CompiledChart, actions: Any, where: str | None) -> None:
    for action in actions:
        if isinstance(action, Effect):
            compiled.effects.add(action.name)
            policy = effect_policy(action, where)
            seen = compiled.effect_policies.setdefault(action.name, policy)
            if seen != policy:
                raise ChartError(f"effect {action.name!r} is declared with another policy "
                                 f"elsewhere in the chart ({seen} here {policy}); give each "
                                 "policy its own effect name", where)
        elif isinstance(action, If):
            for _, body in action.branches:
                _collect_effects(compiled, body, where)
        elif isinstance(action, Foreach):
            _collect_effects(compiled, action.actions, where)
