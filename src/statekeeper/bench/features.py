"""``python -m statekeeper.bench features``: what logging, metrics, authorization and tracing cost.

Issue 19 promises that none of the observability and security features costs more than 15%
of the committed transitions per second of a plain run.  This benchmark measures that on the
data-driven chart of ``bench durable`` (guards over data and payload, assigns, an effect and
a timer every four events; final states checked against a model), with 16 concurrent
senders on a fresh SQLite file per run at ``synchronous=FULL``:

* **plain**: the client as shipped (transition records at ``DEBUG``, which nobody handles:
  logging off);
* **logs**: ``Client(log_level=logging.INFO)`` with an ``INFO`` handler on ``statekeeper``
  writing every transition and effect record through :class:`~statekeeper.JsonFormatter`
  to a file, as ``docs/observability.md`` recommends: a
  :class:`~statekeeper.logging.GroupFileHandler` (flushed once per committed group, not per
  record); afterwards the file must hold one line per transition row of the database and
  one per effect attempt, so the run cannot skip records;
* **metrics**: ``Client(metrics=registry)`` recording into a real Prometheus registry,
  scraped (``generate_latest``) once at the end to prove it holds the run's counts;
* **tracing**: ``Client(tracing=provider)``, the SDK's ``TracerProvider`` with a
  ``BatchSpanProcessor`` whose exporter counts the spans and drops them (a collector's cost
  is not ours), every span sampled, and again with a 10% ratio sampler;
* **authorization**: a policy on ``add`` (a role and a guard over the principal and the
  instance, as "a customer may cancel only their own order" is written) and a
  :class:`~statekeeper.Principal` on every send;

The variants run interleaved, round after round, in a rotated order, so a noisy neighbour
hits them all alike; each variant's figure is its median over the rounds.  The cost of a
variant is ``1 - rate / plain rate`` (and its CPU per transition over plain's); CPU time of
the process per transition is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client import AsyncClient
from ..logging import GroupFileHandler, JsonFormatter
from ..runtime.authz import Allow, Policy, Principal
from ..runtime.state import InstanceState
from ._console import progress_printer
from .durable_chart import CHART_NAME, EVENT
from .durable_chart_runs import PLAIN, ChartRun, ClientSetup, run_sk_chart
from .durable_statekeeper import fresh_path
from .otel import sdk_available, sdk_provider

__all__ = ["BUDGET", "DESCRIPTION", "VARIANTS", "Variant", "add_arguments", "measure", "run"]

DESCRIPTION = ("The cost of structured logs, Prometheus metrics, per-event authorization and "
               "OpenTelemetry tracing on durable transitions per second (the data-driven chart "
               "of bench durable, 16 senders, SQLite FULL), each beside a plain run, "
               "interleaved over several rounds.")
#: The most a feature may cost, as a fraction of the plain run's transitions per second.
BUDGET = 0.15
SENDERS = 16


@dataclass(frozen=True)
class Variant:
    """One way to run the chart: its name and a context that yields its client setup.

    The context owns what the variant needs around the run (a log file and its handler, a
    registry) and checks afterwards that the feature really worked during it.  It is given
    the run's database file (its folder holds what the context writes).
    """

    name: str
    what: str
    arrange: Callable[[Path], Any]  # database Path -> context manager yielding ClientSetup
    available: Callable[[], bool] = lambda: True


@contextmanager
def _plain(database: Path) -> Iterator[ClientSetup]:
    yield PLAIN


@contextmanager
def _logs(database: Path) -> Iterator[ClientSetup]:
    path = database.parent / "transitions.jsonl"
    handler = GroupFileHandler(path)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("statekeeper")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the file is the sink, not the console
    try:
        yield ClientSetup(options={"log_level": logging.INFO})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
        handler.close()
    _check_log(path, database)
    path.unlink()


def _check_log(path: Path, database: Path) -> None:
    """The log file holds a record per transition row and per effect attempt, no fewer."""
    found = {"statekeeper.transitions": 0, "statekeeper.effects": 0}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["logger"] in found:
                found[record["logger"]] += 1
            if record["logger"] == "statekeeper.transitions" and record["chart"] != CHART_NAME:
                raise RuntimeError(f"logs: a record of another chart: {record!r}")
    if not found["statekeeper.transitions"]:
        raise RuntimeError("logs: no record reached the file")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT count(*) FROM transitions").fetchone()[0]
        attempts = db.execute("SELECT coalesce(sum(attempts), 0) FROM outbox").fetchone()[0]
    want = {"statekeeper.transitions": rows, "statekeeper.effects": attempts}
    if found != want or not rows:
        raise RuntimeError(f"logs: the file holds {found} records, the database says {want}")


@contextmanager
def _metrics(database: Path) -> Iterator[ClientSetup]:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    yield ClientSetup(options={"metrics": registry})
    text = generate_latest(registry).decode()
    if f'chart="{CHART_NAME}"' not in text:
        raise RuntimeError("metrics: the registry holds no series of the benchmark's chart")


def _own(principal: Principal, instance: InstanceState) -> bool:
    """The instance is one of the principal's tenants' (its id starts with their prefix)."""
    return instance.id.startswith(principal.attributes["prefixes"])


#: One principal for every sender; its tenants are the measured ids ("m-") and the warm-up's.
TENANT = Principal("tenant-1", roles={"reader"}, attributes={"prefixes": ("m-", "w-")})


def _authorize(client: AsyncClient) -> None:
    client.authorize(CHART_NAME, Policy(events={EVENT: Allow(roles={"reader"}, guard=_own)}))


@contextmanager
def _authz(database: Path) -> Iterator[ClientSetup]:
    yield ClientSetup(setup=_authorize, send_options={"principal": TENANT})


def _tracing(ratio: float) -> Callable[[Path], Any]:
    @contextmanager
    def arrange(database: Path) -> Iterator[ClientSetup]:
        provider, exported = sdk_provider(ratio)
        yield ClientSetup(options={"tracing": provider})
        provider.shutdown()  # flushes the batch
        if not exported.spans:
            raise RuntimeError("tracing: no span was exported")
    return arrange


VARIANTS: tuple[Variant, ...] = (
    Variant("plain", "logging off, no metrics, no policy, no tracing", _plain),
    Variant("logs", "INFO records as JSON lines to a file", _logs),
    Variant("metrics", "Prometheus registry, scraped at the end", _metrics),
    Variant("authorization", "a role and a guard over the instance per send", _authz),
    Variant("tracing", "a span per step and effect attempt, every one sampled", _tracing(1.0),
            sdk_available),
    Variant("tracing-10%", "the same, ParentBased(TraceIdRatioBased(0.1)) sampler",
            _tracing(0.1), sdk_available),
)


def measure(folder: Path, *, rounds: int, instances: int, adds: int,
            only: list[str] | None = None,
            progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run every available variant ``rounds`` times, interleaved; return the figures."""
    chosen = [v for v in VARIANTS if (only is None or v.name in only or v.name == "plain")]
    skipped = [v.name for v in chosen if not v.available()]
    chosen = [v for v in chosen if v.available()]
    runs: dict[str, list[ChartRun]] = {v.name: [] for v in chosen}
    for r in range(rounds):
        order = chosen[r % len(chosen):] + chosen[:r % len(chosen)]
        for variant in order:
            path = fresh_path(folder, f"{variant.name}.db")
            with variant.arrange(path) as extra:
                run = run_sk_chart(path, instances=instances, senders=SENDERS, rounds=adds,
                                   extra=extra)
            runs[variant.name].append(run)
            progress(f"round {r + 1}/{rounds} {variant.name}: {run.per_s:,.0f} tx/s, "
                     f"{run.cpu_us:.0f} us CPU/tx")
    rows: dict[str, dict[str, Any]] = {}
    for variant in chosen:
        per_s = statistics.median(run.per_s for run in runs[variant.name])
        cpu_us = statistics.median(run.cpu_us for run in runs[variant.name])
        rows[variant.name] = {"what": variant.what, "per_s": per_s, "cpu_us": cpu_us,
                              "runs": [{"per_s": x.per_s, "cpu_us": x.cpu_us,
                                        "synchronous": x.synchronous}
                                       for x in runs[variant.name]]}
    plain = rows["plain"]
    for row in rows.values():
        row["cost"] = 1.0 - row["per_s"] / plain["per_s"]
        row["cpu_ratio"] = row["cpu_us"] / plain["cpu_us"]
        row["within_budget"] = row["cost"] <= BUDGET
    return {"benchmark": "features", "budget": BUDGET, "senders": SENDERS,
            "instances": instances, "adds_per_instance": adds, "rounds": rounds,
            "python": platform.python_version(), "variants": rows, "skipped": skipped}


