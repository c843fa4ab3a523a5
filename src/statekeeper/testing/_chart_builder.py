"""How :func:`statekeeper.testing.strategies.charts` draws one chart: its tree, then behaviour.

Private to the strategies (kept apart so neither module grows past what one reads at once);
the module docstring of :mod:`statekeeper.testing.strategies` says what the charts hold and
why every one of them terminates.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from hypothesis import strategies as st

from ..core.actions import Action, Assign, Call, Cancel, Param, Raise, Send
from ..core.durations import Duration
from ..core.model import DoneData, State, Transition
from .vocabulary import EXTERNAL_EVENTS, RAISED_EVENTS

__all__ = ["GUARDED", "STYLES", "Builder", "pick"]

_BUDGET_GUARDS = ("budget", "budget_n_even", "budget_flag")
_EXTERNAL_GUARDS = ("n_even", "n_small", "flag", "!flag", "is_a")
_PAYLOAD_GUARDS = ("x_big", "!x_big")
_FRAGILE_GUARDS = ("fragile", "!fragile", "n_value")
_EXTERNAL_DESCRIPTORS = ("a", "a", "b", "b", "c", "e", "e.x", "e.*", "a b")
_SEND_IDS = ("t1", "t2")
_DELAYS: tuple[float | str, ...] = (1, 2.5, "2s", "1500ms")
_TRIGGERS = (*_EXTERNAL_DESCRIPTORS, None, None, "r.1", "r", "done", "*")

T = TypeVar("T")


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of ``options`` (cheaper than building a ``sampled_from`` strategy per draw)."""
    return options[draw(st.integers(0, len(options) - 1))]


# --------------------------------------------------------------------------- skeleton


@dataclass(frozen=True)
class _Style:
    """How much behaviour a chart gets besides its structure.

    Plain charts have none (no actions, guards, timers or history), so their steps are static
    and a machine memoises them; rich ones use every feature.  Drawing the style per chart
    gives both kinds of run.
    """

    name: str
    history: bool  # history pseudo-states
    blocks: tuple[int, ...]  # how many entry (and exit) blocks, picked from
    max_actions: int  # per transition
    guards: bool
    budgeted: bool  # eventless, raised-event, done.state and wildcard transitions
    after: int  # one chance in this many of an ``after`` (0: never)
    extras: bool  # donedata, initial overrides, history defaults
    assigns_only: bool = False  # blocks hold assigns to top-level names only
    fragile: bool = False  # guards and functions that raise now and then


STYLES = (
    _Style("plain", history=False, blocks=(0,), max_actions=0, guards=False, budgeted=False,
           after=0, extras=False),
    _Style("sparse", history=True, blocks=(0, 0, 0, 1), max_actions=1, guards=True,
           budgeted=True, after=8, extras=True),
    _Style("rich", history=True, blocks=(0, 0, 1, 1, 2), max_actions=2, guards=True,
           budgeted=True, after=4, extras=True),
)
#: Guards over data and payloads, and blocks of assigns only (some failing now and then): the
#: charts whose events run as flat programs (statekeeper.core._flat).  Not among the
#: :data:`STYLES` drawn by default; ``charts(style="guarded")`` draws it.
GUARDED = _Style("guarded", history=False, blocks=(0, 1, 1, 2), max_actions=2, guards=True,
                 budgeted=False, after=0, extras=False, assigns_only=True, fragile=True)


