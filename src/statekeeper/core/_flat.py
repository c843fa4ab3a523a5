"""Flat programs: a quick step that is nothing but guards and assigns, run without a working state.

Most events of most charts users write are of one kind: one active state offers transitions
on the event, each guarded by a function of the data and the payload (or by ``In()``), and
the transition taken only assigns functions' results (or constants) to top-level names, in
its own block and in the ``onexit``/``onentry`` blocks of the states it leaves and enters.
For such a (configuration, event name), everything but the calls to the author's functions is
known in advance: the order the guards are tried in, what ``In()`` answers, the plan of each
candidate (:mod:`statekeeper.core._plans`), the assigns in the order they run, the next
configuration and the microstep record.  :class:`FlatProgram` holds that, and
:func:`run_flat` runs it: the guards in order on a read-only view of the data, then on a copy
of the data the selected transition's assigns, returning the same :class:`~._quick.Quick`
the general quick step returns.

No working state (:class:`~statekeeper.core._run.Run`) is taken for it, so none is set up,
emptied or given back.  A guard or a function that raises is not run again: what the general
step does with it (a false guard, a block cut short, an ``error.execution`` event each) is
done here too, and the step then continues in a working state from exactly that point, the
microstep taken and the errors queued, through SCXML's macrostep
(``tests/core/test_quick.py`` compares both with the reference step).

Which closures are what is read from their marks (:mod:`statekeeper.core._marks`); a chart
with recorded history, eventless transitions, late data binding or the python datamodel, and a
(configuration, event) whose active states differ in their candidates (parallel regions' own
transitions on the event; alike, all their common ancestor's, is fine) or whose plan runs
anything else (a raise, a send, an effect, a ``Call``, a nested location, entering a final
state, an invocation) gets no program and keeps the general quick step.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._flat_code import FlatFailure, Runner, compiled, data_view
from ._marks import mark_of
from .commands import Microstep
from .events import Event
from .nodes import Node, TransitionNode
from .views import _PLAIN, thaw

if TYPE_CHECKING:
    from ._plans import Key, Plan, StepPlans
    from .compile import CompiledChart

__all__ = ["UNMADE", "FlatFailure", "FlatOption", "FlatProgram", "data_view", "flat_program",
           "program_of", "take"]

#: what :attr:`StepPlans.flat` answers for a (configuration, event name) not looked at yet
UNMADE: Any = object()
#: one assign of a program: the name written, and the function (``None``: the constant) read
Assign = tuple[str, Callable[[Any, Any], Any] | None, Any]


class FlatOption:
    """One candidate transition of a :class:`FlatProgram`, with everything its taking needs."""

    __slots__ = ("blocks", "entered", "guard", "ids", "key", "microsteps", "negate", "plan",
                 "static", "taken", "transition")

    def __init__(self, transition: TransitionNode, guard: Callable[[Any, Any], Any] | None,
                 negate: bool, plan: Plan, blocks: tuple[tuple[Assign, ...], ...],
                 static: bool, name: str) -> None:
        self.transition = transition
        #: the author's guard function (``None``: taken without a call)
        self.guard = guard
        self.negate = negate
        self.plan = plan
        #: the next configuration, as the plans' key and as ids
        self.key: Key = plan.key  # type: ignore[assignment]
        self.ids = plan.ids
        #: the assigns of each block the plan runs, in the order it runs them
        self.blocks = blocks
        #: taking it ran no guard and no block: the outcome is the event name's alone
        self.static = static
        self.microsteps: tuple[Microstep, ...] = (plan.record(name),)
        #: free for a driver to keep what it makes of taking this option once (the
        #: in-memory machine keeps its next configuration and its outcome here)
        self.taken: Any = None
        #: the last atomic state the plan enters (as the working state would note it)
        self.entered: Node | None = None
        for node, _blocks, leaf, _invokes, _final in plan.entries:
            if leaf:
                self.entered = node


class FlatProgram:
    """What a (configuration, event name) does, when it does only guards and assigns.

    ``options`` are the candidates in the order SCXML tries them (an ``In()`` guard already
    answered: those it rejects are left out); ``unhandled`` is the status when no guard holds
    (``"ignored"`` where a state ignores the event, else ``"rejected"``), and ``static``
    whether that outcome ran no guard.
    """

    __slots__ = ("options", "repeat", "run", "static", "unhandled")

    def __init__(self, options: tuple[FlatOption, ...], unhandled: str, static: bool,
                 repeat: int = 1) -> None:
        self.options = options
        self.unhandled = unhandled
        self.static = static
        #: how many active states try these guards (SCXML tries them once per state): a
        #: guard's error is raised as many times
        self.repeat = repeat
        #: :func:`take` of this program written out as one function (:mod:`._flat_code`):
        #: ``run(data, event)``, what the hot paths call
        self.run: Runner = compiled(self)


def flat_program(chart: CompiledChart, plans: StepPlans, key: Key,
                 name: str) -> FlatProgram | None:
    """The program of ``name`` in the configuration ``key``, or ``None`` when it has none."""
    if plans.deep_data or chart.has_history or chart.index.eventless:
        return None
    chains = plans.chains(key, name)
    if any(chain != chains[0] for chain in chains[1:]):
        return None  # candidates in more than one active state
    # Chains all alike: active states of parallel regions whose candidates are all their common
    # ancestor's (an event declared on a parallel state).  SCXML tries the guards once per
    # state; they read the same data and event each time, so one try answers for all, but
    # a guard that raises raises once per state: its errors are repeated as many times.
    options: list[FlatOption] = []
    guarded = False  # a guard has run before the candidate at hand is taken
    for transition in chains[0] if chains else ():
        guard, negate, held = _guard(chart, key, transition)
        if held is None:
            return None
        if transition.cond is not None:
            guarded = True
        if not held:
            continue  # an In() that does not hold in this configuration
        plan = plans.plan(key, (transition,), {})
        blocks = _blocks(plan)
        if blocks is None or plan.key is None:
            return None
        options.append(FlatOption(transition, guard, negate, plan, blocks,
                                  not (guarded or blocks or plan.dynamic), name))
        if guard is None:
            break  # the candidates after one taken unguarded are never tried
    ignorable = bool(chart.index.ignoring) and any(
        n.ignores(name) for s in key for n in (s, *s.ancestors))
    return FlatProgram(tuple(options), "ignored" if ignorable else "rejected", not guarded,
                       max(len(chains), 1))


def _guard(chart: CompiledChart, key: Key, transition: TransitionNode,
           ) -> tuple[Callable[[Any, Any], Any] | None, bool, bool | None]:
    """``(function, negate, may hold)`` of a candidate's guard; ``may hold`` ``None``: unknown."""
    cond = transition.cond
    if cond is None:
        return None, False, True
    found = mark_of(cond)
    if found is None:
        return None, False, None
    if found[0] == "in":  # the configuration is known: so is the answer
        _, state, negate = found
        return None, False, (chart.nodes.get(state) in key) != negate
    if found[0] == "call":
        return found[1], found[2], True
    return None, False, None


