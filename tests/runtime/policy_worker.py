"""A worker process for the policy tests: does one thing on a SQLite file, then dies by SIGKILL.

``python policy_worker.py DB MODE START`` with a virtual clock at ``START``:

* ``fail-then-die``: pays ``o-1``; the charge fails once and is released for its backoff;
  prints the outbox row as JSON and kills itself during the backoff.
* ``trip``: pays ``t-1`` and ``t-2`` through breaker ``payments``; both charges fail, which
  opens the breaker (in the store); prints the breaker state and kills itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from policy_charts import Downstream, order

from statekeeper import VirtualClock
from statekeeper.client import Client
from statekeeper.resilience import Breaker

BREAKER = Breaker("payments", failure_rate=1.0, min_calls=2, window=10, open_for=60.0)


def main(db: str, mode: str, start: float) -> None:
    client = Client(f"sqlite:///{db}", clock=VirtualClock(start), worker=False,
                    breakers={"payments": BREAKER})
    api = Downstream(failures=99)
    if mode == "fail-then-die":
        client.register(order(), effects={"charge": api.charge})
        client.start("order", "o-1")
        client.send("o-1", "pay")
        client.worker.run_until_idle()
        [row] = client.store.effects("o-1")
        report = {"status": row.status, "attempts": row.attempts,
                  "available_at": row.available_at, "errors": row.errors, "calls": api.calls}
    elif mode == "trip":
        client.register(order(retry=None, breaker="payments", blocked="waiting"),
                        effects={"charge": api.charge})
        for iid in ("t-1", "t-2"):
            client.start("order", iid)
            client.send(iid, "pay")
        client.worker.run_until_idle()
        report = {"breaker": client.worker.policies.state("payments").status,
                  "calls": api.calls}
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # no clean shutdown: only what was committed counts


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
