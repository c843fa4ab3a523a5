"""CPU per transition of the durable data-driven chart, and where it goes (a developer's tool).

Not the README's benchmark (``python -m statekeeper.bench durable --only chart``): it runs the
same statekeeper cell (the chart of :mod:`statekeeper.bench.durable_chart` through
``AsyncClient`` on a fresh SQLite file at ``synchronous=FULL``, final states checked against
the model) once, and prints the rate and the CPU per transition.  With ``--profile`` every
thread of the process runs under its own ``cProfile`` and the merged statistics are printed,
with each thread's share of the CPU; profiling slows everything down, so compare the shares,
not the rate.  ``--starts`` measures durable starts instead.

    .venv/bin/python scripts/durable_cpu.py [--instances N] [--rounds R] [--senders S]
                                            [--starts] [--profile] [--top K]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from statekeeper.bench import durable_chart_runs
from statekeeper.bench.durable_chart_runs import run_sk_chart, run_sk_starts
from statekeeper.bench.timers import Settings, run_timers
from statekeeper.storage.sqlite import SQLiteStore

_profiles: list[tuple[str, cProfile.Profile, float]] = []
_lock = threading.Lock()


def _profile_threads(profiling: bool) -> None:
    """Keep each thread's CPU time; with ``profiling``, run it under a profile of its own."""
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        cpu = time.thread_time()
        if profiling:
            profile.enable()
        try:
            original(self)
        finally:
            profile.disable()
            with _lock:
                _profiles.append((self.name, profile, time.thread_time() - cpu))

    threading.Thread.run = run  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--starts", action="store_true", help="measure durable starts")
    parser.add_argument(
        "--timers",
        type=int,
        metavar="COUNT",
        help="run `bench timers` with COUNT timers due at --rate per second",
    )
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--profile", action="store_true", help="cProfile every thread")
    parser.add_argument(
        "--synchronous", default="FULL", help="PRAGMA synchronous of the store (OFF: what the fsync costs)"
    )
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument(
        "--thread", metavar="PREFIX", help="profile only threads whose name starts with PREFIX"
    )
    parser.add_argument("--callers", metavar="PATTERN", help="also print who calls these")
    args = parser.parse_args()
    main_profile = cProfile.Profile()
    if args.synchronous.upper() != "FULL":
        durable_chart_runs.SQLiteStore = functools.partial(  # type: ignore[misc]
            SQLiteStore, synchronous=args.synchronous.upper()
        )
    _profile_threads(args.profile)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if args.profile:
        main_profile.enable()
    main_cpu = time.thread_time()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "chart.db"
        run: Any
        if args.timers:
            timers = run_timers(path, Settings(count=args.timers, rate=args.rate))
            print(
                f"{timers.count:,} timers fired at {timers.fires_per_s:,.0f}/s, "
                f"{timers.cpu_us_per_fire:.0f} us CPU per fire, lateness ms p50 "
                f"{timers.percentile_ms(50.0):.1f} p99 {timers.percentile_ms(99.0):.1f} "
                f"max {timers.lateness_ms[-1]:.1f}; "
                f"{sum(1 for x in timers.lateness_ms if x > 1000):,} over 1 s late"
            )
            run = None
            unit = "timer"
        elif args.starts:
            run = run_sk_starts(path, count=args.instances, senders=args.senders)
            unit = "start"
        else:
            run = run_sk_chart(path, instances=args.instances, senders=args.senders, rounds=args.rounds)
            unit = "transition"
    main_cpu = time.thread_time() - main_cpu
    after = resource.getrusage(resource.RUSAGE_SELF)
    if args.profile:
        main_profile.disable()
    if run is not None:
        print(
            f"{run.units:,} {unit}s ({run.effects:,} effect outcomes besides) in {run.seconds:.2f}s: "
            f"{run.per_s:,.0f}/s, {run.cpu_us:.0f} us CPU per {unit}, "
            f"synchronous={run.synchronous}"
        )
    user, system = after.ru_utime - usage.ru_utime, after.ru_stime - usage.ru_stime
    print(
        f"whole run with setup: user {user:.2f}s, system {system:.2f}s, "
        f"{after.ru_nvcsw - usage.ru_nvcsw:,} voluntary context switches"
    )
    by_name: dict[str, float] = {}
    for name, _, cpu in _profiles:
        key = name.split(" (")[0].rstrip("0123456789").rstrip("-_ ") or name
        by_name[key] = by_name.get(key, 0.0) + cpu
    print(
        f"thread CPU (whole run, setup included): main {main_cpu:.2f}s, "
        + ", ".join(f"{k} {v:.2f}s" for k, v in sorted(by_name.items(), key=lambda kv: -kv[1]))
    )
    if not args.profile:
        return
    profiles = [p for name, p, _ in _profiles if args.thread is None or name.startswith(args.thread)]
    stats = pstats.Stats(*([main_profile] if args.thread is None else profiles[:1]))
    for profile in profiles[0 if args.thread is None else 1 :]:
        stats.add(profile)
    stats.sort_stats(args.sort).print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