def _blocks(plan: Plan) -> tuple[tuple[Assign, ...], ...] | None:
    """The plan's blocks as assigns, in the order it runs them; ``None`` if any is not one."""
    if any(invokes for _node, _blocks, invokes in plan.exits) or any(
            invokes or final for _node, _blocks, _leaf, invokes, final in plan.entries):
        return None
    blocks = [b for _node, bs, _invokes in plan.exits for b in bs]
    blocks += plan.actions
    blocks += [b for _node, bs, *_ in plan.entries for b in bs]
    out: list[tuple[Assign, ...]] = []
    for block in blocks:
        assigns: list[Assign] = []
        for action in block:
            found = mark_of(action)
            if found is None:
                return None
            if found[0] == "assign":
                assigns.append((found[1], found[2], None))
            elif found[0] == "set":
                assigns.append((found[1], None, found[2]))
            else:
                return None
        out.append(tuple(assigns))
    return tuple(out)


def program_of(chart: CompiledChart, plans: StepPlans, key: Key,
               name: str) -> FlatProgram | None:
    """The program of ``name`` in ``key``, made on first use and kept with the plans."""
    programs = plans.flat
    if (key, name) in programs:
        return programs[(key, name)]
    found = programs[(key, name)] = flat_program(chart, plans, key, name)
    plans.bounded(programs)
    return found


def take(program: FlatProgram, data: dict[str, Any],
         event: Event) -> tuple[FlatOption | None, dict[str, Any], bool]:
    """Run ``program`` on flat ``data``: ``(option taken or None, next data, next is flat)``.

    The definition of what a flat program does, as a walk over its options and blocks; the
    hot paths call ``program.run``, the same walk written out (:mod:`._flat_code`).

    The guards are tried in order on a view of a copy of ``data``; the first that holds
    selects its option, whose assigns then run on that copy (returned; ``data`` itself when
    none is taken).
    The event is handed to guards and functions as it is: the caller vouches that its payload
    is read-only already (a scalar or a ``MappingProxyType``).

    Raises:
        FlatFailure: a guard or function raised; what it holds is how far the step got, each
            failure treated as the general step treats it (a false guard, a block cut short).

    """
    errors: list[tuple[TransitionNode | None, Exception]] | None = None
    mine = dict(data)  # copied before the guards: one view for them and the assigns
    view: Any = MappingProxyType(mine)
    for option in program.options:
        guard = option.guard
        if guard is None:
            break
        try:
            held = guard(view, event)
            if held.__class__ is not bool:
                held = bool(held)
        except Exception as exc:  # noqa: BLE001 - SCXML: a failing guard is false + error
            errors = [*(errors or ()), (option.transition, exc)]
            continue
        if held is not option.negate:
            break
    else:  # no guard held
        if errors is not None:
            raise FlatFailure(None, mine, view, errors * program.repeat)
        return None, data, True
    if errors is not None:
        errors *= program.repeat  # (the guards' errors, once per state that tried them)
    flat = True
    for block in option.blocks:
        for name, fn, value in block:
            if fn is not None:
                if view is None:
                    view = data_view(mine)  # after a container was assigned
                try:
                    value = fn(view, event)
                    if type(value) not in _PLAIN:
                        value = thaw(value)
                        view = None  # a container now: the data is no longer flat
                        flat = False
                except Exception as exc:  # noqa: BLE001 - SCXML 5.10: errors become events
                    errors = [*(errors or ()), (None, exc)]
                    break
            mine[name] = value
    if errors is not None:
        raise FlatFailure(option, mine, view, errors)
    return option, mine, flat or _PLAIN.issuperset(map(type, mine.values()))
