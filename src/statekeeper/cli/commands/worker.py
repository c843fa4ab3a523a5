"""``statekeeper worker``: a process that runs effects and fires timers for the given charts.

Why a command: on PostgreSQL the application processes only start and send, and separate
worker processes, on any number of machines, run the effects and timers.  A worker needs the
charts (``--chart FILE``) and the Python functions their effects and guards name; those come
from modules (``--module pkg.mod``), imported as ``python -m`` would (the current directory
is on the path).  A module either

- defines ``register(client)``, called with the worker's :class:`~statekeeper.client.Client`
  to register its own charts (``client.register(chart, effects=...)``), or
- defines ``EFFECTS``, ``GUARDS``, ``FUNCTIONS`` (mappings of name to function) and
  ``AT_MOST_ONCE`` (names), which bind the ``--chart`` files by name.

The worker process sets Python's garbage collector for the engine once the charts are
registered (:mod:`statekeeper.runtime.gc_tuning`: ``gc.freeze()`` and a young threshold of
50,000; measured in docs/durable.md, "Timers under load"); ``--no-gc-tuned`` leaves Python's.

``--metrics-port N`` serves Prometheus metrics at ``http://HOST:N/metrics`` (needs the
``metrics`` extra; ``docs/observability.md`` lists them); port 0 takes any free port, which
the log names.  ``--stuck-after STATE=DURATION`` (or ``CHART:STATE=DURATION``, repeated)
sets the thresholds of the stuck-instances gauge.  ``--tracing`` makes OpenTelemetry spans of
the steps and effect attempts it runs with the global tracer provider, which one of the
modules sets up (its exporter and sampler are the application's); an effect's span continues
the trace its outbox row keeps.

SIGTERM or Ctrl-C drains: no new effect is claimed, those running get ``--drain-timeout``
seconds to finish and commit their outcome; the leases of any still running are released
(their attempt counted) so another worker takes them up at once; the process then exits.

Exit status: 0 stopped by a signal with every running effect finished; 1 could not start
(a store that does not exist or cannot be reached, a chart or module that does not load, an
effect no module provides, a metrics port in use); 2 usage error; 3 stopped with effects abandoned after
``--drain-timeout`` (their leases released).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from .._common import CommandError, Subparsers, add_trust_arguments, database_path, load

if TYPE_CHECKING:
    from statekeeper.client import Client

__all__ = ["EXIT_ABANDONED", "register", "run"]

#: the exit status when effects were still running after ``--drain-timeout``
EXIT_ABANDONED = 3
_log = logging.getLogger("statekeeper.worker")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, not {text!r}")
    return value


def _stuck(text: str) -> tuple[str, str]:
    from statekeeper.runtime.gauges import InvalidStuckAfter, parse_stuck_after

    key, _, duration = text.rpartition("=")
    try:
        parse_stuck_after({key: duration})
    except InvalidStuckAfter as exc:
        raise argparse.ArgumentTypeError(f"{exc} (the form: STATE=DURATION or "
                                         f"CHART:STATE=DURATION, say offered=5m)") from None
    return key, duration


def register(subparsers: Subparsers) -> None:
    """Add the ``worker`` command."""
    parser = subparsers.add_parser(
        "worker", help="run effects and timers for charts (a worker process)",
        description="Run the effects and timers of the given charts until SIGTERM or Ctrl-C, "
                    "then drain. Any number of workers may share a PostgreSQL store, on any "
                    "number of machines; exit status 0 (drained), 1 (could not start), "
                    "3 (effects abandoned after --drain-timeout).")
    parser.add_argument("--db", required=True, metavar="STORE",
                        help="the store: postgresql://user@host/db?schema=name, or a SQLite "
                             "file (it must exist: an application created it)")
    parser.add_argument("--chart", action="append", default=[], metavar="FILE",
                        help="a chart file to serve, its effects and guards bound by name to "
                             "those the modules define (repeat for several)")
    parser.add_argument("--module", action="append", default=[], metavar="PKG.MOD",
                        help="a module defining register(client), or EFFECTS/GUARDS/FUNCTIONS "
                             "mappings for the --chart files (repeat for several)")
    parser.add_argument("--concurrency", type=_count, default=8, metavar="N",
                        help="effects run at once (default 8)")
    parser.add_argument("--poll", type=_seconds, default=5.0, metavar="SECONDS",
                        help="seconds between looks for work nobody announced (default 5; on "
                             "PostgreSQL wake-ups come by NOTIFY, so this is a fallback)")
    parser.add_argument("--lease", type=_seconds, default=30.0, metavar="SECONDS",
                        help="seconds an effect is leased for (default 30); it is extended "
                             "while the effect runs, and fail-over of the leader takes at "
                             "most a third of it")
    parser.add_argument("--drain-timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="on SIGTERM or Ctrl-C, seconds running effects get to finish "
                             "(default 30)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="what to log on stderr (default INFO: leases and leadership)")
    parser.add_argument("--metrics-port", type=_port, default=None, metavar="N",
                        help="serve Prometheus metrics at http://HOST:N/metrics (needs "
                             "statekeeper[metrics]; 0: any free port, logged)")
    parser.add_argument("--metrics-host", default="0.0.0.0", metavar="HOST",
                        help="the address the metrics server listens on (default 0.0.0.0)")
    parser.add_argument("--tracing", action="store_true",
                        help="make OpenTelemetry spans of steps and effect attempts with the "
                             "global tracer provider, which a --module sets up (needs "
                             "statekeeper[tracing])")
    parser.add_argument("--gc-tuned", action=argparse.BooleanOptionalAction, default=True,
                        help="once the charts are registered, freeze what exists and raise "
                             "Python's young GC threshold to 50,000: no full collections "
                             "holding up timers (default on; --no-gc-tuned: Python's own)")
    parser.add_argument("--stuck-after", type=_stuck, action="append", default=[],
                        metavar="[CHART:]STATE=DURATION",
                        help="with --metrics-port: count the instances in STATE for longer "
                             "than DURATION as stuck (repeat for more states)")
    add_trust_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until a signal; drain; return the exit status."""
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.chart and not args.module:
        raise CommandError("nothing to serve: give --chart FILE and/or --module PKG.MOD")
    url = database_path(str(args.db))
    modules = [_import(name) for name in args.module]
    charts = [(path, load(path, trusted=args.trusted, base_dir=args.base_dir))
              for path in args.chart]
    stop = threading.Event()
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGTERM,
                                                                   signal.SIGINT)}
    try:
        return _serve(args, url, modules, charts, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace, url: str, modules: list[ModuleType],
           charts: list[tuple[str, Any]], stop: threading.Event) -> int:
    from statekeeper.client import Client
    from statekeeper.runtime.metrics import MetricsUnavailable, serve_metrics
    from statekeeper.runtime.tracing import TracingUnavailable

    metered = args.metrics_port is not None
    if args.stuck_after and not metered:
        raise CommandError("--stuck-after sets a metric's thresholds: give --metrics-port too")
    try:
        client = Client(url, worker=False, lease=args.lease, concurrency=args.concurrency,
                        poll=args.poll, metrics=metered, tracing=args.tracing,
                        stuck_after=dict(args.stuck_after))
    except MetricsUnavailable as exc:
        raise CommandError(f"--metrics-port: {exc}") from None
    except TracingUnavailable as exc:
        raise CommandError(f"--tracing: {exc}") from None
    server = None
    try:
        if metered:
            try:
                server = serve_metrics(args.metrics_port, addr=args.metrics_host)
            except OSError as exc:  # MetricsPortInUse, or an address not of this machine
                raise CommandError(f"--metrics-port: {exc}") from None
            _log.info("serving metrics at http://%s:%d/metrics", args.metrics_host, server.port)
        return _run(args, url, client, modules, charts, stop)
    finally:
        if server is not None:
            server.close()
        client.close(0)  # idempotent: after a drain it does nothing; on a failure it frees all


