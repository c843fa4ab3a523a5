"""The data-driven shapes: guards over data and payloads, assigns, entry and exit actions.

The static shapes in :mod:`.shapes` have no behaviour, so a runtime that caches steps (as
statekeeper's machine does) turns them into a dictionary lookup.  Real charts guard on data
and on the event's payload, assign data and run entry and exit actions; these three shapes do,
and every library builds them with its own API.  This module is the single description of
them: each has a reference model in plain Python (a function from the active leaves, the data
and one event to the next leaves and data) and a seeded stream generated *by that model*, so
every event of a stream is one the current configuration accepts (no library is asked to
refuse an event, which they report in incompatible ways).

``guarded_flat``
    ``even``/``odd``/``full``.  ``add(amount)`` moves ``even``<->``odd`` when the amount still
    fits under :data:`LIMIT` (a guard reading the data and the payload), assigning ``n`` and
    ``total``; otherwise it goes to ``full``.  ``reset(keep)`` leaves ``full`` for ``even``
    when ``keep`` is small (a guard on the payload alone), else for ``odd``, assigning
    ``total``.  Entering ``odd`` counts ``odds``; leaving ``full`` counts ``resets``.
``guarded_compound``
    compound ``work`` (``a``, ``b``, ``c``) and ``paused``.  ``step(amount)`` goes ``a``->``b``,
    ``b``->``c`` when the amount is big (else back to ``a``), ``c``->``a``, assigning
    ``total`` (and ``laps`` on ``c``->``a``).  ``pause`` is declared on ``work``: with
    ``In(c)`` it goes to ``paused`` counting ``deep``; else, when ``total`` is over
    :data:`PAUSE_AT`, it goes there resetting ``total``.  Entering ``paused`` counts ``pauses``;
    ``resume`` goes back to ``work``.
``order``
    an order lifecycle.  ``idle`` --``place(amount)``--> parallel ``open`` (entry counts
    ``orders``; the transition assigns ``due``), whose ``payment`` region goes
    ``unpaid`` --``authorize(amount)``--> ``authorized`` if the amount covers ``due`` (else
    ``declined``, counting ``declines``; ``retry`` goes back), then ``capture`` --> ``paid``
    (assigning ``revenue``).  The ``shipping`` region goes ``waiting`` --``pack``
    [``In(paid)``]--> ``packed`` (assigning ``parcels``) --``ship(weight)``
    [weight under :data:`MAX_WEIGHT`]--> ``shipped`` (entry counts ``shipments``).  ``close``
    on ``open`` [``In(shipped)``] returns to ``idle``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "DATA_SHAPES",
    "DATA_SHAPE_NAMES",
    "LIMIT",
    "MAX_WEIGHT",
    "PAUSE_AT",
    "DataShape",
    "Payload",
    "Send",
    "reference_run",
]

#: guarded_flat: ``add`` moves between even and odd while ``total + amount <= LIMIT``.
LIMIT = 60
#: guarded_flat: ``reset(keep)`` goes to ``even`` when ``keep < KEEP_EVEN``, else ``odd``.
KEEP_EVEN = 5
#: guarded_compound: ``pause`` outside ``c`` is taken only when ``total > PAUSE_AT``.
PAUSE_AT = 40
#: order: ``ship(weight)`` is taken only when ``weight <= MAX_WEIGHT``.
MAX_WEIGHT = 20

Payload = dict[str, int]
#: One event of a stream: its name and its payload.
Send = tuple[str, Payload]
Leaves = frozenset[str]
Data = dict[str, int]


@dataclass(frozen=True, slots=True)
class DataShape:
    """One data-driven machine: its reference model and its stream generator.

    ``step`` returns the next leaves and a *new* data dict; ``choose`` picks, from the leaves
    and data the model is in, the next event the stream sends (only events that are accepted).
    ``composites`` are the compound and parallel ids (not leaves) in statekeeper's spelling.
    """

    name: str
    description: str
    initial: Leaves
    data: Mapping[str, int]
    composites: frozenset[str]
    step: Callable[[Leaves, Data, str, Payload], tuple[Leaves, Data]]
    choose: Callable[[random.Random, Leaves, Data], Send]

    def stream(self, n: int) -> list[Send]:
        """Return the first ``n`` events of this shape's seeded stream."""
        rng = random.Random(f"{self.name}-17")
        leaves, data = self.initial, dict(self.data)
        out: list[Send] = []
        for _ in range(n):
            name, payload = self.choose(rng, leaves, data)
            out.append((name, payload))
            leaves, data = self.step(leaves, data, name, payload)
        return out


def reference_run(shape: DataShape, stream: list[Send]) -> tuple[Leaves, Data]:
    """Return the leaves and data the reference model ends in after ``stream``."""
    leaves, data = shape.initial, dict(shape.data)
    for name, payload in stream:
        leaves, data = shape.step(leaves, data, name, payload)
    return leaves, data


def _only(leaves: Leaves) -> str:
    (leaf,) = leaves
    return leaf


# ------------------------------------------------------------------------- guarded_flat


def _flat_step(leaves: Leaves, data: Data, event: str, p: Payload) -> tuple[Leaves, Data]:
    leaf, d = _only(leaves), dict(data)
    if event == "add" and leaf in ("even", "odd"):
        if d["total"] + p["amount"] <= LIMIT:
            d["n"] += 1
            d["total"] += p["amount"]
            target = "odd" if leaf == "even" else "even"
        else:
            target = "full"
    elif event == "reset" and leaf == "full":
        d["resets"] += 1  # exit action of full
        d["total"] = p["keep"]
        target = "even" if p["keep"] < KEEP_EVEN else "odd"
    else:
        raise ValueError(f"guarded_flat: {event!r} is not accepted in {leaf!r}")
    if target == "odd":
        d["odds"] += 1  # entry action of odd
    return frozenset({target}), d