@dataclass(eq=False)
class _Node:
    id: str
    kind: str  # atomic, compound, parallel, final, history
    parent: _Node | None
    history: str = "shallow"
    children: list[_Node] = field(default_factory=list)

    def walk(self) -> Iterator[_Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def descendants(self) -> list[_Node]:
        return [n for n in self.walk() if n is not self]


class Builder:
    """Draws one chart: first its tree of states, then the behaviour of each state."""

    def __init__(self, draw: st.DrawFn, style: _Style, max_depth: int, max_states: int,
                 max_children: int = 3, payloads: bool = False) -> None:
        self.draw = draw
        self.payloads = payloads  # guards and assigns reading the event's payload too
        self.style = style
        self.max_depth = max_depth
        self.max_children = max_children
        self.room = max_states
        self.ids = itertools.count(1)
        self.root = _Node("(root)", "compound", None)
        self.grow(self.root, 0)
        self.everything = self.root.descendants()
        self.states = [n for n in self.everything if n.kind != "history"]
        self.containers = [n for n in self.states if n.kind in ("compound", "parallel")]
        self.regions = [[c for c in p.children if c.kind != "history"]
                        for p in self.states if p.kind == "parallel"]
        self.regions = [r for r in self.regions if len(r) >= 2]

    def pick(self, options: Sequence[T]) -> T:
        return pick(self.draw, options)

    def chance(self, one_in: int) -> bool:
        return one_in > 0 and self.draw(st.integers(0, one_in - 1)) == 0

    def new_id(self, kind: str) -> str:
        return f"{ {'parallel': 'p', 'final': 'f', 'history': 'h'}.get(kind, 's') }{next(self.ids)}"

    # ------------------------------------------------------------------ structure

    def grow(self, node: _Node, depth: int) -> None:
        """Give ``node`` (a compound or parallel state, or the root at depth 0) its children."""
        parallel = node.kind == "parallel"
        count = self.draw(st.integers(1, self.max_children)) if self.room > 1 else 1
        if parallel and self.room > 1:
            count = max(count, 2)
        for index in range(count):
            kinds = ["atomic", "atomic"]
            if depth + 1 < self.max_depth and self.room > 3:
                kinds += ["compound", "compound", "parallel"]
            if not parallel and (depth > 0 or index > 0):
                kinds.append("final")
            kind = self.pick(kinds)
            child = _Node(self.new_id(kind), kind, node)
            node.children.append(child)
            self.room -= 1
            if kind in ("compound", "parallel"):
                self.grow(child, depth + 1)
        if self.style.history and depth > 0 and self.room > 0 and self.chance(2):
            node.children.append(_Node(self.new_id("history"), "history", node,
                                       history=self.pick(("shallow", "deep"))))
            self.room -= 1

    # ------------------------------------------------------------------ behaviour

    def actions(self, *, external: bool, max_size: int, min_size: int = 0) -> list[Action]:
        """A block of executable content; only ``external`` blocks may reset the budget."""
        draw = self.draw
        if self.style.assigns_only:
            return self.assigns(max_size=max_size, min_size=min_size)
        choices: list[Callable[[], Action]] = [
            lambda: Assign("n", value=draw(st.integers(0, 3))),
            lambda: Assign("flag", value=self.pick((False, True))),
            lambda: Assign("box.v", value=draw(st.integers(0, 2))),
            lambda: Assign("n", expr="double_n"),
            lambda: Call("bump"),
            lambda: Raise(self.pick(RAISED_EVENTS)),
            # External events only through the two fixed ids (at most two pending), anonymous
            # timers only for budgeted events: no timer can multiply itself.
            lambda: Send(event=self.pick(EXTERNAL_EVENTS), delay=self.pick(_DELAYS),
                         id=self.pick(_SEND_IDS)),
            lambda: Send(event=self.pick(RAISED_EVENTS), delay=self.pick(_DELAYS)),
            lambda: Send(event=self.pick(RAISED_EVENTS)),
            lambda: Cancel(sendid=self.pick(_SEND_IDS)),
        ]
        if external:
            choices.append(lambda: Assign("k", value=0))
            if self.payloads:
                choices.append(lambda: Assign("n", expr="take_x"))
        picks = draw(st.lists(st.integers(0, len(choices) - 1), min_size=min_size,
                              max_size=max_size))
        return [choices[i]() for i in picks]

    def assigns(self, *, max_size: int, min_size: int = 0) -> list[Action]:
        """A block of assigns to top-level names (of scalars, functions' results)."""
        draw = self.draw
        choices: list[Callable[[], Action]] = [
            lambda: Assign("n", value=draw(st.integers(0, 3))),
            lambda: Assign("flag", value=self.pick((False, True))),
            lambda: Assign("n", expr="double_n"),
            lambda: Assign("k", value=0),
        ]
        if self.payloads:
            choices.append(lambda: Assign("n", expr="take_x"))
        if self.style.fragile:
            choices += [lambda: Assign("n", expr="fragile_n"), lambda: Assign("box", expr="boxed")]
        picks = draw(st.lists(st.integers(0, len(choices) - 1), min_size=min_size,
                              max_size=max_size))
        return [choices[i]() for i in picks]

    def blocks(self) -> list[list[Action]]:
        return [self.actions(external=False, min_size=1, max_size=2)
                for _ in range(self.pick(self.style.blocks))]

    def targets(self) -> tuple[str, ...]:
        """None, one or two targets; two always lie in different regions of one parallel."""
        shape = self.pick(("none", "one", "one", "one", "one", "two"))
        if shape == "none":
            return ()
        if shape == "two" and self.regions:
            region = self.pick(self.regions)
            first = self.draw(st.integers(0, len(region) - 1))
            second = self.draw(st.integers(0, len(region) - 2))
            second += second >= first
            return (self.pick(list(region[first].walk())).id,
                    self.pick(list(region[second].walk())).id)
        return (self.pick(self.everything).id,)

    def transition(self) -> Transition:
        style = self.style
        trigger = self.pick(_TRIGGERS if style.budgeted else _EXTERNAL_DESCRIPTORS)
        if trigger == "done":
            trigger = f"done.state.{self.pick(self.containers).id}" if self.containers else "a"
        budgeted = trigger is None or trigger in ("r.1", "r", "*") or trigger.startswith("done.")
        targets = self.targets()
        kind: Literal["external", "internal"] = self.pick(("external", "external", "internal"))
        cond: str | None = None
        if budgeted:
            cond = self.pick(_BUDGET_GUARDS)
            actions: list[Action] = [Call("tick"),
                                     *self.actions(external=False, max_size=style.max_actions)]
        else:
            mode = self.draw(st.integers(0, 3)) if style.guards else 0
            if mode == 2:
                cond = self.pick(_EXTERNAL_GUARDS + _PAYLOAD_GUARDS if self.payloads
                                 else _EXTERNAL_GUARDS)
                if style.fragile and self.chance(3):
                    cond = self.pick(_FRAGILE_GUARDS)
            elif mode == 3:
                cond = f"In({self.pick(self.states).id})"
            actions = self.actions(external=True, max_size=style.max_actions)
        return Transition(targets or None, trigger, cond, tuple(actions), kind)

    def build(self, node: _Node) -> State:
        children = [self.build(c) for c in node.children]
        style = self.style
        if node.kind == "history":
            assert node.parent is not None
            default: tuple[Transition, ...] = ()
            if style.extras and self.chance(2):
                inside = [d for d in node.parent.descendants() if d.kind != "history"]
                actions = self.actions(external=False, max_size=1)
                default = (Transition(self.pick(inside).id, actions=tuple(actions)),)
            return State(kind="history", history="deep" if node.history == "deep" else "shallow",
                         transitions=default, id=node.id)
        entry, exit_ = self.blocks(), self.blocks()
        if node.kind == "final":
            donedata = None
            if style.extras and self.chance(4):
                donedata = DoneData(params=(Param("n", location="n"),))
            return State(kind="final", entry=entry, exit=exit_, donedata=donedata, id=node.id)
        transitions = tuple(self.transition() for _ in range(self.draw(st.integers(0, 3))))
        after: dict[Duration, Transition] = {}
        if self.chance(style.after):
            after[self.pick(_DELAYS)] = Transition(
                self.targets() or None,
                cond=self.pick((None, None, *_EXTERNAL_GUARDS)),
                actions=tuple(self.actions(external=True, max_size=1)),
            )
        initial: str | None = None
        if node.kind == "compound" and style.extras and self.chance(3):
            initial = self.pick([d for d in node.descendants() if d.kind != "history"]).id
        return State(states=children, initial=initial, transitions=transitions, entry=entry,
                     exit=exit_, after=after, ignore=self.pick(((), (), (), ("c",), ("e",))),
                     kind="parallel" if node.kind == "parallel" else None, id=node.id)
