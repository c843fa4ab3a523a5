"""The data-driven chart of ``bench durable``: what it is, its event stream and a model.

The toggle's steps are memoised (no guard, no data), so its rates measure the durable path
around a table lookup.  This chart is the kind users write, and every step of it runs guards
and actions:

* ``open`` (compound) holds ``idle``, ``busy`` and ``settling``; each ``add`` event carries an
  ``amount`` and is guarded over the payload and the data (``accepts``: a positive amount and
  a total under a cap), and assigns a counter ``n`` and the running ``total``;
* from ``busy`` a guard over the data (``due``: every fourth ``add``) picks ``settling`` over
  ``idle``, and the next ``add`` goes back to ``busy``; entering ``settling`` runs the effect
  ``settle`` and sets a one-hour timer that leaving it cancels (never due during a run, so
  every entry writes and every exit deletes a timer row);
* the effect's outcome (``done.effect.settle``, a committed step of its own in statekeeper)
  is taken by ``open`` in any child, counting ``settled``.

xstate-statemachine builds the same chart from the same names (:mod:`.durable_chart_peers`).
A reference model (:func:`expected`) says where each instance ends and with what data, so
every library's final state is checked against it and so against each other.

The stream: every instance receives ``rounds`` ``add`` events, the ``r``-th with amount
:func:`amount` ``(i, r)``; each sender owns the instances ``j, j + senders, ...`` and sends
them round-robin, so the final state of an instance does not depend on the sender count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.actions import Assign, Effect
from ..core.model import Chart, State, Transition

__all__ = [
    "BINDINGS",
    "CHART_NAME",
    "EVENT",
    "EVERY",
    "LIMIT",
    "TIMEOUT",
    "TIMEOUT_MS",
    "Final",
    "amount",
    "effects_expected",
    "expected",
    "meter_chart",
    "settle",
]

CHART_NAME = "meter"
EVENT = "add"
#: The cap ``accepts`` checks the total against (never reached in a run: every add applies).
LIMIT = 10**12
#: Every how many ``add`` events ``busy`` goes to ``settling`` rather than ``idle``.
EVERY = 4
#: The timer ``settling`` sets (cancelled when it is left, long before it is due).
TIMEOUT = "1h"
TIMEOUT_MS = 3_600_000


def amount(instance: int, ordinal: int) -> int:
    """The amount of the ``ordinal``-th ``add`` to instance number ``instance`` (1 to 5)."""
    return 1 + (instance + ordinal) % 5


def accepts(data: Mapping[str, Any], event: Any) -> bool:
    """Guard: a positive amount, and a total still under the cap."""
    return bool(event.data["amount"] > 0 and data["total"] < LIMIT)


def due(data: Mapping[str, Any], event: Any) -> bool:
    """Guard: ``accepts``, on every fourth ``add`` (``n`` counts them)."""
    return accepts(data, event) and data["n"] % EVERY == EVERY - 1


def next_n(data: Mapping[str, Any], event: Any) -> int:
    return int(data["n"]) + 1


def add_amount(data: Mapping[str, Any], event: Any) -> int:
    return int(data["total"]) + int(event.data["amount"])


def next_settled(data: Mapping[str, Any], event: Any) -> int:
    return int(data["settled"]) + 1


def settle(args: Any, key: str) -> dict[str, str]:
    """The effect: stands for a call to a ledger service; returns its receipt."""
    return {"receipt": key}


#: What :func:`meter_chart` binds by name (``client.register(chart, **BINDINGS)``).
BINDINGS: dict[str, dict[str, Any]] = {
    "guards": {"accepts": accepts, "due": due},
    "functions": {"next_n": next_n, "add_amount": add_amount, "next_settled": next_settled},
    "effects": {"settle": settle},
}


def meter_chart() -> Chart:
    """The data-driven chart (see the module's docstring)."""
    adds = (Assign("n", expr="next_n"), Assign("total", expr="add_amount"))

    def to(target: str, cond: str = "accepts") -> Transition:
        return Transition(target, cond=cond, actions=adds)

    return Chart(CHART_NAME, initial="open", data={"n": 0, "total": 0, "settled": 0}, states={
        "open": State(
            initial="idle",
            on={"done.effect.settle": Transition(None, actions=[
                Assign("settled", expr="next_settled")])},
            states={
                "idle": State(on={EVENT: to("busy")}),
                "busy": State(on={EVENT: [to("settling", "due"), to("idle")]}),
                "settling": State(entry=[Effect("settle")], after={TIMEOUT: "idle"},
                                  on={EVENT: to("busy")}),
            }),
    })  # fmt: skip


@dataclass(frozen=True, slots=True)
class Final:
    """Where an instance ends: its active leaf and its data."""

    leaf: str
    n: int
    total: int
    settled: int

    @property
    def data(self) -> dict[str, int]:
        return {"n": self.n, "total": self.total, "settled": self.settled}


def expected(instance: int, rounds: int) -> Final:
    """The reference model: instance number ``instance`` after ``rounds`` adds (and settles)."""
    leaf, n, total, settled = "idle", 0, 0, 0
    for r in range(rounds):
        if leaf == "idle":
            leaf = "busy"
        elif leaf == "busy":
            if n % EVERY == EVERY - 1:
                leaf = "settling"
                settled += 1
            else:
                leaf = "idle"
        else:
            leaf = "busy"
        n, total = n + 1, total + amount(instance, r)
    return Final(leaf, n, total, settled)


def effects_expected(instances: int, rounds: int) -> int:
    """How many ``settle`` effects a run of ``rounds`` over ``instances`` instances commits."""
    return sum(expected(i, rounds).settled for i in range(instances))
