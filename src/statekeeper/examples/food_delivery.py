"""The main demo: durable food-delivery orders on one SQLite file (``bash scripts/demo``).

Two orders run as durable instances in a SQLite file, on a virtual clock so that minutes pass
instantly.  The demo runs in two real processes:

1. The first process places ``o-1`` and ``o-2``.  The payment API (the world outside, stood in
   for by a ledger file) fails twice before it succeeds; each failure comes back to the chart as
   ``error.effect.charge`` and the chart charges again.  The restaurant accepts ``o-1``; the
   first courier declines and the offer goes to the next.  Then the process kills itself with
   SIGKILL, with a courier offer and the restaurant's 5-minute timeout still pending.
2. A new process opens the same file 90 seconds later.  The courier offer that lapsed during the
   downtime fires at once (its lateness is recorded), the courier who declined is refused, the
   order is delivered, and ``o-2``, which the restaurant never answered, is cancelled and
   refunded when its timer comes due.

Every transition is printed from the transition log as it commits; the run ends with a summary
and a store integrity check.  Run a single phase with ``--phase first|second --db FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from statekeeper import EventNotAccepted, VirtualClock
from statekeeper.client import Client
from statekeeper.core.compile import AFTER_PREFIX, CompiledChart
from statekeeper.examples.order import compile_order

__all__ = ["PaymentAPI", "main"]

#: How long the first process is "down" before the second one starts, in virtual seconds.
DOWNTIME = 90.0


class PaymentAPI:
    """Stands in for the user's payment provider; it keeps its ledger in a JSON-lines file.

    The first ``failures`` charges time out.  Every call is appended to the ledger with the
    idempotency key statekeeper passed, so the summary can show that each outbox row was
    charged under one key, across both processes.
    """

    def __init__(self, ledger: Path, failures: int = 2) -> None:
        self.ledger = ledger
        self.failures = failures

    def calls(self) -> list[dict[str, Any]]:
        if not self.ledger.exists():
            return []
        return [json.loads(line) for line in self.ledger.read_text().splitlines() if line]

    def _record(self, call: dict[str, Any]) -> None:
        with self.ledger.open("a") as out:
            out.write(json.dumps(call) + "\n")

    def charge(self, args: dict[str, Any], key: str) -> dict[str, Any]:
        attempt = sum(1 for c in self.calls() if c["op"] == "charge") + 1
        ok = attempt > self.failures
        self._record({"op": "charge", "key": key, "order": args["order"], "ok": ok})
        if not ok:
            raise ConnectionError("payment API timed out")
        return {"charge_id": f"ch_{attempt}", "amount": args["amount"]}

    def refund(self, args: dict[str, Any], key: str) -> dict[str, Any]:
        self._record({"op": "refund", "key": key, "order": args["order"], "ok": True,
                      "amount": args["amount"]})
        return {"refunded": args["amount"]}


class LogPrinter:
    """Prints each instance's new transition-log rows: what committed, in commit order."""

    def __init__(self, client: Client, chart: CompiledChart, out: TextIO) -> None:
        self.client = client
        self.chart = chart
        self.out = out
        self.seen: dict[str, int] = {}

    def skip_printed(self, *instances: str) -> None:
        """Start following instances whose earlier rows another process already printed."""
        for instance in instances:
            rows = self.client.history(instance)
            self.seen[instance] = rows[-1].seq if rows else 0

    def show(self, *instances: str) -> None:
        for instance in instances or tuple(self.seen):
            for row in self.client.history(instance):
                if row.seq <= self.seen.get(instance, 0):
                    continue
                self.seen[instance] = row.seq
                event = row.event
                if event.startswith(AFTER_PREFIX):
                    event = f"(timer of {event[len(AFTER_PREFIX):].rsplit('.', 1)[0]})"
                target = ", ".join(self.leaves(row.target))
                note = f"  [{row.outcome}]" if row.outcome != "applied" else ""
                if row.reason:
                    note += f"  ({row.reason})"
                print(f"  t={row.at:>4.0f}s  {instance}  #{row.seq:<2} {event:<26} -> {target}{note}",
                      file=self.out)

    def leaves(self, configuration: tuple[str, ...]) -> list[str]:
        active = set(configuration)
        parents = {self.chart.nodes[s].parent.id for s in configuration  # type: ignore[union-attr]
                   if s in self.chart.nodes and self.chart.nodes[s].parent is not None}
        return [s for s in configuration if s in active and s not in parents]