def _run(args: argparse.Namespace, url: str, client: Any, modules: list[ModuleType],
         charts: list[tuple[str, Any]], stop: threading.Event) -> int:
    names = _bind(client, modules, charts)
    if args.gc_tuned:  # after the set-up, which is what gc.freeze() keeps out of collections
        from statekeeper.runtime.gc_tuning import tune_gc

        young = tune_gc(engine=client.engine)  # the thresholds replaced
        _log.info("garbage collector tuned: young threshold %d (was %d), %d objects frozen",
                  gc.get_threshold()[0], young[0], gc.get_freeze_count())
    worker = client.worker
    _log.info("worker %s serving %s on %s (concurrency %d, poll %gs, lease %gs, pid %d)",
              worker.owner, ", ".join(names) or "no chart", _shown(url, client), args.concurrency,
              args.poll, args.lease, os.getpid())
    worker.start()
    reported: tuple[bool, tuple[str, ...]] = (False, ())
    while not stop.wait(1.0):
        reported = _report(worker.owner, worker.leader, tuple(worker.holding()), reported)
    running = worker.holding()
    _log.info("stopping: draining %d running effect(s) for up to %gs", len(running),
              args.drain_timeout)
    abandoned = worker.close(args.drain_timeout, release=True)
    if abandoned:
        _log.warning("stopped with %d effect(s) abandoned and their leases released: %s",
                     len(abandoned), ", ".join(abandoned))
        return EXIT_ABANDONED
    _log.info("stopped: every running effect finished; worker %s holds no lease",
              worker.owner)
    return 0


