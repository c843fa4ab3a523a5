"""The benchmark shapes: the four machines every library builds, their event streams and a model.

Every adapter builds the *same* four machines with its own API; this module is the single place
that says what those machines are, so the adapters cannot drift apart.  It also holds a tiny
reference model of each shape (a pure function from active leaves and an event to the next
active leaves), so states can be checked even when statekeeper itself is not selected, and so a
bug in statekeeper shows up as a disagreement with the reference rather than as every peer
"mismatching".

Leaf names are the plain state names (``"a"``, ``"s7"``, ``"x2"``); adapters map their library's
spelling (``"on_a"``, ``"comp.on.a"``) back to them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "COMPOUND_PATTERN",
    "FLAT20_MOVES",
    "FLAT20_SIZE",
    "SHAPES",
    "SHAPE_NAMES",
    "Shape",
]

#: flat20: event name -> ring offset (mod 20).
FLAT20_MOVES: dict[str, int] = {"p1": 1, "p2": 2, "p5": 5, "m1": -1, "p7": 7}
FLAT20_SIZE = 20

#: The repeating compound stream: leaves ``cycle`` from a, b and c, ``toggle`` from each child
#: (declared on the compound ``on``) and re-enters ``on`` from ``off``.  It never sends
#: ``cycle`` while in ``off``, so no library sees an event its state does not handle.
COMPOUND_PATTERN: tuple[str, ...] = (
    "cycle", "toggle", "toggle",                      # a->b, b->off, off->a
    "cycle", "cycle", "toggle", "toggle",             # a->b->c, c->off, off->a
    "cycle", "cycle", "cycle", "toggle", "toggle",    # a->b->c->a, a->off, off->a
)  # fmt: skip

Leaves = frozenset[str]


@dataclass(frozen=True, slots=True)
class Shape:
    """One benchmark machine: its name, events, non-leaf ids and reference model.

    ``composites`` are the ids of the compound and parallel states in statekeeper's
    configuration; removing them from a configuration leaves the active leaves.
    """

    name: str
    description: str
    events: tuple[str, ...]
    composites: frozenset[str]
    initial: Leaves
    step: Callable[[Leaves, str], Leaves]
    make_stream: Callable[[int], list[str]]

    def stream(self, n: int) -> list[str]:
        """Return the first ``n`` events of this shape's stream (the same for every library)."""
        return self.make_stream(n)


def _repeat(pattern: Sequence[str], n: int) -> list[str]:
    return [pattern[i % len(pattern)] for i in range(n)]


def _flat3_step(leaves: Leaves, event: str) -> Leaves:
    (leaf,) = leaves
    return frozenset({{"a": "b", "b": "c", "c": "a"}[leaf]})


def _flat20_step(leaves: Leaves, event: str) -> Leaves:
    (leaf,) = leaves
    return frozenset({f"s{(int(leaf[1:]) + FLAT20_MOVES[event]) % FLAT20_SIZE}"})


def _flat20_stream(n: int) -> list[str]:
    rng = random.Random(42)
    names = list(FLAT20_MOVES)
    return [rng.choice(names) for _ in range(n)]


def _compound_step(leaves: Leaves, event: str) -> Leaves:
    (leaf,) = leaves
    if event == "toggle":
        return frozenset({"a" if leaf == "off" else "off"})
    if leaf == "off":
        raise ValueError("cycle is not handled in 'off'")
    return frozenset({{"a": "b", "b": "c", "c": "a"}[leaf]})


def _parallel_step(leaves: Leaves, event: str) -> Leaves:
    nxt = {"x1": "x2", "x2": "x3", "x3": "x1", "y1": "y2", "y2": "y1"}
    return frozenset(nxt[leaf] for leaf in leaves)


SHAPES: dict[str, Shape] = {
    "flat3": Shape(
        "flat3", "3-state ring a->b->c->a on 'next'", ("next",), frozenset(),
        frozenset({"a"}), _flat3_step, lambda n: ["next"] * n,
    ),
    "flat20": Shape(
        "flat20", "20-state ring, 5 events, seeded random stream", tuple(FLAT20_MOVES),
        frozenset(), frozenset({"s0"}), _flat20_step, _flat20_stream,
    ),
    "compound": Shape(
        "compound", "compound 'on'(a,b,c) + 'off'; 'toggle' declared on 'on'",
        ("cycle", "toggle"), frozenset({"on"}), frozenset({"a"}), _compound_step,
        lambda n: _repeat(COMPOUND_PATTERN, n),
    ),
    "parallel": Shape(
        "parallel", "parallel 'p': r1 x1->x2->x3, r2 y1->y2; both take 'tick'", ("tick",),
        frozenset({"p", "r1", "r2"}), frozenset({"x1", "y1"}), _parallel_step,
        lambda n: ["tick"] * n,
    ),
}  # fmt: skip

SHAPE_NAMES: tuple[str, ...] = tuple(SHAPES)