def _open(db: Path, ledger: Path, start: float) -> tuple[Client, VirtualClock, CompiledChart]:
    clock = VirtualClock(start)
    client = Client(f"sqlite:///{db}", clock=clock, worker=False)
    payments = PaymentAPI(ledger)
    chart = client.register(compile_order(), effects={"charge": payments.charge,
                                                      "refund": payments.refund})
    return client, clock, chart


def _settle(client: Client, printer: LogPrinter) -> None:
    """Run due timers and effects (in this thread, on the virtual clock) and print the log."""
    client.worker.run_until_idle()
    printer.show()


def first_phase(db: Path, ledger: Path, out: TextIO) -> int:
    """Place both orders, get o-1 under way, then die with work still pending."""
    client, clock, chart = _open(db, ledger, 0.0)
    printer = LogPrinter(client, chart, out)
    base = {"couriers": ["ana", "bo", "cy"]}
    print(f"== process {os.getpid()}: orders o-1 and o-2 are placed; the payment API fails twice",
          file=out)
    client.start("order", "o-1", data={**base, "order_id": "o-1", "total": 42},
                 labels={"city": "Oslo"})
    printer.seen["o-1"] = 0
    _settle(client, printer)
    client.start("order", "o-2", data={**base, "order_id": "o-2", "total": 17},
                 labels={"city": "Bergen"})
    printer.seen["o-2"] = 0
    _settle(client, printer)
    clock.advance(20)
    client.send("o-1", "accept", actor="restaurant", idempotency_key="o-1:accept")
    _settle(client, printer)
    clock.advance(25)
    client.send("o-1", "courier_declined", {"courier": "ana"}, actor="ana")
    _settle(client, printer)
    clock.advance(5)
    print(f"== t={clock.now():.0f}s: process {os.getpid()} kills itself (SIGKILL) with o-1's "
          "courier offer and o-2's restaurant timeout pending", file=out)
    out.flush()
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(9)  # pragma: no cover - platforms without SIGKILL


def second_phase(db: Path, ledger: Path, out: TextIO) -> int:
    """Start on the same file after the downtime and finish both orders."""
    client, clock, chart = _open(db, ledger, 0.0)
    try:
        if not client.query(chart="order"):
            print(f"no orders in {db}: run the first phase first (or the whole demo)",
                  file=sys.stderr)
            return 2
        return _resume(client, clock, chart, ledger, out)
    finally:
        client.close()


def _resume(client: Client, clock: VirtualClock, chart: CompiledChart, ledger: Path,
            out: TextIO) -> int:
    printer = LogPrinter(client, chart, out)
    printer.skip_printed("o-1", "o-2")
    stopped = max(state.updated_at for state in client.query(chart="order"))
    clock.advance(stopped + DOWNTIME - clock.now())
    print(f"== process {os.getpid()}: the same file {DOWNTIME:.0f}s later; o-1 is "
          f"{', '.join(printer.leaves(client.get('o-1').configuration))}", file=out)
    _settle(client, printer)  # the courier offer that lapsed during the downtime fires now
    try:
        client.send("o-1", "courier_accepted", {"courier": "ana"}, actor="ana")
    except EventNotAccepted as exc:
        printer.show("o-1")
        print(f"  refused, as it should be (ana declined earlier): {exc}", file=out)
    offered = client.get("o-1").data["courier"]
    for event, data, wait in (("courier_accepted", {"courier": offered}, 10),
                              ("food_ready", None, 10), ("picked_up", None, 10),
                              ("delivered", None, 120)):
        clock.advance(wait)
        client.send("o-1", event, data, idempotency_key=f"o-1:{event}")
        _settle(client, printer)
    print("  (a retried request with the same idempotency key changes nothing)", file=out)
    again = client.send("o-1", "delivered", idempotency_key="o-1:delivered")
    print(f"  o-1 'delivered' again -> outcome={again.outcome}, rev={again.rev}", file=out)
    due = min(timer.due for timer in client.store.timers("o-2"))
    clock.advance(max(0.0, due - clock.now()))
    _settle(client, printer)  # o-2's restaurant timeout
    ok = _summary(client, PaymentAPI(ledger), out)
    return 0 if ok else 1


