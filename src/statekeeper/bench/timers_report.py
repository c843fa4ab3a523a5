"""The table and the JSON of ``python -m statekeeper.bench timers`` (split from ``timers``).

Why apart: the run (starting, firing, measuring) and its report change for different
reasons; the JSON's shape is documented and checked by tests/bench/test_timers_smoke.py.
"""

from __future__ import annotations

import platform
import sqlite3
from typing import TYPE_CHECKING, Any

from .durable_report import statekeeper_version
from .timing import percentile

if TYPE_CHECKING:
    from .timers import TimerRun

__all__ = ["TARGET_P99_MS", "format_table", "to_json"]

#: statekeeper's figure the issue asks for: p99 lateness under this many milliseconds.
TARGET_P99_MS = 100.0


def to_json(run: TimerRun, load: dict[str, Any]) -> dict[str, Any]:
    """The documented JSON of one run."""
    return {
        "count": run.count,
        "rate_asked": run.rate,
        "fires_per_s": round(run.fires_per_s, 1),
        "lateness_ms": {name: round(run.percentile_ms(q), 2) for name, q in
                        (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9),
                         ("max", 100.0))},
        "cpu_us_per_fire": round(run.cpu_us_per_fire, 1),
        "starts_per_s": round(run.count / run.start_seconds, 1) if run.start_seconds else None,
        "all_pending_before_first_due": run.started_before_due,
        "synchronous": run.synchronous,
        "gc_tuned": run.gc_tuned,
        "lateness_by_cause_ms": _by_cause(run),
        "scans": _scans(run.scan_sizes),
        "gc_while_firing": run.gc,
        "target_p99_ms": TARGET_P99_MS,
        "load_average": load,
        "versions": {"statekeeper": statekeeper_version(), "python": platform.python_version(),
                     "sqlite": sqlite3.sqlite_version},
    }


def _by_cause(run: TimerRun) -> dict[str, dict[str, float]] | None:
    """p50/p99 of the wait for a scan, and of the rest (lateness minus that wait)."""
    if not run.scan_wait_ms:
        return None
    return {"scan_wait": _p50_p99(run.scan_wait_ms), "after_read": _p50_p99(run.after_read_ms)}


def _p50_p99(values: list[float]) -> dict[str, float]:
    return {name: round(percentile(values, q) or 0.0, 2) for name, q in
            (("p50", 50.0), ("p99", 99.0), ("max", 100.0))}


def _scans(sizes: list[int]) -> dict[str, Any] | None:
    """How many scans found timers, and how many each handed over (median and largest)."""
    if not sizes:
        return None
    ordered = sorted(sizes)
    return {"count": len(sizes), "timers_p50": percentile([float(n) for n in ordered], 50.0),
            "timers_max": ordered[-1]}


def format_table(data: dict[str, Any]) -> str:
    late = data["lateness_ms"]
    ok = late["p99"] < TARGET_P99_MS
    return "\n".join([
        f"statekeeper durable timers: Python {data['versions']['python']}, SQLite "
        f"{data['versions']['sqlite']}, synchronous={data['synchronous']}, "
        f"{data['count']:,} pending, due {data['rate_asked']:,.0f}/s",
        f"fired {data['fires_per_s']:,.0f}/s; CPU {data['cpu_us_per_fire']:,.0f} us per fire; "
        f"started {data['starts_per_s'] or 0:,.0f}/s beforehand",
        "lateness (due to committed fire), ms: " + ", ".join(
            f"{k} {v:,.1f}" for k, v in late.items()),
        f"target p99 < {TARGET_P99_MS:g} ms: {late['p99']:,.1f} {'ok' if ok else 'MISSED'}",
        *_cause_lines(data),
        *_gc_lines(data),
        *([] if data["all_pending_before_first_due"] else
          ["note: the starts were still running when the first timer fell due"]),
        f"load average before/after: {data['load_average']}",
    ])


def _cause_lines(data: dict[str, Any]) -> list[str]:
    causes, scans = data.get("lateness_by_cause_ms"), data.get("scans")
    if not causes or not scans:
        return []
    wait, rest = causes["scan_wait"], causes["after_read"]
    return [f"by cause, ms: due to read by a scan p50 {wait['p50']:,.1f} p99 {wait['p99']:,.1f}; "
            f"read to committed fire p50 {rest['p50']:,.1f} p99 {rest['p99']:,.1f}; "
            f"{scans['count']:,} scans, {scans['timers_p50']:,.0f} timers each (p50), "
            f"at most {scans['timers_max']:,}"]


def _gc_lines(data: dict[str, Any]) -> list[str]:
    found = data.get("gc_while_firing")
    if not found:
        return []
    share = found["late_with_full"]
    how = ("tuned (Client(gc=True), as statekeeper worker sets it by default)"
           if data.get("gc_tuned") else "as Python sets it (--no-gc-tuned; a Client's default)")
    return [f"garbage collector {how}; while firing: " + ", ".join(
                f"gen{g} {found[f'gen{g}']['count']:,} ({found[f'gen{g}']['total_ms']:,.0f} ms, "
                f"max {found[f'gen{g}']['max_ms']:,.1f}; CPU max "
                f"{found[f'gen{g}'].get('cpu_max_ms', 0.0):,.1f})" for g in (0, 1, 2)),
            f"fires at least p99 late: {found['late_fires']:,}, "
            f"{'-' if share is None else f'{share:.0%}'} with a full collection in their wait"]