def markdown(result: dict[str, Any]) -> str:
    """The README's table: rate, CPU per transition, and the cost beside the plain run."""
    lines = ["| run | transitions/s | CPU µs/transition | cost vs plain |",
             "|---|---:|---:|---:|"]
    for name, row in result["variants"].items():
        cost = "—" if name == "plain" else (f"{-row['cost'] * 100:+.1f}% transitions/s, "
                                            f"{row['cpu_ratio']:.2f}x CPU")
        lines.append(f"| {name}: {row['what']} | {row['per_s']:,.0f} | {row['cpu_us']:.0f} "
                     f"| {cost} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--instances", type=int, default=1_000)
    parser.add_argument("--adds", type=int, default=20, help="add events per instance per run")
    parser.add_argument("--only", nargs="+", choices=[v.name for v in VARIANTS],
                        help="these variants (plain always runs)")
    parser.add_argument("--quick", action="store_true", help="a run of seconds (smoke tests)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--markdown", type=Path, help="write the README table to this file")


def run(args: argparse.Namespace) -> int:
    rounds, instances, adds = args.rounds, args.instances, args.adds
    if args.quick:
        rounds, instances, adds = 1, 64, 4
    progress = progress_printer("features")
    with tempfile.TemporaryDirectory(prefix="sk-features-") as folder:
        result = measure(Path(folder), rounds=rounds, instances=instances, adds=adds,
                         only=args.only, progress=progress)
    for name in result["skipped"]:
        progress(f"{name}: skipped (its extra is not installed)")
    table = markdown(result)
    sys.stdout.write(table)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    over = [n for n, row in result["variants"].items() if not row["within_budget"]]
    if over:
        progress(f"over the {BUDGET:.0%} budget: {', '.join(over)}")
    return 0