def _report(owner: str, leader: bool, held: tuple[str, ...],
            before: tuple[bool, tuple[str, ...]]) -> tuple[bool, tuple[str, ...]]:
    """Log what the worker holds when it changed: leadership, and the leases of effects."""
    if leader != before[0]:
        _log.info("worker %s %s the timer scan (leader)", owner,
                  "runs" if leader else "no longer runs")
    if held != before[1]:
        _log.info("worker %s holds %d lease(s)%s", owner, len(held),
                  f": {', '.join(held)}" if held else "")
    return leader, held


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            return
        _log.info("%s received", signal.Signals(signum).name)
        stop.set()
    return handler


def _import(name: str) -> ModuleType:
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as python -m does: the project's own modules
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's module, named
        raise CommandError(f"--module {name}: could not be imported ({type(exc).__name__}: "
                           f"{exc})") from None


def _mapping(module: ModuleType, attribute: str) -> Mapping[str, Callable[..., Any]]:
    value = getattr(module, attribute, None) or {}
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and callable(v) for k, v in value.items()):
        raise CommandError(f"--module {module.__name__}: {attribute} must map names to "
                           f"functions, not {type(value).__name__}")
    return value


def _bind(client: Client, modules: list[ModuleType], charts: list[tuple[str, Any]]) -> list[str]:
    """Register the modules' charts and the chart files; the names of the charts served."""
    effects: dict[str, Callable[..., Any]] = {}
    guards: dict[str, Callable[..., Any]] = {}
    functions: dict[str, Callable[..., Any]] = {}
    at_most_once: set[str] = set()
    for module in modules:
        effects.update(_mapping(module, "EFFECTS"))
        guards.update(_mapping(module, "GUARDS"))
        functions.update(_mapping(module, "FUNCTIONS"))
        at_most_once.update(getattr(module, "AT_MOST_ONCE", ()) or ())
        hook = getattr(module, "register", None)
        if callable(hook):
            try:
                hook(client)
            except Exception as exc:  # noqa: BLE001 - the user's code, named
                raise CommandError(f"--module {module.__name__}: register(client) failed "
                                   f"({type(exc).__name__}: {exc})") from None
    for path, chart in charts:
        try:
            client.register(chart, effects=effects, guards=guards, functions=functions,
                            at_most_once=at_most_once)
        except Exception as exc:  # noqa: BLE001 - an unbound name, an invalid chart: named
            raise CommandError(f"--chart {path}: {exc}; define the names in EFFECTS, GUARDS "
                               f"or FUNCTIONS of a --module") from None
    return client.registry.names()


def _shown(url: str, client: Client) -> str:
    """The store for a log line: a PostgreSQL URL's password masked (the store's repr)."""
    return repr(client.store) if url.startswith(("postgresql:", "postgres:")) else url