def _flat_choose(rng: random.Random, leaves: Leaves, data: Data) -> Send:
    if _only(leaves) == "full":
        return "reset", {"keep": rng.randrange(10)}
    return "add", {"amount": rng.randrange(1, 10)}


# --------------------------------------------------------------------- guarded_compound


def _compound_step(leaves: Leaves, data: Data, event: str, p: Payload) -> tuple[Leaves, Data]:
    leaf, d = _only(leaves), dict(data)
    if event == "step" and leaf in ("a", "b", "c"):
        d["total"] += p["amount"]
        if leaf == "a":
            target = "b"
        elif leaf == "b":
            target = "c" if p["amount"] >= 5 else "a"
        else:
            d["laps"] += 1
            target = "a"
    elif event == "pause" and leaf == "c":
        d["deep"] += 1
        target = "paused"
    elif event == "pause" and leaf in ("a", "b") and d["total"] > PAUSE_AT:
        d["total"] = 0
        target = "paused"
    elif event == "resume" and leaf == "paused":
        target = "a"
    else:
        raise ValueError(f"guarded_compound: {event!r} is not accepted in {leaf!r}")
    if target == "paused":
        d["pauses"] += 1  # entry action of paused
    return frozenset({target}), d


def _compound_choose(rng: random.Random, leaves: Leaves, data: Data) -> Send:
    leaf = _only(leaves)
    if leaf == "paused":
        return "resume", {}
    can_pause = leaf == "c" or data["total"] > PAUSE_AT
    if can_pause and rng.random() < 0.3:
        return "pause", {}
    return "step", {"amount": rng.randrange(1, 10)}


# -------------------------------------------------------------------------------- order

_PAYMENT = ("unpaid", "authorized", "declined", "paid")
_SHIPPING = ("waiting", "packed", "shipped")
_OPEN = frozenset({"unpaid", "waiting"})


def _regions(leaves: Leaves) -> tuple[str, str]:
    pay = next(leaf for leaf in leaves if leaf in _PAYMENT)
    ship = next(leaf for leaf in leaves if leaf in _SHIPPING)
    return pay, ship


def _order_step(leaves: Leaves, data: Data, event: str, p: Payload) -> tuple[Leaves, Data]:
    d = dict(data)
    if leaves == {"idle"}:
        if event != "place" or p["amount"] <= 0:
            raise ValueError(f"order: {event!r} is not accepted in 'idle'")
        d["due"] = p["amount"]
        d["orders"] += 1  # entry action of open
        return _OPEN, d
    pay, ship = _regions(leaves)
    if event == "close" and ship == "shipped":
        return frozenset({"idle"}), d
    if event == "authorize" and pay == "unpaid":
        if p["amount"] >= d["due"]:
            d["held"] = p["amount"]
            pay = "authorized"
        else:
            d["declines"] += 1
            pay = "declined"
    elif event == "retry" and pay == "declined":
        pay = "unpaid"
    elif event == "capture" and pay == "authorized":
        d["revenue"] += d["due"]
        pay = "paid"
    elif event == "pack" and ship == "waiting" and pay == "paid":
        d["parcels"] += 1
        ship = "packed"
    elif event == "ship" and ship == "packed" and p["weight"] <= MAX_WEIGHT:
        d["shipments"] += 1  # entry action of shipped
        ship = "shipped"
    else:
        raise ValueError(f"order: {event!r} is not accepted in {sorted(leaves)}")
    return frozenset({pay, ship}), d


def _order_choose(rng: random.Random, leaves: Leaves, data: Data) -> Send:
    if leaves == {"idle"}:
        return "place", {"amount": rng.randrange(10, 100)}
    pay, ship = _regions(leaves)
    if ship == "shipped":
        return "close", {}
    if ship == "packed":
        return "ship", {"weight": rng.randrange(1, MAX_WEIGHT + 1)}
    if pay == "paid":
        return "pack", {}
    if pay == "authorized":
        return "capture", {}
    if pay == "declined":
        return "retry", {}
    return "authorize", {"amount": data["due"] + rng.randrange(-3, 4)}


DATA_SHAPES: dict[str, DataShape] = {
    "guarded_flat": DataShape(
        "guarded_flat",
        "flat even/odd/full: guards on data and payload, assigns, entry and exit actions",
        frozenset({"even"}), {"n": 0, "total": 0, "odds": 0, "resets": 0}, frozenset(),
        _flat_step, _flat_choose,
    ),
    "guarded_compound": DataShape(
        "guarded_compound",
        "compound work(a,b,c) + paused: In(c) and data guards on the parent, assigns, entry",
        frozenset({"a"}), {"total": 0, "laps": 0, "deep": 0, "pauses": 0},
        frozenset({"work"}), _compound_step, _compound_choose,
    ),
    "order": DataShape(
        "order",
        "order lifecycle: parallel payment/shipping regions, guards on data, payload and "
        "In(), assigns, entry actions",
        frozenset({"idle"}),
        {"due": 0, "held": 0, "revenue": 0, "declines": 0, "parcels": 0, "shipments": 0,
         "orders": 0},
        frozenset({"open", "payment", "shipping"}), _order_step, _order_choose,
    ),
}  # fmt: skip

DATA_SHAPE_NAMES: tuple[str, ...] = tuple(DATA_SHAPES)
