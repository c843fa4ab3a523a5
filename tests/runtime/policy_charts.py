"""Charts and a flaky downstream shared by the policy tests and their worker processes."""

from __future__ import annotations

from typing import Any

from statekeeper import Chart, Effect, Final, State
from statekeeper.resilience import Retry

RETRY = Retry(4, base_delay=1.0, max_delay=8.0, jitter="none", fatal=("ValueError",))


def order(*, retry: Retry | None = RETRY, breaker: str | None = None,
          bulkhead: int | None = None, rate: str | None = None, timeout: str | None = None,
          blocked: str | None = None) -> Chart:
    """``placed --pay--> charging``; the charge's outcome decides ``paid`` or ``failed``."""
    on: dict[str, Any] = {"done.effect.charge": "paid", "error.effect.charge": "failed"}
    if blocked is not None:
        on["blocked.effect.charge"] = blocked
    states: dict[str, Any] = {
        "placed": State(on={"pay": "charging"}),
        "charging": State(entry=[Effect("charge", args={"amount": 42}, retry=retry,
                                        breaker=breaker, bulkhead=bulkhead, rate=rate,
                                        timeout=timeout)], on=on),
        "paid": Final(),
        "failed": Final(),
    }
    if blocked is not None:
        states["waiting"] = State(on={"retry": "charging"})
    return Chart("order", version=1, initial="placed", states=states)


class Downstream:
    """A payment API that fails its first ``failures`` calls (then succeeds)."""

    def __init__(self, failures: int = 0, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[str] = []

    def charge(self, args: dict[str, Any], key: str) -> dict[str, Any]:
        self.calls.append(key)
        if len(self.calls) <= self.failures:
            raise self.error(f"payments down (call {len(self.calls)})")
        return {"charged": args["amount"]}