def _explain_keys(calls: list[dict[str, Any]], out: TextIO) -> None:
    """Say why a retried charge has a new key while an effect's own attempts share one."""
    charges = [c["key"] for c in calls if c["op"] == "charge" and c["order"] == "o-1"]
    print(f"  why o-1 was charged under {len(charges)} keys ({', '.join(charges)}):\n"
          f"    the chart retries a failed charge itself: error.effect.charge enters Placed\n"
          f"    again, whose entry starts the charge: a new step, so a new effect with a new\n"
          f"    key (<instance>:<rev>:<effect>, naming the step that started it). A charge\n"
          f"    the chart retries is a new request to the payment API, not a repeat.\n"
          f"    An effect retried by its own policy (Effect(retry=Retry(...))), or run again\n"
          f"    after a crash, keeps its one key on every attempt: that is what lets the\n"
          f"    payment API refuse to charge twice for one request.", file=out)


def _summary(client: Client, payments: PaymentAPI, out: TextIO) -> bool:
    print("== summary", file=out)
    finals = {}
    for order in ("o-1", "o-2"):
        state = client.get(order)
        rows = client.history(order)
        counts = {o: sum(1 for r in rows if r.outcome == o) for o in ("applied", "rejected")}
        late = [r.reason for r in rows if r.reason and "late" in r.reason]
        finals[order] = state.state
        print(f"  {order}: {state.state:<10} status={state.status}  log rows={len(rows)} "
              f"(applied {counts['applied']}, rejected {counts['rejected']})  "
              f"charge attempts={state.data['charge_attempts']}"
              + (f"  late timers: {'; '.join(late)}" if late else ""), file=out)
    calls = payments.calls()
    for call in calls:
        print(f"  payment API {call['op']:<6} {call['order']}  ok={call['ok']!s:<5}  key={call['key']}",
              file=out)
    keys = [c["key"] for c in calls]
    problems = client.store.integrity_check()
    print(f"  idempotency keys: {len(keys)} calls, {len(set(keys))} distinct", file=out)
    _explain_keys(calls, out)
    print(f"  store integrity check: {problems if problems else 'ok'}", file=out)
    refunds = [c for c in calls if c["op"] == "refund" and c["order"] == "o-2"]
    ok = (finals == {"o-1": "Delivered", "o-2": "Cancelled"} and len(set(keys)) == len(keys)
          and len(refunds) == 1 and not problems)
    print("  demo finished: " + ("OK" if ok else "UNEXPECTED RESULT"), file=out)
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the demo (both phases, each in its own process); returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.examples.food_delivery",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", type=Path, default=None,
                        help="the SQLite file (default: a new one in a temporary folder)")
    parser.add_argument("--phase", choices=["all", "first", "second"], default="all",
                        help="run one process's part only (used by the demo itself)")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.phase != "all":
        if args.db is None:
            parser.error("--phase needs --db")
        ledger = args.db.with_suffix(".payments.jsonl")
        return (first_phase if args.phase == "first" else second_phase)(args.db, ledger, out)
    db = args.db or Path(tempfile.mkdtemp(prefix="statekeeper-demo-")) / "orders.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    for stale in (db, db.with_suffix(".payments.jsonl"), Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    print(f"== food-delivery orders, durable in {db}", file=out)
    out.flush()
    command = [sys.executable, "-m", "statekeeper.examples.food_delivery", "--db", str(db)]
    first = subprocess.run([*command, "--phase", "first"], check=False)
    how = f"signal {-first.returncode}" if first.returncode < 0 else f"exit {first.returncode}"
    print(f"== the first process is gone ({how}); nothing it committed is lost", file=out)
    out.flush()
    return subprocess.run([*command, "--phase", "second"], check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
