"""A three-step saga on a SQLite file: reserve, charge, ship; compensate when shipping fails.

Each step is an effect under its own retry policy.  When a step fails for good after the ones
before it succeeded, the chart runs the compensations of those steps in reverse order (refund
the charge, then release the reservation), each itself under retry, and ends ``Compensated``.
Every step and every outcome is a row in the instance's transition log, and an exhausted step
leaves a dead letter with its error history.

``python -m statekeeper.examples.saga [--db FILE]`` runs one order whose shipping API is down
and whose refund fails once before it succeeds, on a virtual clock (backoffs pass instantly).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from statekeeper import Chart, Effect, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.resilience import Retry

__all__ = ["SAGA", "World", "main", "run_saga"]

STEP = Retry(3, base_delay="1s", max_delay="10s", fatal=("ValueError",))
UNDO = Retry(10, base_delay="1s", max_delay="1m")  # a compensation must not give up easily

SAGA = Chart("saga", version=1, initial="Reserving", states={
    "Reserving": State(entry=[Effect("reserve", argsexpr="order", retry=STEP)],
                       on={"done.effect.reserve": "Charging",
                           "error.effect.reserve": "Failed"}),
    "Charging": State(entry=[Effect("charge", argsexpr="order", retry=STEP)],
                      on={"done.effect.charge": "Shipping",
                          "error.effect.charge": "Releasing"}),
    "Shipping": State(entry=[Effect("ship", argsexpr="order", retry=STEP)],
                      on={"done.effect.ship": "Done",
                          "error.effect.ship": "Refunding"}),
    # the compensations, in reverse order of the steps they undo
    "Refunding": State(entry=[Effect("refund", argsexpr="order", retry=UNDO)],
                       on={"done.effect.refund": "Releasing"}),
    "Releasing": State(entry=[Effect("release", argsexpr="order", retry=UNDO)],
                       on={"done.effect.release": "Compensated"}),
    "Done": Final(),
    "Compensated": Final(),
    "Failed": Final(),
})


class World:
    """Stands in for the services the saga calls (the outside world: mocked on purpose).

    ``down`` names services whose every call fails; ``flaky`` maps a service to how many of
    its first calls fail.  Every call is recorded with its idempotency key.
    """

    def __init__(self, down: tuple[str, ...] = (), flaky: dict[str, int] | None = None) -> None:
        self.down = set(down)
        self.flaky = dict(flaky or {})
        self.calls: list[tuple[str, str]] = []

    def effects(self) -> dict[str, Any]:
        return {name: self._service(name)
                for name in ("reserve", "charge", "ship", "refund", "release")}

    def _service(self, name: str) -> Any:
        def call(args: dict[str, Any], key: str) -> dict[str, Any]:
            self.calls.append((name, key))
            if name in self.down:
                raise ConnectionError(f"{name} service unavailable")
            if self.flaky.get(name, 0) > 0:
                self.flaky[name] -= 1
                raise TimeoutError(f"{name} service timed out")
            return {"service": name, "order": args["id"]}
        return call


def run_saga(client: Client, clock: VirtualClock, world: World, order_id: str,
             out: TextIO | None = None) -> str:
    """Run one order to a final state, advancing the clock through every backoff."""
    client.register(SAGA, effects=world.effects(), functions={"order": _order_args})
    client.start("saga", order_id, data={"order": {"id": order_id, "amount": 42}})
    for _ in range(1000):
        client.worker.run_until_idle()
        state = client.get(order_id)
        if state.done:
            break
        due = [e.available_at for e in client.store.effects(order_id, "pending")]
        clock.advance(max(0.0, min(due) - clock.now()) if due else 1.0)
    if out is not None:
        for row in client.history(order_id):
            if row.source != row.target or row.outcome != "applied":
                print(f"  t={row.at - START:7.3f}s  {row.event:24} {'/'.join(row.source) or '-':>11}"
                      f" -> {'/'.join(row.target)}", file=out)
    return client.get(order_id).state


def _order_args(data: dict[str, Any], event: Any) -> dict[str, Any]:
    return dict(data["order"])


START = 1_000_000.0


def main(argv: list[str] | None = None) -> int:
    """Run the saga with shipping down and a refund that fails once; print the log."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "saga.db"
        clock = VirtualClock(START)
        world = World(down=("ship",), flaky={"refund": 1})
        with Client(db, clock=clock, worker=False) as client:
            print(f"saga o-1 on {db}: shipping is down, the refund fails once")
            final = run_saga(client, clock, world, "o-1", out=sys.stdout)
            print("calls:", ", ".join(name for name, _ in world.calls))
            for letter in client.dead_letters("o-1"):
                print(f"dead letter {letter.id}: {letter.payload['name']} after "
                      f"{len(letter.errors)} attempts, last error: {letter.errors[-1]}")
            print(f"o-1 ended {final}")
            return 0 if final == "Compensated" else 1


if __name__ == "__main__":
    raise SystemExit(main())
