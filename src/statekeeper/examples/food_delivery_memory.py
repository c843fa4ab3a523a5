"""Food-delivery orders in memory: a Machine, a virtual clock and a JSON snapshot.

Two orders run on a virtual clock, so minutes pass instantly:

* ``o-1`` is charged through a payment API that fails twice before it succeeds; the restaurant
  accepts; one courier declines, another lets the 60 s offer lapse, a third accepts; partway
  through, the order is saved as a JSON snapshot, the machine is thrown away and a new one
  continues from the file; the order is delivered.
* ``o-2`` is never answered by the restaurant and is cancelled after 5 minutes, with a refund.

Every microstep is printed as it happens; the run ends with a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from statekeeper import EventNotAccepted, Machine, Microstep, VirtualClock
from statekeeper.core.compile import AFTER_PREFIX
from statekeeper.examples.order import compile_order

__all__ = ["main"]


class FlakyPayments:
    """Stands in for the user's payment API: the first ``failures`` calls time out."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []
        self.refunds: list[dict[str, Any]] = []

    def charge(self, args: dict[str, Any], key: str) -> dict[str, Any]:
        self.calls.append(key)
        if len(self.calls) <= self.failures:
            raise ConnectionError("payment API timed out")
        return {"charge_id": f"ch_{len(self.calls)}", "amount": args["amount"]}

    def refund(self, args: dict[str, Any], key: str) -> None:
        self.refunds.append({"key": key, **args})


def _printer(order: str, clock: VirtualClock, out: Any) -> Any:
    def show(micro: Microstep) -> None:
        leaves = ", ".join(micro.configuration)
        event = micro.event or "(eventless)"
        if event.startswith(AFTER_PREFIX):
            event = f"(timer of {event[len(AFTER_PREFIX):].rsplit('.', 1)[0]})"
        print(f"  t={clock.now():>4.0f}s  {order}  {event:<34} -> {leaves}", file=out)

    return show


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--snapshot-dir", type=Path, default=None,
                        help="where to write the mid-flight snapshot (default: a temp dir)")
    args = parser.parse_args(argv)
    out = sys.stdout
    chart = compile_order()
    clock = VirtualClock()
    payments = FlakyPayments(failures=2)
    effects = {"charge": payments.charge, "refund": payments.refund}
    base = {"charge_attempts": 0, "courier": None, "declined": [], "paid": False,
            "couriers": ["ana", "bo", "cy"]}

    print("== order o-1: placed; the payment API fails twice before it succeeds", file=out)
    o1 = Machine(chart, data={**base, "order_id": "o-1", "total": 42}, session="o-1",
                 clock=clock, effects=effects, listeners=[_printer("o-1", clock, out)])
    o1.send("accept")
    o1.send("courier_declined", {"courier": "ana"})
    print("  (nobody answers the offer to bo for 60 s)", file=out)
    clock.advance(61)
    try:
        o1.send("courier_accepted", {"courier": "ana"})
    except EventNotAccepted as exc:
        print(f"  refused, as it should be: {exc}", file=out)

    folder = args.snapshot_dir or Path(tempfile.mkdtemp(prefix="statekeeper-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "o-1.json"
    saved.write_text(json.dumps(o1.snapshot.to_dict(), indent=2))
    print(f"== o-1 saved to {saved}; the machine is dropped and a new one resumes from the file",
          file=out)
    o1.close()
    o1 = Machine.from_snapshot(chart, json.loads(saved.read_text()), clock=clock,
                               effects=effects, listeners=[_printer("o-1", clock, out)])
    o1.send("courier_accepted", {"courier": "cy"})
    o1.send("food_ready")
    o1.send("picked_up")
    o1.send("delivered")

    print("== order o-2: the restaurant never answers", file=out)
    o2 = Machine(chart, data={**base, "order_id": "o-2", "total": 17}, session="o-2",
                 clock=clock, effects=effects, listeners=[_printer("o-2", clock, out)])
    clock.advance(5 * 60)

    print("== summary", file=out)
    for name, machine in (("o-1", o1), ("o-2", o2)):
        print(f"  {name}: {machine.configuration[-1]:<10} done={machine.done} "
              f"charge attempts={machine.data['charge_attempts']}", file=out)
    print(f"  payment API calls: {len(payments.calls)} (keys {', '.join(payments.calls)})",
          file=out)
    print(f"  refunds: {payments.refunds}", file=out)
    ok = o1.configuration == ("Delivered",) and o2.configuration == ("Cancelled",)
    print("  demo finished: " + ("OK" if ok else "UNEXPECTED STATE"), file=out)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
